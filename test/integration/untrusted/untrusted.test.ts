// Restricted mode: in a workspace the user has not trusted, Tapps Flow runs nothing (a workflow
// runs commands) but still shows the runs made before. The harness opens this suite's workspace
// on a server started without --disable-workspace-trust, after running a workflow in it with the CLI.
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../../src/host/activate';
import { waitFor } from '../helpers/poll';
import { describeRun, tappsFlowApi, viewRun } from '../helpers/tappsFlow';
import { git, workflowUri, workspaceRoot } from '../helpers/workspace';

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

  it('refuses every command that would run git or write a file, changing nothing', async () => {
    const entry = api.model.get(cliRun);
    assert.ok(entry, 'the CLI run is listed');
    assert.ok(entry.readOnly, 'and read-only');
    const exclude = readFileSync(path.join(workspaceRoot(), '.git', 'info', 'exclude'), 'utf8');
    const branches = await git('for-each-ref', 'refs/heads');
    const node = { kind: 'run', runId: cliRun };
    for (const command of [
      'tappsFlow.applyResult',
      'tappsFlow.createBranch',
      'tappsFlow.cleanUpRuns',
      'tappsFlow.resumeRun',
      'tappsFlow.cancelRun',
    ]) {
      assert.equal(await vscode.commands.executeCommand(command, node), undefined, command);
    }
    assert.deepEqual(runFolders(), [cliRun]);
    assert.equal(readFileSync(path.join(workspaceRoot(), '.git', 'info', 'exclude'), 'utf8'), exclude);
    assert.equal(await git('for-each-ref', 'refs/heads'), branches);
  });

  it('ran no git at all: not on activation, not to list runs, not for a refused command', () => {
    const log = process.env.TAPPS_TEST_GIT_LOG;
    assert.ok(log, 'TAPPS_TEST_GIT_LOG is not set: the harness routes git through a logging wrapper');
    assert.equal(readFileSync(log, 'utf8'), '', 'git was started by the extension');
  });
});
