// The plan's check of the disk, on a plain folder: what stands where the result adds paths.
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeObstacles, findObstacles, parseNameStatus, type TreeChange } from '../../../src/core/apply/applyPlan';

describe('apply plan: obstacles on disk', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tapps-flow-plan-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const put = async (file: string, content = 'x\n') => {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  };
  const added = (...paths: string[]): TreeChange[] => paths.map((p) => ({ status: 'A', path: p }));
  const deleted = (...paths: string[]): TreeChange[] => paths.map((p) => ({ status: 'D', path: p }));

  it('names a symbolic link among the leading folders once, however many added paths go through it', async () => {
    await mkdir(path.join(root, 'a'));
    await symlink(tmpdir(), path.join(root, 'a', 'b'));
    const obstacles = await findObstacles(root, added('a/b/c/one', 'a/b/c/two', 'a/b/three', 'a/fine'));
    assert.deepEqual(obstacles, [{ path: 'a/b', reason: 'link-in-path' }]);
  });

  it('lets git replace what it tracks: a folder of files the result deletes, a file the result deletes for a folder', async () => {
    await put('old/one');
    await put('old/sub/two');
    await put('was-file');
    const changes = [...deleted('old/one', 'old/sub/two', 'was-file'), ...added('old', 'was-file/inner')];
    assert.deepEqual(await findObstacles(root, changes), []);
  });

  it('finds an untracked file kept in a folder the result replaces by a file', async () => {
    await put('old/one');
    await put('old/cache.tmp');
    const obstacles = await findObstacles(root, [...deleted('old/one'), ...added('old')]);
    assert.deepEqual(obstacles, [{ path: 'old', reason: 'folder-for-file' }]);
  });

  it('looks no further than a leading folder that does not exist', async () => {
    assert.deepEqual(await findObstacles(root, added('new/deep/file', 'top')), []);
  });

  it('parses diff-tree -z --name-status output, sorted by path', () => {
    assert.deepEqual(parseNameStatus('M\0b.txt\0A\0a b/c\0D\0a\0'), [
      { status: 'D', path: 'a' },
      { status: 'A', path: 'a b/c' },
      { status: 'M', path: 'b.txt' },
    ]);
    assert.deepEqual(parseNameStatus(''), []);
  });

  it('lists at most 20 obstacles, then how many more', () => {
    const many = Array.from({ length: 23 }, (_, i) => ({ path: `f${i}`, reason: 'file-overwritten' as const }));
    assert.match(describeObstacles(many), /f19 \(an ignored file the result would overwrite\), and 3 more$/);
  });
});
