import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { openRepository } from '../../../src/core/git/repository';
import { Worktrees } from '../../../src/core/git/worktrees';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow } from '../helpers/workflowRun';

/** The entries of `.git/worktrees` (git's administrative folder of each linked worktree). */
async function adminEntries(repo: TempRepo): Promise<string[]> {
  return readdir(path.join(repo.dir, '.git', 'worktrees')).catch(() => []);
}

describe('engine: step worktrees', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo();
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('leave nothing behind once their steps succeeded, without a warm pool: no folder, no entry in git worktree list', async () => {
    const { snapshot } = await runWorkflow(repo, {
      settings: { pool_size: 0 },
      steps: Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, run: `echo ${i} > f${i}.txt` })),
    });
    assert.equal(snapshot.status, 'succeeded');
    assert.deepEqual(await adminEntries(repo), []);
    assert.equal(
      repo
        .git(['worktree', 'list', '--porcelain'])
        .split('\n')
        .filter((l) => l.startsWith('worktree ')).length,
      1,
    );
    assert.ok(!existsSync(path.join(repo.dir, '.git', 'tapps-flow', 'worktrees', snapshot.runId)), "the run's worktree folder is gone");
  });

  it('keeps the worktree of a failed step', async () => {
    const { snapshot } = await runWorkflow(repo, {
      settings: { pool_size: 0 },
      steps: [
        { id: 'bad', run: 'echo partial > p.txt; exit 1' },
        { id: 'good', run: 'true' },
      ],
    });
    assert.deepEqual(await adminEntries(repo), [`bad--${snapshot.runId}`]);
    assert.ok(existsSync(path.join(snapshot.steps[0].worktree!, 'p.txt')));
  });

  it('two runs adding and removing worktrees at once never break each other, and never run `git worktree prune`', async () => {
    // Git reads every worktree entry unlocked: `git worktree prune` can delete the entry another
    // `git worktree add` has just made, and two adds at once can read each other's half-written
    // entries; either add then fails. Adds are serialized per repository, and entries are dropped
    // in `settled()`, after the run's last add, each in one rename.
    const commands: string[] = [];
    const repository = await openRepository(repo.dir, (args) => commands.push(args.join(' ')));
    const head = repo.git(['rev-parse', 'HEAD']);
    const runs = [new Worktrees(repository, 'run-one'), new Worktrees(repository, 'run-two')];
    // Two runs add and remove worktrees at once, as steps start and end; then both settle.
    await Promise.all(
      runs.map(async (worktrees) => {
        for (let i = 0; i < 6; i++) {
          await worktrees.add(`s${i}`, head);
          worktrees.remove(`s${i}`);
        }
      }),
    );
    await Promise.all(runs.map((worktrees) => worktrees.settled()));
    assert.equal(commands.filter((c) => c.startsWith('worktree add')).length, 12);
    assert.deepEqual(
      commands.filter((c) => c.startsWith('worktree prune')),
      [],
    );
    assert.deepEqual(await adminEntries(repo), []);
    assert.equal(
      repo
        .git(['worktree', 'list', '--porcelain'])
        .split('\n')
        .filter((l) => l.startsWith('worktree ')).length,
      1,
    );
  });
});
