// Load-aware start against the real machine: limits no machine meets hold every step but one back,
// limits every machine meets hold none.
import { strict as assert } from 'node:assert';
import { loadWait } from '../../../src/core/run/loadGate';
import type { RunEvent } from '../../../src/core/state/events';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { startWorkflow, statuses, stepOf, runWorkflow } from '../helpers/workflowRun';
import { waitFor } from '../helpers/wait';

/** The largest number of steps between their start and their end at one point of the event log. */
function overlapInEvents(events: readonly RunEvent[]): number {
  const going = new Set<string>();
  let max = 0;
  for (const e of events) {
    if (e.type === 'step_started') going.add(e.step);
    if (e.type === 'step_succeeded' || e.type === 'step_failed' || e.type === 'step_timed_out' || e.type === 'step_cancelled')
      going.delete(e.step);
    max = Math.max(max, going.size);
  }
  return max;
}

const steps = ['a', 'b', 'c'].map((id) => ({ id, run: `sleep 0.4; echo ${id} > ${id}.txt` }));

describe('engine: load-aware start', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo();
  });
  afterEach(() => repo.cleanup());

  it('says why a step waits: memory first, then CPU; no limit at 0', () => {
    assert.equal(loadWait({ minFreeMemoryMb: 1024, maxLoadPerCpu: 2 }, { availableMb: 512, loadPerCpu: 3 }), 'memory');
    assert.equal(loadWait({ minFreeMemoryMb: 1024, maxLoadPerCpu: 2 }, { availableMb: 2048, loadPerCpu: 3 }), 'cpu');
    assert.equal(loadWait({ minFreeMemoryMb: 1024, maxLoadPerCpu: 2 }, { availableMb: 2048, loadPerCpu: 1 }), undefined);
    assert.equal(loadWait({ minFreeMemoryMb: 0, maxLoadPerCpu: 0 }, { availableMb: 0, loadPerCpu: 99 }), undefined);
  });

  it('on a machine short of memory, runs one step at a time and never stalls; the others say they wait for memory', async () => {
    const { snapshot, events } = await runWorkflow(repo, {
      settings: { max_parallel: 3, min_free_memory_mb: 1_048_576, max_load_per_cpu: 0 },
      steps,
    });
    assert.deepEqual(statuses(snapshot), { a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    assert.equal(overlapInEvents(events), 1);
    const waited = events.flatMap((e) => (e.type === 'step_waiting' ? [[e.step, e.reason]] : []));
    assert.equal(waited.length, 2, JSON.stringify(waited));
    for (const [, reason] of waited) assert.equal(reason, 'memory');
    for (const id of ['a', 'b', 'c']) assert.equal(stepOf(snapshot, id).waiting ?? null, null);
  });

  it('holds nothing back when the limits are off', async () => {
    const { snapshot, events } = await runWorkflow(repo, {
      settings: { max_parallel: 3, min_free_memory_mb: 0, max_load_per_cpu: 0 },
      steps,
    });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(events.filter((e) => e.type === 'step_waiting').length, 0);
    assert.equal(overlapInEvents(events), 3);
  });

  it('a step cancelled while it waits ends cancelled, and the run goes on', async () => {
    const started = await startWorkflow(repo, {
      settings: { max_parallel: 2, min_free_memory_mb: 1_048_576, max_load_per_cpu: 0 },
      steps: [
        { id: 'first', run: 'sleep 1.5; echo 1 > first.txt' },
        { id: 'second', run: 'echo 2 > second.txt' },
      ],
    });
    const waiting = await waitFor('a step waiting for memory', () =>
      started.run.snapshot.steps.find((s) => s.status === 'queued' && s.waiting === 'memory'),
    );
    started.run.cancelStep(waiting.id);
    const snapshot = await started.finished;
    assert.equal(stepOf(snapshot, waiting.id).status, 'cancelled');
    assert.equal(snapshot.steps.filter((s) => s.status === 'succeeded').length, 1);
  });
});
