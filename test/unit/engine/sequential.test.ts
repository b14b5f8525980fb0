import { strict as assert } from 'node:assert';
import type { RunEvent } from '../../../src/core/state/events';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow, type WorkflowSpec } from '../helpers/workflowRun';

/**
 * Definition order c, a, b, d, e; c needs b's output and e needs a's, so the stable topological
 * order is a, b, c, d, e. The sleeps make parallel completion order differ from it.
 */
const WORKFLOW: WorkflowSpec = {
  steps: [
    { id: 'c', run: 'cat b.txt > c.txt && echo c >> c.txt', requires: ['b.txt'], creates: ['c.txt'] },
    { id: 'a', run: 'sleep 0.4 && echo a > a.txt && echo a >> shared.txt', creates: ['a.txt'] },
    { id: 'b', run: 'echo b > b.txt && echo b >> shared.txt', creates: ['b.txt'] },
    { id: 'd', run: 'sleep 0.2 && echo d > d.txt', creates: ['d.txt'] },
    { id: 'e', run: 'cat a.txt > e.txt', needs: ['a'], creates: ['e.txt'] },
  ],
};

function startOrder(events: readonly RunEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'step_started' ? [e.step] : []));
}

describe('engine: sequential mode', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  before(async () => {
    repo = await makeTempRepo({ 'shared.txt': 'base\n' });
  });
  after(async () => {
    await repo.cleanup();
  });

  it('gives the same step results and aggregate as a parallel run, and runs in the stable topological order', async () => {
    const parallel = await runWorkflow(repo, WORKFLOW, { runId: 'parallel', maxParallel: 8 });
    const sequential = await runWorkflow(repo, WORKFLOW, { runId: 'sequential', sequential: true });
    for (const run of [parallel, sequential])
      assert.ok(['succeeded', 'conflicted'].includes(run.snapshot.status), `${run.snapshot.runId}: ${run.snapshot.status}`);
    assert.equal(sequential.snapshot.settings.sequential, true);
    assert.equal(sequential.snapshot.settings.maxParallel, 1);

    const results = (r: typeof parallel) => Object.fromEntries(r.snapshot.steps.map((s) => [s.id, [s.base, s.result, s.tree]]));
    assert.deepEqual(results(sequential), results(parallel));
    assert.ok(Object.values(results(parallel)).every(([, result]) => typeof result === 'string' && result.length === 40));
    assert.deepEqual(sequential.snapshot.aggregate, parallel.snapshot.aggregate);
    assert.deepEqual(sequential.snapshot.conflicts, parallel.snapshot.conflicts);

    assert.deepEqual(startOrder(sequential.events), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(sequential.run.loaded.graph.topological, ['a', 'b', 'c', 'd', 'e']);
    // One at a time: every step ends before the next one starts.
    const lifecycle = sequential.events.flatMap((e) =>
      e.type === 'step_started' ? [`start ${e.step}`] : e.type === 'step_succeeded' ? [`end ${e.step}`] : [],
    );
    assert.deepEqual(lifecycle, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d', 'start e', 'end e']);
    // The parallel run really ran in another order, so the equality above is not a coincidence.
    const finished = parallel.events.flatMap((e) => (e.type === 'step_succeeded' ? [e.step] : []));
    assert.notDeepEqual(finished, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(repo.show(parallel.snapshot.aggregate!.commit, 'c.txt'), 'b\nc\n');
  });
});
