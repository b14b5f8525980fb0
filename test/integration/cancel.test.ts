// Cancelling through the commands the tree's inline buttons invoke: the whole run, or one step.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import type { RunsNode } from '../../src/host/runsTree';
import { waitFor } from './helpers/poll';
import {
  cancelActiveRuns,
  describeRun,
  inlineCommandsFor,
  assertFinishedRunMenu,
  runWorkflow,
  tappsFlowApi,
  viewRun,
  waitForRunEnd,
  waitForRunningSteps,
} from './helpers/tappsFlow';
import { currentOs, treeAlive } from '../../src/core/process/platform';
import { commandLines, descendantsOf, processAlive, workflowUri } from './helpers/workspace';

/**
 * The pid of the `sleep` a slow step started in the background, once its log says it started. The
 * step may run in its own PID namespace (bubblewrap), and on Windows `$!` is an MSYS pid: the `$!`
 * it prints is not a pid of ours. The child is found instead in the OS's process table, among the
 * descendants of the step's process, by its command line (`sleep 120`; Windows: `…\sleep.exe 120`).
 */
async function childPid(api: TappsFlowApi, runId: string, stepId: string, leader: number): Promise<number> {
  const entry = api.model.get(runId)!;
  const step = entry.snapshot.steps.find((s) => s.id === stepId)!;
  const log = path.join(entry.dir, step.log);
  return waitFor(`the child of ${stepId} (its log: ${log})`, () => {
    if (!/^child \d+$/m.test(readFileSync(log, 'utf8'))) return undefined;
    const lines = commandLines(descendantsOf(leader).map((e) => e.pid));
    const sleeps = [...lines].filter(([, line]) => /(?:^|[\\/"\s])sleep(?:\.exe)?"?\s+120$/.test(line)).map(([pid]) => pid);
    assert.ok(sleeps.length <= 1, `${stepId}: more than one sleep 120 under its process ${leader}: ${sleeps.join(', ')}`);
    return sleeps[0];
  });
}

/** The process, its tree (POSIX: its process group; Windows: the process itself) and its background child are all gone. */
function assertTreeGone(stepId: string, pid: number, child: number): void {
  assert.throws(() => process.kill(pid, 0), /ESRCH/, `${stepId}: process ${pid} is still there`);
  assert.equal(treeAlive(currentOs(), pid), false, `${stepId}: the tree of process ${pid} (POSIX: its process group) still has members`);
  assert.equal(processAlive(child), false, `${stepId}: its child process ${child} is still there`);
}

describe('cancelling', () => {
  let api: TappsFlowApi;
  before(async () => {
    api = await tappsFlowApi();
  });
  after(() => cancelActiveRuns(api));

  it('cancels a run with tappsFlow.cancelRun on the run node: its step processes are gone and the states are cancelled', async () => {
    const runId = await runWorkflow(workflowUri('slow.yaml'));
    const pids = await waitForRunningSteps(api, runId, ['slow-a', 'slow-b']);
    const children = new Map([
      ['slow-a', await childPid(api, runId, 'slow-a', pids.get('slow-a')!)],
      ['slow-b', await childPid(api, runId, 'slow-b', pids.get('slow-b')!)],
    ]);
    for (const [id, pid] of pids) {
      assert.ok(processAlive(pid) && processAlive(children.get(id)!), `${id} is not running before the cancel`);
    }
    // The buttons on the items are the commands this test runs.
    const running = viewRun(api, runId)!;
    assert.ok(inlineCommandsFor(running.contextValue).includes('tappsFlow.cancelRun'), `no Cancel Run button on "${running.contextValue}"`);
    for (const s of running.steps.filter((x) => x.stepId.startsWith('slow-'))) {
      assert.ok(inlineCommandsFor(s.contextValue).includes('tappsFlow.cancelStep'), `no Cancel Step button on "${s.contextValue}"`);
    }

    const node: RunsNode = { kind: 'run', runId };
    await vscode.commands.executeCommand('tappsFlow.cancelRun', node);
    const final = await waitForRunEnd(api, runId);
    assert.equal(final.status, 'cancelled', describeRun(final));
    assert.match(final.description, /^cancelled(, partial)? · /);
    assert.ok(!inlineCommandsFor(final.contextValue).includes('tappsFlow.cancelRun'), 'Cancel Run still shows on a cancelled run');
    for (const id of ['slow-a', 'slow-b', 'after-a']) {
      const step = final.steps.find((s) => s.stepId === id)!;
      assert.equal(step.status, 'cancelled', `${id}: ${describeRun(final)}`);
      assert.equal(step.icon, 'circle-slash');
      assert.match(step.description, /^cancelled/);
    }
    for (const [id, pid] of pids) assertTreeGone(id, pid, children.get(id)!);
    assert.ok(
      api.model.get(runId)!.snapshot.steps.every((s) => s.pid === null),
      'a cancelled step still has a pid in the snapshot',
    );
  });

  it('cancels one step with tappsFlow.cancelStep on its step node: only that step stops', async () => {
    const runId = await runWorkflow(workflowUri('slow.yaml'));
    const pids = await waitForRunningSteps(api, runId, ['slow-a', 'slow-b']);
    const childA = await childPid(api, runId, 'slow-a', pids.get('slow-a')!);
    const childB = await childPid(api, runId, 'slow-b', pids.get('slow-b')!);

    const node: RunsNode = { kind: 'step', runId, stepId: 'slow-a' };
    await vscode.commands.executeCommand('tappsFlow.cancelStep', node);
    const view = await waitFor(
      'slow-a to show as cancelled',
      () => {
        const v = viewRun(api, runId);
        return v?.steps.find((s) => s.stepId === 'slow-a')?.status === 'cancelled' &&
          v.steps.find((s) => s.stepId === 'after-a')?.status === 'skipped'
          ? v
          : undefined;
      },
      { describe: () => describeRun(viewRun(api, runId)) },
    );
    assertTreeGone('slow-a', pids.get('slow-a')!, childA);
    // The other slow step goes on; the step that needed slow-a is skipped, with the reason.
    assert.equal(view.status, 'running');
    assert.equal(view.steps.find((s) => s.stepId === 'slow-b')!.status, 'running');
    assert.ok(processAlive(pids.get('slow-b')!) && processAlive(childB), 'slow-b was stopped with slow-a');
    const afterA = api.model.get(runId)!.snapshot.steps.find((s) => s.id === 'after-a')!;
    assert.match(afterA.error ?? '', /slow-a/);

    // Cancelling the other slow step too (from the palette, by run id and step) is still not
    // cancelling the run: it ends as its steps decide, its result partial, and can be resumed.
    await vscode.commands.executeCommand('tappsFlow.cancelStep', { kind: 'step', runId, stepId: 'slow-b' });
    const final = await waitForRunEnd(api, runId);
    assert.equal(final.status, 'succeeded', describeRun(final));
    assert.match(final.description, /^succeeded, partial · /);
    assert.equal(final.steps.find((s) => s.stepId === 'slow-b')!.status, 'cancelled');
    assert.equal(final.steps.find((s) => s.stepId === 'quick')!.status, 'succeeded');
    assert.equal(api.model.get(runId)!.snapshot.aggregate?.partial, true);
    assertTreeGone('slow-b', pids.get('slow-b')!, childB);
    assert.ok(inlineCommandsFor(final.contextValue).includes('tappsFlow.resumeRun'), `no Resume button on "${final.contextValue}"`);
    assertFinishedRunMenu(final.contextValue);
  });
});
