import { strict as assert } from 'node:assert';
import { WorkflowRun } from '../../../src/core/run/workflowRun';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow, statuses, stepOf } from '../helpers/workflowRun';

describe('engine: optional steps and gates (TappsCodingAgents files)', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'base.txt': 'base\n' });
  });
  afterEach(() => repo.cleanup());

  it("an optional step's failure does not skip the steps after it: they run without its result, and the run succeeds, partial", async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'lint', run: 'echo lint > lint.txt; exit 1', condition: 'optional' },
        { id: 'build', run: 'ls > seen.txt', needs: ['lint'] },
        { id: 'required', run: 'echo r > r.txt' },
      ],
    });
    assert.deepEqual(statuses(snapshot), { lint: 'failed', build: 'succeeded', required: 'succeeded' });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(snapshot.aggregate!.partial, true);
    assert.doesNotMatch(repo.show(snapshot.aggregate!.commit, 'seen.txt'), /lint\.txt/, "build started from the failed step's work");
  });

  it('a required step that fails still skips the steps after it and fails the run', async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'lint', run: 'exit 1', condition: 'required' },
        { id: 'build', run: 'true', needs: ['lint'] },
      ],
    });
    assert.deepEqual(statuses(snapshot), { lint: 'failed', build: 'skipped' });
    assert.equal(snapshot.status, 'failed');
  });

  it('a gate on a step that fails stops the run: the steps not started are skipped, naming the gate', async () => {
    const yaml = `workflow:
  id: gated
  name: Gated
  settings:
    max_parallel: 1
  steps:
    - id: inventory
      agent: shell
      run: exit 1
    - id: unrelated
      agent: shell
      run: echo u > u.txt
gates:
  - name: inventory_done
    condition: inventory.status == "success"
    message: The inventory must be complete before anything is judged
`;
    const { snapshot } = await runWorkflow(repo, yaml);
    assert.deepEqual(statuses(snapshot), { inventory: 'failed', unrelated: 'skipped' });
    assert.match(
      stepOf(snapshot, 'unrelated').error ?? '',
      /gate "inventory_done" stopped the run after "inventory": The inventory must be complete/,
    );
    assert.equal(snapshot.status, 'failed');
  });

  /** A workflow file with steps `first` and `second` and one gate on `first`. */
  const gated = (firstRun: string, condition: string, others = 1) => `workflow:
  id: gated
  name: Gated
  settings:
    max_parallel: 8
  steps:
    - id: first
      agent: shell
      run: ${firstRun}
${Array.from({ length: others }, (_, i) => `    - id: other-${i}\n      agent: shell\n      run: echo ${i} > other-${i}.txt\n`).join('')}gates:
  - name: the-gate
    condition: ${condition}
    message: stopped on purpose
`;

  it('a gate stops the steps being set up too: none starts after it, and none is left running', async () => {
    const { snapshot, events } = await runWorkflow(repo, gated('exit 1', 'first.status == "success"', 7));
    assert.equal(snapshot.status, 'failed');
    for (const s of snapshot.steps.filter((x) => x.id !== 'first')) {
      assert.ok(['skipped', 'succeeded'].includes(s.status), `${s.id} is ${s.status}`);
      const skippedAt = events.findIndex((e) => e.type === 'step_skipped' && e.step === s.id);
      if (skippedAt >= 0)
        assert.ok(
          !events.slice(skippedAt).some((e) => e.type === 'step_started' && e.step === s.id),
          `${s.id} started after the gate skipped it`,
        );
    }
  });

  it('a gate on failure is met when its step fails (the run goes on), and stops the run when it succeeds, through resume too', async () => {
    const met = await runWorkflow(repo, gated('exit 1', 'first.status == "failed"'), { runId: 'met' });
    assert.deepEqual(statuses(met.snapshot), { first: 'failed', 'other-0': 'succeeded' });
    assert.equal(met.snapshot.status, 'succeeded');

    const stopped = await runWorkflow(repo, gated('echo ok', 'first.status == "failed"').replace('max_parallel: 8', 'max_parallel: 1'), {
      runId: 'stopped',
    });
    assert.deepEqual(statuses(stopped.snapshot), { first: 'succeeded', 'other-0': 'skipped' });
    assert.equal(stopped.snapshot.status, 'failed');
    // Resume keeps the result of `first`, whose gate still stops the run.
    const resumed = await WorkflowRun.resume({ repoDir: repo.dir, runId: 'stopped' });
    const again = await resumed.execute();
    await resumed.settled();
    resumed.store.dispose();
    assert.deepEqual(statuses(again), { first: 'succeeded', 'other-0': 'skipped' });
    assert.equal(again.status, 'failed');
  });
});
