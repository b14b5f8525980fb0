// Run state that git tracks came with the repository (a clone), not from a run on this machine: the
// Runs tree shows it read-only, with no action on it, and every command refuses it.
import * as assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import type { RunsNode } from '../../src/host/runsTree';
import { waitFor } from './helpers/poll';
import { inlineCommandsFor, tappsFlowApi, viewRun } from './helpers/tappsFlow';
import { git, workingTreeSnapshot, workspaceRoot } from './helpers/workspace';

describe('run state tracked by git', () => {
  let api: TappsFlowApi;
  const runId = 'came-with-the-clone';
  const folder = () => path.join(workspaceRoot(), '.tapps-agents', 'workflow-state', runId);

  before(async () => {
    api = await tappsFlowApi();
    const head = (await git('rev-parse', 'HEAD')).trim();
    const tree = (await git('rev-parse', 'HEAD^{tree}')).trim();
    const time = '2026-01-01T00:00:00.000Z';
    const events = [
      {
        seq: 0,
        time,
        type: 'run_started',
        runId,
        repo: workspaceRoot(),
        workflow: { file: 'workflows/review.yaml', id: 'w', name: 'Planted run' },
        base: { commit: head, tree, head, time: 1 },
        settings: { maxParallel: 8, sequential: false },
        steps: [{ id: 's', dependencies: [] }],
        owner: { pid: 1, host: hostname(), startedAt: time },
      },
      { seq: 1, time, type: 'step_started', step: 's', worktree: '', pid: process.pid, base: head },
      { seq: 2, time, type: 'step_succeeded', step: 's', result: head, tree, changed: [], undeclared: [] },
      { seq: 3, time, type: 'aggregate_made', commit: head, tree, partial: false, conflicts: 0 },
      { seq: 4, time, type: 'run_finished', status: 'succeeded' },
    ];
    mkdirSync(folder(), { recursive: true });
    writeFileSync(path.join(folder(), 'events.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    // Staged is tracked: git lists it, as it would a committed one.
    await git('add', '-f', '--', folder());
    await vscode.commands.executeCommand('tappsFlow.refresh');
  });

  after(async () => {
    await git('rm', '-r', '-q', '--cached', '--', folder());
    rmSync(folder(), { recursive: true, force: true });
    await vscode.commands.executeCommand('tappsFlow.refresh');
  });

  it('is shown read-only: no action matches it, its steps or its conflicts', async () => {
    const view = await waitFor(`run ${runId} in the Runs tree`, () => viewRun(api, runId));
    assert.equal(view.contextValue, 'run.readonly.succeeded.result');
    assert.equal(view.status, 'succeeded');
    assert.deepEqual(
      view.steps.map((s) => s.contextValue),
      ['step.readonly.succeeded'],
    );
    assert.deepEqual(inlineCommandsFor(view.contextValue), [], 'no action button on it');
    assert.match(String((view.item.tooltip as vscode.MarkdownString).value), /Read-only: its state is tracked by git/);
  });

  it('refuses apply, branch and resume, changing nothing', async () => {
    const before = workingTreeSnapshot();
    const branches = await git('for-each-ref', 'refs/heads');
    const node: RunsNode = { kind: 'run', runId };
    for (const command of ['tappsFlow.applyResult', 'tappsFlow.createBranch', 'tappsFlow.resumeRun', 'tappsFlow.cancelRun']) {
      assert.equal(await vscode.commands.executeCommand(command, node), undefined, command);
    }
    assert.deepEqual(workingTreeSnapshot(), before);
    assert.equal(await git('for-each-ref', 'refs/heads'), branches);
    assert.ok(process.pid > 0, 'the extension host named by the planted pid is alive (this test runs in it)');
  });
});
