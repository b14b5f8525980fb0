import { strict as assert } from 'node:assert';
import path from 'node:path';
import { bwrapSandbox, confine, seatbeltProfile, type SandboxPaths } from '../../../src/core/process/sandbox';
import { DEFAULT_SANDBOX_WRITABLE, effectiveSettings, withSandboxSupport } from '../../../src/core/run/settings';

const paths: SandboxPaths = {
  worktree: '/tmp/repo/.git/tapps-flow/worktrees/r/s',
  gitEntry: '/tmp/repo/.git/worktrees/s',
  commonDir: '/tmp/repo/.git',
  mainCheckout: '/tmp/repo',
  writable: ['/home/u/.codex', '/home/u/"odd"'],
};

/** The index of `option value…` in an argv, or -1. */
function at(argv: readonly string[], ...seq: string[]): number {
  for (let i = 0; i + seq.length <= argv.length; i++) if (seq.every((s, j) => argv[i + j] === s)) return i;
  return -1;
}

describe('the step sandbox: command lines', () => {
  it('bubblewrap: read-only root, private /tmp first, then the repository read-only and the step folders writable', function () {
    // bubblewrap's mounts are POSIX paths, joined with the host's path module: `\` on Windows, which has no bubblewrap.
    if (process.platform === 'win32') this.skip();
    const argv = bwrapSandbox(paths);
    const tmp = at(argv, '--tmpfs', '/tmp');
    assert.ok(at(argv, '--ro-bind', '/', '/') === 0);
    assert.ok(tmp > 0);
    // Later mounts cover earlier ones: everything under /tmp comes after the private /tmp.
    for (const [option, p] of [
      ['--ro-bind', paths.mainCheckout],
      ['--ro-bind', paths.commonDir],
      ['--bind', paths.gitEntry],
      ['--bind', paths.worktree],
      ['--ro-bind', `${paths.worktree}/.git`],
    ])
      assert.ok(at(argv, option, p, p) > tmp, `${option} ${p} after the private /tmp`);
    assert.ok(at(argv, '--bind', paths.worktree, paths.worktree) > at(argv, '--ro-bind', paths.mainCheckout, paths.mainCheckout));
    assert.ok(
      at(argv, '--ro-bind', `${paths.worktree}/.git`, `${paths.worktree}/.git`) > at(argv, '--bind', paths.worktree, paths.worktree),
      "the worktree's .git file stays read-only inside the writable worktree",
    );
    for (const w of paths.writable) assert.ok(at(argv, '--bind-try', w, w) > tmp);
    for (const option of ['--unshare-pid', '--die-with-parent', '--new-session']) assert.ok(argv.includes(option));
    assert.equal(at(argv, '--bind', '/', '/'), -1);
    assert.equal(at(argv, '--bind', `${paths.commonDir}/refs`, `${paths.commonDir}/refs`), -1, 'refs stay read-only');
    assert.equal(at(argv, '--bind', `${paths.commonDir}/objects`, `${paths.commonDir}/objects`), -1, 'the object store stays read-only');
  });

  it('every step under bubblewrap gets its own PID namespace; only `sandbox` narrows the file system', function () {
    // bubblewrap is Linux's: on macOS `sandbox` is Seatbelt (sandbox-exec), and Windows has neither.
    if (process.platform !== 'linux') this.skip();
    const support = { bwrap: '/usr/bin/bwrap' };
    const detect = confine(['agent', '--x'], 'detect', paths, support);
    assert.equal(detect.containment, 'namespace');
    assert.equal(detect.isolation, 'detect');
    assert.deepEqual(detect.argv.slice(0, 3), ['/usr/bin/bwrap', '--dev-bind', '/']);
    assert.deepEqual(detect.argv.slice(-3), ['--', 'agent', '--x']);
    assert.ok(detect.argv.includes('--unshare-pid'));
    assert.equal(confine(['a'], 'off', paths, support).containment, 'namespace');
    const sandbox = confine(['agent'], 'sandbox', paths, support);
    assert.equal(sandbox.isolation, 'sandbox');
    // git writes the step's objects to a store of its own, in its writable git folder.
    assert.equal(sandbox.privateObjects, `${paths.gitEntry}/tapps-objects`);
    assert.deepEqual(sandbox.env, {
      GIT_OBJECT_DIRECTORY: `${paths.gitEntry}/tapps-objects`,
      GIT_ALTERNATE_OBJECT_DIRECTORIES: `${paths.commonDir}/objects`,
    });
    assert.deepEqual(detect.env, {}, 'outside the sandbox git writes where it always does');
    assert.ok(at(sandbox.argv, '--chdir', paths.worktree) > 0);
    assert.ok(at(sandbox.argv, '--ro-bind', '/', '/') === 1);
  });

  it('without bubblewrap: the command as it is, tagged processes, and `sandbox` falls back to `detect` saying why', () => {
    const none = { missing: 'bubblewrap (bwrap) is not installed' };
    const c = confine(['agent'], 'sandbox', paths, none);
    assert.equal(c.containment, 'tag');
    assert.deepEqual(confine(['agent'], 'detect', paths, none).argv, ['agent']);
    // On macOS `sandbox` is Seatbelt's (sandbox-exec), with or without bubblewrap.
    if (process.platform !== 'darwin') {
      assert.deepEqual(c.argv, ['agent']);
      assert.equal(c.isolation, 'detect');
      assert.equal(c.fallback, none.missing);
    }
    assert.equal(confine(['agent'], 'detect', paths, none).fallback, undefined);
  });

  it('macOS: a Seatbelt profile that denies writes but to the step folders, with paths quoted', function () {
    // Seatbelt's paths are POSIX paths, joined with the host's path module: `\` on Windows, which has no Seatbelt.
    if (process.platform === 'win32') this.skip();
    const profile = seatbeltProfile(paths);
    assert.match(profile, /^\(version 1\)/);
    assert.match(profile, /\(deny file-write\*\)/);
    assert.ok(profile.includes(`(subpath "${paths.worktree}")`));
    assert.ok(!profile.includes(`(subpath "${paths.commonDir}/objects")`), 'the object store is not writable');
    assert.ok(profile.includes('(subpath "/home/u/\\"odd\\"")'), 'a quote in a path cannot end the string');
    assert.ok(!profile.includes(`(subpath "${paths.commonDir}")`), 'the git directory itself is not writable');
    assert.ok(profile.indexOf(`(deny file-write* (literal "${paths.worktree}/.git"))`) > profile.indexOf('(allow file-write*'));
  });

  it('settings: ~/ folders made absolute, the workflow over the editor, the command line over both; a relative folder is refused by name', () => {
    const home = { homeDir: '/home/u' };
    // `~/x` is joined to the home folder with the host's path module (`\` on Windows).
    const inHome = (p: string) => path.join(home.homeDir, p);
    const base = effectiveSettings({}, home, {}, '/wt');
    assert.equal(base.isolation, 'detect');
    assert.deepEqual(
      base.sandboxWritable,
      DEFAULT_SANDBOX_WRITABLE.map((p) => inHome(p.slice(2))),
    );
    const own = effectiveSettings(
      { isolation: 'off', sandbox_writable: ['~/.codex'] },
      { ...home, isolation: 'sandbox', sandboxWritable: ['/opt/x'] },
      {},
      '/wt',
    );
    assert.equal(own.isolation, 'off');
    assert.deepEqual(own.sandboxWritable, [inHome('.codex')]);
    assert.equal(effectiveSettings({ isolation: 'off' }, home, { isolation: 'sandbox' }, '/wt').isolation, 'sandbox');
    assert.deepEqual(effectiveSettings({}, { ...home, sandboxWritable: ['/opt/x', '~/.y'] }, {}, '/wt').sandboxWritable, [
      '/opt/x',
      inHome('.y'),
    ]);
    assert.throws(
      () => effectiveSettings({}, { ...home, sandboxWritable: ['relative/dir'] }, {}, '/wt'),
      /sandbox writable folders \(sandbox_writable, tappsFlow.sandboxWritable\)/,
    );
    const fallback = withSandboxSupport({ ...base, isolation: 'sandbox' }, { missing: 'bubblewrap (bwrap) is not installed' });
    if (process.platform === 'linux') {
      assert.equal(fallback.isolation, 'detect');
      assert.match(fallback.isolationFallback ?? '', /^no sandbox: bubblewrap \(bwrap\) is not installed; steps run with detection only$/);
    }
    assert.equal(withSandboxSupport({ ...base, isolation: 'sandbox' }, { bwrap: '/usr/bin/bwrap' }).isolation, 'sandbox');
  });
});
