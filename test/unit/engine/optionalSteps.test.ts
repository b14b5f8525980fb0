import { strict as assert } from 'node:assert';
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
});
