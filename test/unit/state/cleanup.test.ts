import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanup, deleteRun, keptWorktrees, removeKeptWorktree } from '../../../src/core/cleanup/cleanup';
import { archiveRef, archiveUncaptured } from '../../../src/core/git/archive';
import { openRepository } from '../../../src/core/git/repository';
import { RunWriter } from '../../../src/core/state/runWriter';
import { runDir } from '../../../src/core/run/stateDir';
import { runLockPath } from '../../../src/core/state/runLocation';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow, stepOf } from '../helpers/workflowRun';

describe('cleanup', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo();
  });
  afterEach(() => repo.cleanup());

  const refs = () => repo.git(['for-each-ref', '--format=%(refname)', 'refs/tapps-flow/']).split('\n').filter(Boolean).sort();

  it("saves a kept worktree's uncaptured work to an archive ref before removing it, and --dry-run changes nothing", async () => {
    const failed = await runWorkflow(
      repo,
      {
        steps: [
          { id: 'ok', run: 'echo ok > ok.txt' },
          {
            id: 'broken',
            run: 'echo "half done" > work.txt && git add work.txt && git commit -qm "step commit" && echo more > more.txt && exit 1',
          },
        ],
      },
      { runId: 'old-run' },
    );
    assert.equal(failed.snapshot.status, 'failed');
    const worktree = stepOf(failed.snapshot, 'broken').worktree!;
    assert.ok(existsSync(worktree), 'the failed step keeps its worktree');
    await runWorkflow(repo, { steps: [{ id: 'x', run: 'echo x > x.txt' }] }, { runId: 'new-run' });

    const before = { refs: refs(), runs: await readdir(path.dirname(runDir(repo.dir, 'x'))) };
    const preview = await cleanup(repo.dir, { keep: 1, dryRun: true });
    assert.deepEqual(
      preview.runs.map((r) => r.runId),
      ['old-run'],
    );
    assert.deepEqual(
      preview.archived.map((a) => a.worktree),
      [worktree],
    );
    assert.deepEqual(refs(), before.refs, 'dry run: refs unchanged');
    assert.deepEqual(await readdir(path.dirname(runDir(repo.dir, 'x'))), before.runs, 'dry run: state unchanged');
    assert.ok(existsSync(worktree), 'dry run: worktree kept');

    const report = await cleanup(repo.dir, { keep: 1 });
    assert.deepEqual(
      report.runs.map((r) => r.runId),
      ['old-run'],
    );
    assert.ok(!existsSync(worktree), 'worktree removed');
    assert.ok(!existsSync(runDir(repo.dir, 'old-run')), 'state removed');
    assert.ok(existsSync(runDir(repo.dir, 'new-run')), 'the newest run is kept');
    const archive = report.archived[0].ref;
    assert.equal(repo.show(archive, 'work.txt'), 'half done\n', "the step's own commit is kept");
    assert.equal(repo.show(archive, 'more.txt'), 'more\n', 'uncommitted work is kept');
    assert.ok(!refs().some((r) => r.startsWith('refs/tapps-flow/runs/old-run/')), "the run's refs are gone");
    assert.ok(refs().some((r) => r.startsWith('refs/tapps-flow/runs/new-run/')));
    assert.ok(!repo.git(['worktree', 'list', '--porcelain']).includes(worktree), 'git no longer lists the worktree');
  });

  it('deletes one run whatever its age, and removes one kept worktree, saving uncaptured work first', async () => {
    const failed = await runWorkflow(
      repo,
      {
        steps: [
          { id: 'a', run: 'echo half > a.txt && exit 1' },
          { id: 'b', run: 'echo half > b.txt && exit 1' },
        ],
      },
      { runId: 'kept-run' },
    );
    assert.equal(failed.snapshot.status, 'failed');
    const kept = await keptWorktrees(repo.dir, 'kept-run');
    assert.deepEqual([...kept.keys()].sort(), ['a', 'b']);
    // A path planted in the state is never what is removed: only `<step>--<run>` folders under the roots.
    await assert.rejects(removeKeptWorktree(repo.dir, 'kept-run', 'nope'), /kept no worktree for step "nope"/);

    const one = await removeKeptWorktree(repo.dir, 'kept-run', 'a');
    assert.deepEqual(one.worktrees, [kept.get('a')]);
    assert.ok(!existsSync(kept.get('a')!), "a's worktree is gone");
    assert.ok(existsSync(kept.get('b')!), "b's worktree is kept");
    assert.equal(repo.git(['show', `${one.archived[0].ref}:a.txt`]), 'half');
    assert.deepEqual([...(await keptWorktrees(repo.dir, 'kept-run')).keys()], ['b']);

    const all = await deleteRun(repo.dir, 'kept-run');
    assert.deepEqual(all.worktrees, [kept.get('b')]);
    assert.equal(repo.git(['show', `${all.archived[0].ref}:b.txt`]), 'half');
    assert.ok(!existsSync(runDir(repo.dir, 'kept-run')), 'state removed');
    assert.deepEqual(
      refs().filter((r) => r.startsWith('refs/tapps-flow/runs/')),
      [],
    );
    await assert.rejects(deleteRun(repo.dir, 'kept-run'), /Cannot delete run kept-run/);
  });

  it('waits for a run this process holds (one that has just ended, letting go of its worktrees) instead of refusing', async () => {
    await runWorkflow(repo, { steps: [{ id: 'a', run: 'echo half > a.txt && exit 1' }] }, { runId: 'settling' });
    const holder = await RunWriter.open(await openRepository(repo.dir), 'settling', 'letting go of its worktrees');
    const removing = removeKeptWorktree(repo.dir, 'settling', 'a');
    let done = false;
    void removing.then(() => (done = true)).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(done, false, 'it did not wait for the holder');
    await holder.close();
    const removed = await removing;
    assert.equal(removed.worktrees.length, 1);
  });

  it('waits a moment for a run lock whose holder has not said who it is (taking it, or letting go) instead of refusing', async () => {
    await runWorkflow(repo, { steps: [{ id: 'a', run: 'echo half > a.txt && exit 1' }] }, { runId: 'between' });
    const r = await openRepository(repo.dir);
    const holder = await RunWriter.open(r, 'between', 'letting go of its worktrees');
    // As in the middle of its release: its owner's record is gone, its lock not yet.
    await rm(`${runLockPath(r, 'between')}.owner.json`);
    const removing = removeKeptWorktree(repo.dir, 'between', 'a');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await holder.close();
    const removed = await removing;
    assert.equal(removed.worktrees.length, 1);
  });

  it('never moves an archive ref: a second archive under the same name takes a number', async () => {
    const failed = await runWorkflow(repo, { steps: [{ id: 'a', run: 'echo one > a.txt && exit 1' }] }, { runId: 'twice' });
    const worktree = stepOf(failed.snapshot, 'a').worktree!;
    const repository = await openRepository(repo.dir);
    const ref = archiveRef('twice', 'a--twice');
    assert.equal(await archiveUncaptured(repository, worktree, ref), ref);
    const first = repo.git(['rev-parse', ref]);
    assert.equal(await archiveUncaptured(repository, worktree, ref), ref, 'the same work archived again: the same ref');
    await writeFile(path.join(worktree, 'a.txt'), 'two\n');
    assert.equal(await archiveUncaptured(repository, worktree, ref), `${ref}-2`);
    assert.equal(repo.git(['rev-parse', ref]), first, 'the first archive was moved');
    assert.equal(repo.show(`${ref}-2`, 'a.txt'), 'two\n');
  });

  it('finds orphaned worktrees whose run is gone and removes them the same safe way', async () => {
    const run = await runWorkflow(
      repo,
      { settings: { keep_worktrees: 'always' }, steps: [{ id: 's', run: 'echo s > s.txt' }] },
      { runId: 'orphan-run' },
    );
    const worktree = stepOf(run.snapshot, 's').worktree!;
    // The state folder goes away (deleted by hand), the worktree stays behind with a new file.
    await rm(runDir(repo.dir, 'orphan-run'), { recursive: true });
    await writeFile(path.join(worktree, 'late.txt'), 'written after capture\n');
    const report = await cleanup(repo.dir, {});
    assert.deepEqual(report.orphanedWorktrees, [worktree]);
    assert.ok(!existsSync(worktree));
    assert.equal(repo.show(report.archived[0].ref, 'late.txt'), 'written after capture\n');
  });
});
