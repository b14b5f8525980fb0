import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  comparablePath,
  isInside,
  isStrictlyInside,
  relativeInside,
  removeRetrying,
  renameRetrying,
  retryBusy,
  samePath,
} from '../../../src/core/util/paths';

/** An operation that fails with `code` its first `failures` times, then returns 'done'. */
function failing(code: string, failures: number): { op: () => Promise<string>; readonly calls: number } {
  let calls = 0;
  return {
    op: () => {
      calls++;
      return calls <= failures ? Promise.reject(Object.assign(new Error(`${code}: busy`), { code })) : Promise.resolve('done');
    },
    get calls() {
      return calls;
    },
  };
}

describe('paths on Windows (path.win32)', () => {
  it('sees one place in two spellings: separators, drive letter and names in any case, a trailing separator', () => {
    assert.equal(comparablePath('c:\\Repo\\x', 'win32'), 'c:\\repo\\x');
    assert.ok(samePath('c:\\Repo\\x', 'C:/repo/x/', 'win32'));
    assert.ok(samePath('C:\\repo\\.\\a\\..\\x', 'C:\\REPO\\X', 'win32'));
    assert.ok(!samePath('C:\\repo\\x', 'D:\\repo\\x', 'win32'));
  });

  it('keeps the separator of a root, drive or UNC share, and finds what is inside it', () => {
    assert.equal(comparablePath('C:\\', 'win32'), 'c:\\');
    assert.equal(comparablePath('C:/', 'win32'), 'c:\\');
    assert.ok(isInside('C:\\repo\\a', 'C:\\', 'win32'));
    assert.equal(relativeInside('C:\\', 'c:\\Repo\\A', 'win32'), 'Repo/A');
    assert.equal(comparablePath('\\\\Server\\Share\\a\\', 'win32'), '\\\\server\\share\\a');
    assert.ok(isInside('\\\\server\\share\\a\\b', '\\\\SERVER\\share', 'win32'));
    assert.equal(relativeInside('\\\\server\\share', '\\\\server\\SHARE\\a\\B', 'win32'), 'a/B');
    assert.ok(!isInside('\\\\server\\other\\a', '\\\\server\\share', 'win32'));
  });

  it('reads long-path prefixes as the paths they name', () => {
    assert.ok(samePath('\\\\?\\C:\\Repo\\x', 'c:\\repo\\x', 'win32'));
    assert.ok(samePath('\\\\?\\UNC\\server\\share\\a', '\\\\server\\share\\a', 'win32'));
  });

  it('does not take a sibling with a common prefix for a child', () => {
    assert.ok(!isInside('C:\\repo2', 'C:\\repo', 'win32'));
    assert.ok(!isInside('C:\\repo2\\x', 'C:\\repo', 'win32'));
    assert.equal(relativeInside('C:\\repo', 'C:\\repo2\\x', 'win32'), undefined);
    assert.ok(isInside('c:/Repo/x', 'C:\\repo', 'win32'));
  });

  it('counts the folder itself inside, but not strictly inside; the relative path keeps the child\'s case, with "/"', () => {
    assert.ok(isInside('C:\\repo\\', 'c:/REPO', 'win32'));
    assert.ok(!isStrictlyInside('C:\\repo\\', 'c:/REPO', 'win32'));
    assert.ok(isStrictlyInside('C:\\repo\\a', 'c:/REPO', 'win32'));
    assert.equal(relativeInside('C:/Repo', 'c:\\repo', 'win32'), '');
    assert.equal(relativeInside('C:/Repo', 'c:\\repo\\Src\\Main.ts', 'win32'), 'Src/Main.ts');
    assert.equal(relativeInside('C:\\repo', 'C:\\repo\\..cache\\x', 'win32'), '..cache/x');
    assert.equal(relativeInside('C:\\repo\\a', 'C:\\repo', 'win32'), undefined);
  });
});

