// All or nothing: before anything is written, every path the result adds is checked on disk. An
// ignored file or folder in the way, or a symbolic link the result would be written through, is a
// refusal that names the paths and changes nothing.
import { strict as assert } from 'node:assert';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { applyResult } from '../../../src/core/apply/applyResult';
import { TappsError } from '../../../src/core/util/errors';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow } from '../helpers/workflowRun';
import { ignore, remove, scratchFiles, workTreeState } from './workTree';

/** Asserts that applying refuses as "in the way", naming each of `paths`, and changes nothing. */
async function assertRefused(repo: TempRepo, runId: string, expected: ReadonlyArray<readonly [string, RegExp]>): Promise<void> {
  const before = await workTreeState(repo);
  await assert.rejects(applyResult(repo.dir, runId), (e: unknown) => {
    assert.ok(TappsError.is(e), `not a TappsError: ${String(e)}`);
    assert.equal(e.code, 'apply-blocked');
    for (const [file, reason] of expected) {
      assert.ok(e.message.includes(file), `"${file}" is not named in: ${e.message}`);
      assert.match(e.message, reason);
    }
    assert.match(e.message, /Move them away, then apply again\. Nothing was changed\.$/);
    assert.doesNotMatch(e.message, /EEXIST|\n\s+at /);
    return true;
  });
  assert.deepEqual(await workTreeState(repo), before);
  assert.deepEqual(await scratchFiles(repo), []);
}

describe('apply: ignored files and links in the way', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'doc.txt': 'doc\n', 'other.txt': 'other\n' });
  });
  afterEach(() => repo.cleanup());

  it('refuses an ignored file where the result adds a folder (no EEXIST, nothing written), and applies once it is moved away', async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [{ id: 'build', run: 'echo new > a-new.txt && mkdir build && echo x > build/x && echo doc2 > doc.txt' }],
    });
    await ignore(repo, '/build');
    await repo.write('build', 'my own build output\n');
    await assertRefused(repo, snapshot.runId, [['build', /build \(an ignored file where the result needs a folder\)/]]);

    await remove(repo, 'build');
    const result = await applyResult(repo.dir, snapshot.runId);
    assert.deepEqual(result.changed, ['a-new.txt', 'build/x', 'doc.txt']);
    assert.equal(await repo.read('build/x'), 'x\n');
  });

  it('refuses an ignored symbolic link to a folder outside the repository, and writes nothing there', async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [{ id: 'out', run: 'echo new > new.txt && mkdir -p out/deep && echo x > out/deep/x' }],
    });
    const target = path.join(repo.outside, 'elsewhere');
    await mkdir(target);
    await ignore(repo, '/out');
    await symlink(target, path.join(repo.dir, 'out'));
    await assertRefused(repo, snapshot.runId, [['out', /out \(a symbolic link: the result would be written through it/]]);
    assert.deepEqual(await readdir(target), []);
  });

  it('refuses ignored folders where the result needs a file, and ignored files it would overwrite, listing them all', async function () {
    // Windows: the step's `ln -s` makes a copy there (MSYS), not the link the result must hold.
    if (process.platform === 'win32') this.skip();
    const { snapshot } = await runWorkflow(repo, {
      steps: [{ id: 'files', run: 'echo new > new.txt && echo cache > cache && echo log > notes.log && ln -s doc.txt link' }],
    });
    await ignore(repo, '/cache');
    await ignore(repo, '*.log');
    await ignore(repo, '/link');
    await repo.write('cache/data.bin', 'mine\n');
    await repo.write('notes.log', 'my notes\n');
    await symlink('other.txt', path.join(repo.dir, 'link'));
    await assertRefused(repo, snapshot.runId, [
      ['cache', /cache \(an ignored folder where the result needs a file\)/],
      ['notes.log', /notes\.log \(an ignored file the result would overwrite\)/],
      ['link', /link \(an ignored symbolic link the result would overwrite\)/],
    ]);
  });

  it('does not refuse what git replaces safely: an empty folder, or a tracked file the result turns into a folder', async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [{ id: 'swap', run: 'rm other.txt && mkdir other.txt && echo inner > other.txt/inner && echo e > empty' }],
    });
    await mkdir(path.join(repo.dir, 'empty', 'nested'), { recursive: true });
    const result = await applyResult(repo.dir, snapshot.runId);
    assert.deepEqual(result.changed, ['empty', 'other.txt', 'other.txt/inner']);
    assert.equal(await repo.read('other.txt/inner'), 'inner\n');
    assert.equal(await repo.read('empty'), 'e\n');
  });

  it('keeps ignored files that are not in the way', async () => {
    const { snapshot } = await runWorkflow(repo, { steps: [{ id: 'sub', run: 'mkdir -p sub && echo x > sub/x' }] });
    await ignore(repo, '*.tmp');
    await mkdir(path.join(repo.dir, 'sub'));
    await writeFile(path.join(repo.dir, 'sub', 'keep.tmp'), 'keep\n');
    await applyResult(repo.dir, snapshot.runId);
    assert.equal(await repo.read('sub/x'), 'x\n');
    assert.equal(await repo.read('sub/keep.tmp'), 'keep\n');
  });
});
