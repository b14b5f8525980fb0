import { strict as assert } from 'node:assert';
import { hasPath, makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { aggregateOf, readStateFile, runWorkflow, statuses, stepOf } from '../helpers/workflowRun';

describe('aggregate: a run with a failed step', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'README.md': '# repo\n' });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it("keeps a partial aggregate of the other steps and the failed step's error", async () => {
    const { run, snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'good-1', run: 'echo one > one.txt', creates: ['one.txt'] },
        { id: 'broken', run: 'echo half > half.txt; echo "something went wrong" >&2; exit 3', creates: ['half.txt'] },
        { id: 'after-broken', run: 'echo never > never.txt', needs: ['broken'] },
        { id: 'good-2', run: 'echo two > two.txt', creates: ['two.txt'] },
      ],
    });
    assert.equal(snapshot.status, 'failed');
    assert.deepEqual(statuses(snapshot), { 'good-1': 'succeeded', broken: 'failed', 'after-broken': 'skipped', 'good-2': 'succeeded' });
    const broken = stepOf(snapshot, 'broken');
    assert.equal(broken.error, "the agent exited with code 3; see the step's log");
    assert.equal(broken.exitCode, 3);
    assert.ok(broken.lastLines.includes('something went wrong'), JSON.stringify(broken.lastLines));
    assert.equal(broken.result, null);

    assert.equal(snapshot.aggregate?.partial, true);
    const aggregate = aggregateOf(snapshot);
    assert.equal(repo.show(aggregate, 'one.txt'), 'one\n');
    assert.equal(repo.show(aggregate, 'two.txt'), 'two\n');
    assert.ok(!hasPath(repo, aggregate, 'half.txt'), 'nothing of the failed step is folded in');
    assert.ok(!hasPath(repo, aggregate, 'never.txt'));
    assert.equal(repo.git(['rev-parse', `refs/tapps-flow/runs/${snapshot.runId}/aggregate`]), aggregate);

    const manifest = JSON.parse(await readStateFile(run, 'manifest.json')) as {
      aggregate: { partial: boolean };
      steps: Array<{ id: string; status: string; result: string | null }>;
    };
    assert.equal(manifest.aggregate.partial, true);
    assert.deepEqual(
      manifest.steps.map((s) => [s.id, s.status, s.result === null]),
      [
        ['good-1', 'succeeded', false],
        ['broken', 'failed', true],
        ['after-broken', 'skipped', true],
        ['good-2', 'succeeded', false],
      ],
    );
    assert.match(await readStateFile(run, 'conflicts.md'), /This is a partial aggregate: not every step succeeded\./);
    const state = JSON.parse(await readStateFile(run, 'state.json')) as {
      status: string;
      steps: Array<{ id: string; error: string | null }>;
    };
    assert.equal(state.status, 'failed');
    assert.equal(state.steps.find((s) => s.id === 'broken')?.error, broken.error);
  });

  it('keeps the error of a step whose agent cannot start', async () => {
    const { snapshot } = await runWorkflow(
      repo,
      {
        steps: [
          { id: 'ghost', agent: 'ghost', creates: [] },
          { id: 'fine', run: 'echo ok > ok.txt' },
        ],
      },
      { defaults: { agents: { ghost: ['tapps-flow-no-such-program-xyz', '{prompt}'] } } },
    );
    assert.equal(snapshot.status, 'failed');
    assert.match(stepOf(snapshot, 'ghost').error ?? '', /^could not start the agent: command not found: "tapps-flow-no-such-program-xyz"/);
    assert.equal(repo.show(aggregateOf(snapshot), 'ok.txt'), 'ok\n');
    assert.equal(snapshot.aggregate?.partial, true);
  });
});