describe('paths on macOS and Linux (path.posix)', () => {
  it('folds case on macOS (APFS ignores it by default), and Unicode composition', () => {
    assert.ok(samePath('/Users/Me/Repo', '/users/me/repo/', 'darwin'));
    assert.ok(isInside('/users/me/repo/src', '/Users/Me/Repo', 'darwin'));
    assert.equal(relativeInside('/Users/Me/Repo', '/users/me/repo/Src/A.ts', 'darwin'), 'Src/A.ts');
    assert.ok(samePath('/tmp/caf\u00e9', '/tmp/cafe\u0301', 'darwin'));
  });

  it('keeps case on Linux', () => {
    assert.ok(!samePath('/home/me/Repo', '/home/me/repo', 'linux'));
    assert.ok(!isInside('/home/me/repo/a', '/home/me/Repo', 'linux'));
    assert.equal(relativeInside('/home/me/Repo', '/home/me/repo/a', 'linux'), undefined);
    assert.equal(comparablePath('/home/me/Repo/', 'linux'), '/home/me/Repo');
  });

  it('normalises, and tells siblings and the root apart', () => {
    assert.ok(samePath('/a/./b/../c', '/a/c', 'linux'));
    assert.ok(samePath('/a//c', '/a/c', 'linux'));
    assert.ok(!isInside('/repo2', '/repo', 'linux'));
    assert.ok(isInside('/repo', '/', 'linux'));
    assert.equal(relativeInside('/', '/a/b', 'linux'), 'a/b');
    assert.equal(relativeInside('/repo', '/repo/..cache', 'linux'), '..cache');
    assert.equal(relativeInside('/repo', '/repo/../x', 'linux'), undefined);
    assert.ok(isStrictlyInside('/repo/a', '/repo', 'linux') && !isStrictlyInside('/repo', '/repo', 'linux'));
  });

  it('keeps a backslash in a Linux name a name (a separator only on Windows)', () => {
    assert.equal(relativeInside('/repo', '/repo/a\\b', 'linux'), 'a\\b');
    assert.equal(relativeInside('C:\\repo', 'C:\\repo\\a\\b', 'win32'), 'a/b');
  });
});

describe('retrying busy files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tapps-flow-paths-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('renames a real folder once on this machine', async () => {
    await mkdir(path.join(dir, 'a'));
    await writeFile(path.join(dir, 'a', 'f'), 'x');
    await renameRetrying(path.join(dir, 'a'), path.join(dir, 'b'));
    assert.deepEqual(await readdir(dir), ['b']);
    assert.deepEqual(await readdir(path.join(dir, 'b')), ['f']);
  });

  it('deletes a real folder and a real file; a missing one is fine with force', async () => {
    await mkdir(path.join(dir, 'a', 'b'), { recursive: true });
    await writeFile(path.join(dir, 'f'), 'x');
    await removeRetrying(path.join(dir, 'a'), { recursive: true, force: true });
    await removeRetrying(path.join(dir, 'f'), { force: true });
    await removeRetrying(path.join(dir, 'missing'), { force: true });
    assert.deepEqual(await readdir(dir), []);
  });

  it('tries again on Windows while an operation fails as a busy file does', async () => {
    for (const code of ['EBUSY', 'EPERM', 'EACCES', 'ENOTEMPTY']) {
      const busy = failing(code, 2);
      assert.equal(await retryBusy(busy.op, 'win32'), 'done');
      assert.equal(busy.calls, 3, code);
    }
  });

  it('runs once elsewhere: there the error means what it says', async () => {
    for (const platform of ['linux', 'darwin'] as const) {
      const busy = failing('EBUSY', 2);
      await assert.rejects(retryBusy(busy.op, platform), { code: 'EBUSY' });
      assert.equal(busy.calls, 1, platform);
    }
  });

  it('does not retry other errors, and gives up after about two seconds', async function () {
    this.timeout(10_000);
    const missing = failing('ENOENT', 1);
    await assert.rejects(retryBusy(missing.op, 'win32'), { code: 'ENOENT' });
    assert.equal(missing.calls, 1);
    const stuck = failing('EBUSY', Infinity);
    const started = Date.now();
    await assert.rejects(retryBusy(stuck.op, 'win32'), { code: 'EBUSY' });
    assert.ok(stuck.calls > 2 && stuck.calls < 10, `${stuck.calls} tries`);
    assert.ok(Date.now() - started < 4_000);
  });
});
