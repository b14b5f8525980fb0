// Restricted mode: in a workspace the user has not trusted, Tapps Flow runs nothing (a workflow
// runs commands) but still shows the runs made before. The harness opens this suite's workspace
// on a server started without --disable-workspace-trust, after running a workflow in it with the CLI.
import * as assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../../src/host/activate';
import { waitFor } from '../helpers/poll';
import { describeRun, tappsFlowApi, viewRun } from '../helpers/tappsFlow';
import { workflowUri, workspaceRoot } from '../helpers/workspace';

const runFolders = () => readdirSync(path.join(workspaceRoot(), '.tapps-agents', 'workflow-state')).sort();

describe('an untrusted workspace', () => {
  let api: TappsFlowApi;
  const cliRun = process.env.TAPPS_TEST_CLI_RUN ?? '';

  before(async () => {
    assert.ok(cliRun, 'TAPPS_TEST_CLI_RUN is not set: the harness runs a workflow with the CLI first');
    api = await tappsFlowApi();
  });

  it('is not trusted', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('refuses to run a workflow: the command returns nothing and no run folder appears', async () => {
    const before = runFolders();
    const listed = api.model.list().length;
    assert.equal(await vscode.commands.executeCommand('tappsFlow.runWorkflow', workflowUri('review.yaml')), undefined);
    assert.equal(await vscode.commands.executeCommand('tappsFlow.runWorkflowSequentially', workflowUri('review.yaml')), undefined);
    assert.deepEqual(runFolders(), before);
    assert.equal(api.model.list().length, listed);
    assert.equal(api.model.active.length, 0);
  });

  it('still lists the run the CLI made before, with its steps', async () => {
    const view = await waitFor(`run ${cliRun} in the Runs tree`, () => viewRun(api, cliRun), {
      describe: () =>
        api.model
          .list()
          .map((e) => e.snapshot.runId)
          .join(', '),
    });
    assert.equal(view.label, 'Review three services');
    assert.equal(view.status, 'succeeded', describeRun(view));
    assert.match(view.description, /^succeeded · /);
    assert.deepEqual(
      view.steps.map((s) => `${s.stepId}=${s.status}`),
      ['auth-review=succeeded', 'api-review=succeeded', 'payment-review=succeeded', 'summary=succeeded'],
    );
    assert.deepEqual(runFolders(), [cliRun]);
  });
});
