import { strict as assert } from 'node:assert';
import { constants } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openNoFollow } from '../../../src/core/util/openNoFollow';

/**
 * Both ways of refusing a link at a file's name, on this machine's real file system: POSIX's
 * O_NOFOLLOW, and the check Windows needs for want of it (lstat, then the same file opened).
 */
describe('opening a file never through a link at its name', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tapps-nofollow-'));
    await writeFile(path.join(dir, 'real.json'), '{"a":1}');
    await writeFile(path.join(dir, 'secret'), 'not for a run');
    await symlink(path.join(dir, 'secret'), path.join(dir, 'planted.json'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const platform of ['linux', 'win32'] as const) {
    describe(platform === 'win32' ? "Windows' way (lstat, then the same file)" : 'POSIX (O_NOFOLLOW)', () => {
      it('opens a file that is itself', async () => {
        const handle = await openNoFollow(path.join(dir, 'real.json'), constants.O_RDONLY, undefined, platform);
        try {
          assert.equal(await handle.readFile('utf8'), '{"a":1}');
        } finally {
          await handle.close();
        }
      });

      it('refuses a link with ELOOP, reading nothing through it', async () => {
        await assert.rejects(openNoFollow(path.join(dir, 'planted.json'), constants.O_RDONLY, undefined, platform), { code: 'ELOOP' });
        await assert.rejects(
          openNoFollow(path.join(dir, 'planted.json'), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600, platform),
          { code: 'ELOOP' },
        );
        assert.equal(await readFile(path.join(dir, 'secret'), 'utf8'), 'not for a run', 'nothing written through it');
      });

      it('says ENOENT for a missing file, and creates one when asked', async () => {
        await assert.rejects(openNoFollow(path.join(dir, 'missing'), constants.O_RDONLY, undefined, platform), { code: 'ENOENT' });
        const created = path.join(dir, `new-${platform}.log`);
        const handle = await openNoFollow(created, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600, platform);
        await handle.write('line\n');
        await handle.close();
        assert.equal(await readFile(created, 'utf8'), 'line\n');
      });
    });
  }
});
