// The editor's isolation setting reaches the engine: with `tappsFlow.isolation: sandbox`, a step's
// writes outside its worktree fail in the step, and the repository is as it was.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import { runWorkflow, tappsFlowApi, waitForRunEnd } from './helpers/tappsFlow';
import { blobText, git, workflowUri, workspaceRoot } from './helpers/workspace';

describe('isolation from the editor setting', () => {
  let api: TappsFlowApi;
  before(async () => {
    api = await tappsFlowApi();
  });
  afterEach(async () => {
    await vscode.workspace.getConfiguration('tappsFlow').update('isolation', undefined, vscode.ConfigurationTarget.Global);
  });

  it('tappsFlow.isolation = sandbox: config, branch and checkout writes are refused in the step, a commit inside works', async function () {
    // The sandbox is bubblewrap on Linux and sandbox-exec on macOS; Windows has none to run a step in.
    if (process.platform === 'win32') this.skip();
    this.timeout(90_000);
    await vscode.workspace.getConfiguration('tappsFlow').update('isolation', 'sandbox', vscode.ConfigurationTarget.Global);
    const configBefore = await git('config', '--local', '--list');
    const branchesBefore = await git('branch', '--list');
    const runId = await runWorkflow(workflowUri('boxed.yaml'));
    const final = await waitForRunEnd(api, runId);
    assert.equal(final.status, 'succeeded', JSON.stringify(final));
    const result = api.model.get(runId)?.snapshot.steps.find((s) => s.id === 'boxed')?.result;
    assert.ok(result, 'the step has a result');
    assert.equal(
      await blobText(result, 'outcome.txt'),
      ['config: refused', 'branch: refused', 'checkout: refused', 'commit: allowed', ''].join('\n'),
    );
    assert.equal(await git('config', '--local', '--list'), configBefore);
    assert.equal(await git('branch', '--list'), branchesBefore);
    assert.equal(existsSync(path.join(workspaceRoot(), 'boxed-escape.txt')), false);
  });
});
