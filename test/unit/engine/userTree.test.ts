import { strict as assert } from 'node:assert';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { resultOf, runWorkflow } from '../helpers/workflowRun';

/**
 * Every file of the work tree with its bytes and modification time, plus the bytes of
 * `.git/index`. Git's other internals (objects, refs, worktrees) and the state folder are
 * expected to change and are left out.
 */
async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const file = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (file === '.git' || file === '.tapps-agents') continue;
      if (entry.isDirectory()) await walk(file);
      else {
        const full = path.join(dir, file);
        files.set(file, `${(await stat(full)).mtimeMs} ${(await readFile(full)).toString('base64')}`);
      }
    }
  };
  await walk('');
  files.set('.git/index', (await readFile(path.join(dir, '.git', 'index'))).toString('base64'));
  return files;
}

describe("engine: the user's working tree and index", function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({
      'tracked.txt': 'committed\n',
      'staged.txt': 'committed\n',
      'gone.txt': 'to be deleted by a step\n',
      '.gitignore': '*.log\n',
    });
    await repo.write('tracked.txt', 'uncommitted edit\n');
    await repo.write('staged.txt', 'staged edit\n');
    repo.git(['add', 'staged.txt']);
    await repo.write('untracked.txt', 'untracked file\n');
    await repo.write('debug.log', 'ignored\n');
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('are byte-identical after a run, and the steps saw the uncommitted changes but not the ignored file', async () => {
    // `git status` may refresh the index, so it runs before the snapshot is taken.
    const statusBefore = repo.git(['status', '--porcelain=v2', '--untracked-files=all']);
    const before = await snapshotTree(repo.dir);
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        {
          id: 'copy',
          run: 'mkdir -p out && cp tracked.txt staged.txt untracked.txt out/ && { test -e debug.log && echo present || echo absent; } > out/ignored.txt',
          creates: ['out/'],
        },
        // Steps that change, delete and add files in their worktrees, and commit there.
        {
          id: 'edit',
          run: 'echo step > tracked.txt && rm gone.txt && echo new > new.txt && git add -A && git -c user.name=s -c user.email=s@s commit -qm step',
        },
      ],
    });
    assert.equal(snapshot.status, 'succeeded', JSON.stringify(snapshot.steps.map((s) => [s.id, s.status, s.error])));
    const copy = resultOf(snapshot, 'copy');
    assert.equal(repo.show(copy, 'out/tracked.txt'), 'uncommitted edit\n');
    assert.equal(repo.show(copy, 'out/staged.txt'), 'staged edit\n');
    assert.equal(repo.show(copy, 'out/untracked.txt'), 'untracked file\n');
    assert.equal(repo.show(copy, 'out/ignored.txt'), 'absent\n');
    assert.equal(repo.show(snapshot.aggregate!.commit, 'tracked.txt'), 'step\n', "the aggregate holds the step's edit");

    const after = await snapshotTree(repo.dir);
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'no file appeared or disappeared');
    for (const [file, content] of before) assert.equal(after.get(file), content, `${file} is unchanged (bytes and mtime)`);
    assert.equal(repo.git(['status', '--porcelain=v2', '--untracked-files=all']), statusBefore);
    assert.equal(repo.git(['rev-parse', 'HEAD']), snapshot.base.head, 'HEAD did not move');
    assert.equal(repo.git(['symbolic-ref', 'HEAD']), 'refs/heads/main');
  });
});
