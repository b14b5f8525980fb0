// The run's own actions: Run Again, and the worktree a failed step kept, shown and removed.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import { assertFinishedRunMenu, describeRun, menuCommandsFor, runWorkflow, tappsFlowApi, waitForRunEnd } from './helpers/tappsFlow';
import { git, workflowUri } from './helpers/workspace';

describe('run actions', () => {
  let api: TappsFlowApi;
  before(async () => {
    api = await tappsFlowApi();
  });

  it('shows the worktree a failed step kept, removes it (its work saved first), and runs the same workflow again', async () => {
    const runId = await runWorkflow(workflowUri('half-done.yaml'));
    const final = await waitForRunEnd(api, runId);
    assert.equal(final.status, 'failed', describeRun(final));
    const failed = final.steps.find((s) => s.stepId === 'writes-then-fails')!;
    assert.match(failed.description, /worktree kept/);
    assert.match(failed.contextValue, /\.kept$/);
    assert.ok(
      menuCommandsFor(failed.contextValue).includes('tappsFlow.removeWorktree'),
      `no Remove Kept Worktree on "${failed.contextValue}"`,
    );
    assertFinishedRunMenu(final.contextValue);

    const worktree = api.model.get(runId)!.snapshot.steps.find((s) => s.id === 'writes-then-fails')!.worktree!;
    assert.ok(existsSync(worktree));
    const removed = await vscode.commands.executeCommand<{ archived: Array<{ ref: string }> }>('tappsFlow.removeWorktree', {
      kind: 'step',
      runId,
      stepId: 'writes-then-fails',
    });
    assert.ok(!existsSync(worktree), 'the kept worktree is gone');
    assert.equal(await git('show', `${removed.archived[0].ref}:half.txt`), 'half\n', 'its uncaptured work was saved first');
    const after = api.tree.getTreeItem({ kind: 'step', runId, stepId: 'writes-then-fails' });
    assert.doesNotMatch(String(after.description), /worktree kept/);

    const again = await vscode.commands.executeCommand<string>('tappsFlow.runAgain', { kind: 'run', runId });
    assert.ok(again && again !== runId, 'Run Again started a new run');
    const second = await waitForRunEnd(api, again);
    assert.equal(api.model.get(again)!.snapshot.workflow.file, api.model.get(runId)!.snapshot.workflow.file);
    assert.equal(second.status, 'failed');
    assert.deepEqual(
      second.steps.map((s) => s.stepId),
      ['writes-then-fails', 'fine'],
    );
  });
});
