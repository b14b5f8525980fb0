import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { gitForWindowsSh, shellArgv, shellChoice, type ShellContext } from '../../../src/core/process/shell';

/** A Windows machine described by the files it has: the choice reads nothing else. */
function windows(files: readonly string[], over: Partial<ShellContext> = {}): ShellContext {
  const present = new Set(files.map((f) => f.toLowerCase()));
  return {
    os: 'win32',
    choice: 'auto',
    git: 'git',
    pathVariable: 'C:\\Windows\\system32;C:\\Program Files\\Git\\cmd',
    comspec: 'C:\\Windows\\system32\\cmd.exe',
    isFile: (f) => present.has(f.toLowerCase()),
    ...over,
  };
}

const GIT_FOR_WINDOWS = ['C:\\Program Files\\Git\\cmd\\git.exe', 'C:\\Program Files\\Git\\bin\\sh.exe'];

describe('the shell of command strings, per OS', () => {
  it('is /bin/sh on Linux and macOS, and runs here for real', () => {
    for (const os of ['linux', 'darwin'] as const)
      assert.deepEqual(shellArgv('echo hi', { ...windows([]), os }), ['/bin/sh', '-c', 'echo hi']);
    const [command, ...args] = shellArgv('printf "%s" "$((6 * 7))"');
    assert.equal(execFileSync(command, args, { encoding: 'utf8' }), '42');
  });

  it("is Git for Windows' sh on Windows, found through the git on PATH", () => {
    assert.deepEqual(shellArgv('npm test', windows(GIT_FOR_WINDOWS)), ['C:\\Program Files\\Git\\bin\\sh.exe', '-c', 'npm test']);
  });

  it('follows the configured git (TAPPS_GIT, git.path) in each layout Git for Windows installs', () => {
    for (const git of ['D:\\Tools\\Git\\cmd\\git.exe', 'D:\\Tools\\Git\\bin\\git.exe', 'D:\\Tools\\Git\\mingw64\\bin\\git.exe'])
      assert.equal(
        gitForWindowsSh(windows([git, 'D:\\Tools\\Git\\bin\\sh.exe'], { git, pathVariable: '' })),
        'D:\\Tools\\Git\\bin\\sh.exe',
        git,
      );
    const usrBin = windows(['E:\\PortableGit\\cmd\\git.exe', 'E:\\PortableGit\\usr\\bin\\sh.exe'], {
      git: 'E:\\PortableGit\\cmd\\git.exe',
    });
    assert.equal(gitForWindowsSh(usrBin), 'E:\\PortableGit\\usr\\bin\\sh.exe');
  });

  it('takes an sh.exe on PATH (MSYS2, Cygwin) when git brings none', () => {
    const msys = windows(['C:\\msys64\\usr\\bin\\sh.exe'], { pathVariable: 'C:\\msys64\\usr\\bin;C:\\Windows' });
    assert.equal(gitForWindowsSh(msys), 'C:\\msys64\\usr\\bin\\sh.exe');
  });

  it('falls back to cmd.exe /d /s /c without an sh, and uses ComSpec', () => {
    assert.deepEqual(shellArgv('dir', windows([])), ['C:\\Windows\\system32\\cmd.exe', '/d', '/s', '/c', 'dir']);
    assert.deepEqual(shellArgv('dir', windows([], { comspec: undefined })), ['cmd.exe', '/d', '/s', '/c', 'dir']);
    assert.deepEqual(shellArgv('dir', windows(GIT_FOR_WINDOWS, { choice: 'cmd' })).slice(1), ['/d', '/s', '/c', 'dir'], 'cmd when chosen');
  });

  it('runs PowerShell with the script encoded, so that no quoting can change it', () => {
    const script = `Write-Output "a 'b'" ; exit 3`;
    const argv = shellArgv(script, windows(GIT_FOR_WINDOWS, { choice: 'powershell' }));
    assert.deepEqual(argv.slice(0, 5), ['powershell.exe', '-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand']);
    assert.equal(Buffer.from(argv[5], 'base64').toString('utf16le'), script);
  });

  it('says what to do when sh is asked for and there is none', () => {
    assert.throws(() => shellArgv('true', windows([], { choice: 'sh' })), /could not find sh.*Install Git for Windows, or set TAPPS_SHELL/);
  });

  it('checks TAPPS_SHELL, naming what is expected', () => {
    assert.equal(shellChoice(undefined), 'auto');
    assert.equal(shellChoice(' powershell '), 'powershell');
    assert.throws(
      () => shellChoice('bash'),
      (e: Error) => /TAPPS_SHELL is "bash": expected one of auto, sh, cmd, powershell/.test(e.message),
    );
  });
});
