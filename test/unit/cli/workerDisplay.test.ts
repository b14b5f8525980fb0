import { strict as assert } from 'node:assert';
import { withWorkers } from '../../../src/cli/followUpCommands';
import { LiveView } from '../../../src/cli/liveView';
import { stepRows, workersLine } from '../../../src/cli/stepRows';
import { runReport } from '../../../src/core/run/runReport';
import type { RunEvent } from '../../../src/core/state/events';
import { reduce, type RunSnapshot } from '../../../src/core/state/snapshot';

const SHA = 'a'.repeat(40);
const TIME = '2025-01-01T00:00:00.000Z';

/** A run of steps a, b and c, as the events given (without seq and time) make it. */
function snapshotOf(events: ReadonlyArray<Record<string, unknown>>): RunSnapshot {
  const started = {
    type: 'run_started',
    runId: '20250101-000000-abcd',
    workflow: { file: 'w.yaml', id: 'w', name: 'w' },
    repo: '/repo',
    base: { commit: SHA, tree: SHA, head: SHA, time: 0 },
    settings: { maxParallel: 8, sequential: false },
    steps: ['a', 'b', 'c'].map((id) => ({ id, dependencies: [] })),
    owner: { pid: 1, host: 'here', startedAt: TIME },
  };
  let snapshot: RunSnapshot | undefined;
  [started, ...events].forEach((e, seq) => (snapshot = reduce(snapshot, { ...e, seq, time: TIME } as unknown as RunEvent)));
  return snapshot!;
}

const onWorker = (step: string, worker: string) => ({ type: 'step_started', step, worktree: `/w/${step}`, pid: null, base: SHA, worker });

describe('where the steps of a run ran (the queue runner)', () => {
  it('shows the worker of each step in its row, and how often it was queued again', () => {
    const snapshot = snapshotOf([
      onWorker('a', 'w1'),
      { type: 'step_retried', step: 'b', attempt: 2, reason: 'worker w2 stopped answering', worker: 'w2' },
      onWorker('b', 'w1'),
    ]);
    const rows = stepRows(snapshot, '/state', Date.parse(TIME));
    assert.match(rows[0], /^ {2}▶ a +running .* on w1$/);
    assert.match(rows[1], /on w1 {2}retried 1 time/);
    assert.doesNotMatch(rows[2], /on /);
  });

  it('lists the workers in the status of one run, before where its state is', () => {
    const snapshot = snapshotOf([onWorker('a', 'w1'), onWorker('b', 'w1'), onWorker('c', 'w2')]);
    assert.equal(workersLine(snapshot), 'Workers: w1 (steps a, b), w2 (step c)');
    assert.deepEqual(withWorkers(['header', 'State: /state', 'hint'], snapshot), [
      'header',
      'Workers: w1 (steps a, b), w2 (step c)',
      'State: /state',
      'hint',
    ]);
    // A run whose steps ran here says nothing of workers.
    const local = snapshotOf([{ type: 'step_started', step: 'a', worktree: '/w/a', pid: 7, base: SHA }]);
    assert.equal(workersLine(local), '');
    assert.deepEqual(withWorkers(['State: /state'], local), ['State: /state']);
  });

  it("puts each step's worker in the JSON report, null for a step run here", () => {
    const report = runReport(snapshotOf([onWorker('a', 'w1')]), '/state');
    assert.deepEqual(
      report.steps.map((s) => s.worker),
      ['w1', null, null],
    );
  });

  it('says in the event lines which worker started a step, and when a step is queued again', () => {
    const written: string[] = [];
    const out = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    const events = [
      onWorker('a', 'w1'),
      { type: 'step_waiting', step: 'b', reason: 'worker' },
      {
        type: 'step_retried',
        step: 'a',
        attempt: 2,
        reason: 'worker w1 stopped answering while it ran the step; queued again for another worker (attempt 2 of 3)',
        worker: 'w1',
      },
    ];
    const view = new LiveView(out, () => snapshotOf(events), '/state');
    events.forEach((e, i) => view.onEvent({ ...e, seq: i + 1, time: TIME } as unknown as RunEvent));
    assert.deepEqual(written, [
      '▶ a started on w1\n',
      '… b waiting for a worker before it starts\n',
      '↻ a: worker w1 stopped answering while it ran the step; queued again for another worker (attempt 2 of 3)\n',
    ]);
  });
});
