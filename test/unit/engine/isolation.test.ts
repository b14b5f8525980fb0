import { strict as assert } from 'node:assert';
import path from 'node:path';
import { hasPath, makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { resultOf, runWorkflow, sq } from '../helpers/workflowRun';

/** Shell: wait (bounded) until a file exists; exits non-zero when it never appears. */
function waitForFile(file: string): string {
  return `i=0; while [ ! -f ${sq(file)} ]; do i=$((i+1)); [ $i -gt 400 ] && exit 9; sleep 0.05; done`;
}

describe('engine: isolation of steps', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'shared.txt': 'base\n' });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('two steps writing one path each see only their own version, even while both are running', async () => {
    const flag = (name: string) => path.join(repo.outside, name);
    // one writes first and waits for two to finish, so two reads shared.txt while one's write exists in one's worktree.
    const one = `cat shared.txt > seen-by-one.txt; echo one > shared.txt; touch ${sq(flag('one-wrote'))}; ${waitForFile(flag('two-done'))}; cat shared.txt > after-one.txt`;
    const two = `${waitForFile(flag('one-wrote'))}; cat shared.txt > seen-by-two.txt; echo two > shared.txt; cat shared.txt > after-two.txt; touch ${sq(flag('two-done'))}`;
    const { snapshot } = await runWorkflow(repo, {
      settings: { max_parallel: 2 },
      steps: [
        { id: 'one', run: one },
        { id: 'two', run: two },
      ],
    });
    const [r1, r2] = [resultOf(snapshot, 'one'), resultOf(snapshot, 'two')];
    assert.equal(repo.show(r1, 'seen-by-one.txt'), 'base\n');
    assert.equal(repo.show(r2, 'seen-by-two.txt'), 'base\n', "step two saw step one's unfinished work");
    assert.equal(repo.show(r1, 'after-one.txt'), 'one\n', "step one saw step two's write");
    assert.equal(repo.show(r1, 'shared.txt'), 'one\n');
    assert.equal(repo.show(r2, 'shared.txt'), 'two\n');
    assert.ok(
      !hasPath(repo, r1, 'seen-by-two.txt') && !hasPath(repo, r2, 'seen-by-one.txt'),
      "each result holds only its own step's files",
    );
  });

  it('a dependent step sees the results of its dependencies and nothing else', async () => {
    const independentDone = path.join(repo.outside, 'independent-done');
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'producer', run: 'echo produced > produced.txt', creates: ['produced.txt'] },
        { id: 'helper', run: 'mkdir -p notes && echo helped > notes/help.txt', creates: ['notes/'] },
        { id: 'independent', run: `echo mine > independent.txt; touch ${sq(independentDone)}`, creates: ['independent.txt'] },
        {
          id: 'consumer',
          // It waits for the independent step to have written its file, so that only isolation keeps it out.
          run: `${waitForFile(independentDone)}; cat produced.txt notes/help.txt > consumed.txt; ls -a > listing.txt`,
          requires: ['produced.txt', 'notes/'],
          creates: ['consumed.txt'],
        },
      ],
    });
    assert.equal(snapshot.status, 'succeeded', JSON.stringify(snapshot.steps.map((s) => [s.id, s.status, s.error])));
    const consumer = resultOf(snapshot, 'consumer');
    assert.equal(repo.show(consumer, 'consumed.txt'), 'produced\nhelped\n');
    const listing = repo
      .show(consumer, 'listing.txt')
      .split('\n')
      .filter((f) => f !== '' && f !== '.' && f !== '..' && f !== '.git');
    assert.deepEqual(listing.sort(), ['consumed.txt', 'listing.txt', 'notes', 'produced.txt', 'shared.txt']);
    assert.ok(!hasPath(repo, consumer, 'independent.txt'));
  });
});
