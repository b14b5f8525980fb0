// The warm pool against real git: worktrees of finished steps parked, cleaned, and taken by the
// next run's steps; a worktree a step tampered with is never pooled.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openRepository } from '../../../src/core/git/repository';
import { defaultWorktreeRoot } from '../../../src/core/git/worktrees';
import { poolDir, WorktreePool } from '../../../src/core/git/worktreePool';
import { newStepTag } from '../../../src/core/process/stepProcesses';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { readStateFile, resultOf, runWorkflow, stepOf } from '../helpers/workflowRun';

async function pooled(repo: TempRepo): Promise<string[]> {
  const dir = poolDir(defaultWorktreeRoot(await openRepository(repo.dir)));
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
}

function worktreeCount(repo: TempRepo): number {
  return repo
    .git(['worktree', 'list', '--porcelain'])
    .split('\n')
    .filter((l) => l.startsWith('worktree ')).length;
}

describe('engine: the warm pool of worktrees', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ '.gitignore': 'build/\n', 'a.txt': 'one\n', 'b.txt': 'two\n' });
  });
  afterEach(() => repo.cleanup());

  it("parks finished steps' worktrees, and the next run's steps take them at their own base, with nothing of the last step left", async () => {
    const first = await runWorkflow(repo, {
      settings: { pool_size: 2 },
      steps: [
        { id: 'p', run: 'echo p > p.txt; mkdir -p build; echo junk > build/out; echo loose > untracked.txt; echo changed > a.txt' },
        { id: 'q', run: 'echo q > q.txt' },
      ],
    });
    assert.equal(first.snapshot.status, 'succeeded');
    assert.equal((await pooled(repo)).length, 2);
    assert.equal(worktreeCount(repo), 3, 'the main checkout and two pooled worktrees');

    await repo.write('b.txt', 'two, edited\n');
    repo.commit('edit b');
    const probe = 'test ! -e build && test ! -e untracked.txt && test ! -e p.txt && grep -qx one a.txt && grep -qx "two, edited" b.txt';
    const second = await runWorkflow(repo, {
      settings: { pool_size: 2 },
      steps: [
        { id: 'x', run: `${probe} && echo x > x.txt` },
        { id: 'y', run: `${probe} && echo y > y.txt` },
      ],
    });
    assert.equal(second.snapshot.status, 'succeeded', JSON.stringify(second.snapshot.steps.map((s) => [s.id, s.error])));
    assert.deepEqual(stepOf(second.snapshot, 'x').changed, ['x.txt']);
    assert.equal(repo.show(resultOf(second.snapshot, 'y'), 'b.txt'), 'two, edited\n');
    // Taken from the pool: no worktree was added for them (git's log of worktree adds in the step logs is not used; the entries are the same).
    const entries = (await readdir(path.join(repo.dir, '.git', 'worktrees'))).sort();
    assert.equal(entries.length, 2, `the same two entries serve both runs: ${entries.join(', ')}`);
    assert.ok(
      entries.every((e) => e.startsWith('p--') || e.startsWith('q--')),
      entries.join(', '),
    );
    assert.match(await readStateFile(second.run, stepOf(second.snapshot, 'x').log), /step x: succeeded/);
    assert.equal((await pooled(repo)).length, 2);
  });

  it('is sized to max_parallel by default, and pool_size 0 turns it off', async () => {
    await runWorkflow(repo, { settings: { max_parallel: 2 }, steps: ['a', 'b', 'c'].map((id) => ({ id, run: `echo ${id} > ${id}.txt` })) });
    assert.equal((await pooled(repo)).length, 2);
    await runWorkflow(repo, { settings: { pool_size: 0 }, steps: [{ id: 'd', run: 'echo d > d.txt' }] });
    assert.equal((await pooled(repo)).length, 2, 'a run without a pool neither takes nor parks');
  });

  it('never pools a worktree whose HEAD a step put on a branch, whose git entry it added to, or whose index it replaced', async () => {
    const { snapshot } = await runWorkflow(repo, {
      settings: { pool_size: 4, isolation: 'detect' },
      steps: [
        { id: 'branch', run: 'git checkout -q -b planted && echo b > b2.txt' },
        {
          id: 'config',
          run: 'printf "[core]\\n\\tfsmonitor = touch /tmp/never\\n" > "$(git rev-parse --git-dir)/config.worktree"; echo c > c.txt',
        },
        { id: 'fifo', run: 'rm "$(git rev-parse --git-dir)/index" && mkfifo "$(git rev-parse --git-dir)/index"; echo f > f.txt' },
        { id: 'fine', run: 'echo ok > ok.txt' },
      ],
    });
    assert.deepEqual(
      snapshot.steps.map((s) => s.status),
      ['succeeded', 'succeeded', 'succeeded', 'succeeded'],
    );
    assert.equal((await pooled(repo)).length, 1, 'only the untouched worktree is pooled');
    assert.equal(worktreeCount(repo), 2);
    // The branch the step made is its own business; the next run's reset never moves it.
    const planted = repo.git(['rev-parse', 'planted']);
    const next = await runWorkflow(repo, { settings: { pool_size: 4 }, steps: [{ id: 'again', run: 'echo again > again.txt' }] });
    assert.equal(next.snapshot.status, 'succeeded');
    assert.equal(repo.git(['rev-parse', 'planted']), planted);
    assert.equal(repo.git(['symbolic-ref', 'HEAD']), 'refs/heads/main');
  });

  it('cleanup trims the pool, and a parked worktree whose record was tampered with is deleted, not used', async () => {
    await runWorkflow(repo, { settings: { pool_size: 1 }, steps: [{ id: 'one', run: 'echo 1 > one.txt' }] });
    const r = await openRepository(repo.dir);
    const pool = new WorktreePool(r, defaultWorktreeRoot(r), 1);
    const [slot] = await pool.list();
    await writeFile(path.join(slot, '.git'), 'gitdir: /elsewhere\n');
    const taken = await pool.take(
      path.join(defaultWorktreeRoot(r), 'probe', 'x'),
      repo.git(['rev-parse', 'HEAD']),
      newStepTag('probe', 'x'),
    );
    assert.equal(taken, undefined);
    assert.equal(existsSync(slot), false);
    assert.equal(worktreeCount(repo), 1);
    await runWorkflow(repo, { settings: { pool_size: 1 }, steps: [{ id: 'two', run: 'echo 2 > two.txt' }] });
    assert.equal((await pool.list()).length, 1);
    assert.equal((await pool.trim()).length, 1);
    assert.equal(worktreeCount(repo) + (await pool.list()).length, 1);
  });
});
