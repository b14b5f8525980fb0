import { existsSync } from 'node:fs';
import path from 'node:path';
import { TappsError } from '../util/errors';
import { currentOs, type Os } from './platform';

/**
 * The shell that runs a workflow's command strings (the `shell` agent's `run`, setup commands,
 * checks, score commands). On Linux and macOS it is `/bin/sh`. On Windows it is the `sh` that Git
 * for Windows ships (so that the same workflow runs everywhere), found through the git
 * installation; where there is none, `cmd.exe`. `TAPPS_SHELL` (the editor's
 * `tappsFlow.windowsShell` setting) picks one on Windows: `auto` (the default), `sh`, `cmd` or
 * `powershell`.
 */
export const SHELL_CHOICES = ['auto', 'sh', 'cmd', 'powershell'] as const;
export type ShellChoice = (typeof SHELL_CHOICES)[number];

/** What the choice depends on; the defaults are this machine's. */
export interface ShellContext {
  readonly os: Os;
  readonly choice: ShellChoice;
  /** The git executable as configured (`TAPPS_GIT` or `git`). */
  readonly git: string;
  /** `PATH` (Windows: `;`-separated). */
  readonly pathVariable: string;
  /** `ComSpec`: cmd.exe's own path. */
  readonly comspec: string | undefined;
  readonly isFile: (file: string) => boolean;
}

/** `TAPPS_SHELL`, checked: an unknown value is an error that says what is expected. */
export function shellChoice(value: string | undefined = process.env.TAPPS_SHELL): ShellChoice {
  const v = (value ?? '').trim() || 'auto';
  if ((SHELL_CHOICES as readonly string[]).includes(v)) return v as ShellChoice;
  throw new TappsError(
    'invalid-setting',
    `TAPPS_SHELL is "${v}": expected one of ${SHELL_CHOICES.join(', ')} (in the editor: the tappsFlow.windowsShell setting).`,
  );
}

function thisMachine(): ShellContext {
  return {
    os: currentOs(),
    choice: shellChoice(),
    git: process.env.TAPPS_GIT?.trim() || 'git',
    pathVariable: process.env.PATH ?? process.env.Path ?? '',
    comspec: process.env.ComSpec,
    isFile: existsSync,
  };
}

/** The argv that runs `script` in the shell of `context` (this machine's by default). */
export function shellArgv(script: string, context: ShellContext = thisMachine()): string[] {
  if (context.os !== 'win32') return ['/bin/sh', '-c', script];
  const cmd = () => [context.comspec || 'cmd.exe', '/d', '/s', '/c', script];
  if (context.choice === 'cmd') return cmd();
  if (context.choice === 'powershell') {
    // Encoded, so that no quoting rule of the command line can change the script.
    const encoded = Buffer.from(script, 'utf16le').toString('base64');
    return ['powershell.exe', '-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encoded];
  }
  const sh = gitForWindowsSh(context);
  if (sh) return [sh, '-c', script];
  if (context.choice === 'sh')
    throw new TappsError(
      'usage',
      'Tapps Flow could not find sh: it looks for the one Git for Windows installs beside git. Install Git for Windows, or set TAPPS_SHELL (the tappsFlow.windowsShell setting) to cmd or powershell.',
    );
  return cmd();
}

/**
 * Git for Windows' `sh.exe`: git is `<root>\cmd\git.exe`, `<root>\bin\git.exe` or
 * `<root>\mingw64\bin\git.exe`, and sh is `<root>\bin\sh.exe` (or `<root>\usr\bin\sh.exe`).
 * Failing that, an `sh.exe` on PATH (MSYS2, Cygwin).
 */
export function gitForWindowsSh(context: ShellContext): string | undefined {
  const p = path.win32;
  const dirs = context.pathVariable.split(';').filter((d) => d.trim() !== '');
  const gitFile = /[\\/]/.test(context.git)
    ? context.git
    : dirs.flatMap((d) => ['git.exe', 'git.cmd'].map((name) => p.join(d, name))).find((f) => context.isFile(f));
  if (gitFile) {
    for (let dir = p.dirname(p.resolve(gitFile)), up = 0; up < 3; up++, dir = p.dirname(dir)) {
      const sh = [p.join(dir, 'bin', 'sh.exe'), p.join(dir, 'usr', 'bin', 'sh.exe')].find((f) => context.isFile(f));
      if (sh) return sh;
    }
  }
  return dirs.map((d) => p.join(d, 'sh.exe')).find((f) => context.isFile(f));
}
