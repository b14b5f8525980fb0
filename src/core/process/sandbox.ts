import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Isolation } from '../workflow/schema';

/**
 * Where a step's processes may write, and how the kernel keeps them together.
 *
 * On Linux every step runs under bubblewrap (`bwrap`) when it is installed and works:
 * - always in its own PID namespace (`--unshare-pid`, `--die-with-parent`): when the step's
 *   command ends, or the engine dies, the kernel kills every process it left behind, however it
 *   detached (new session, double fork, a cleared environment);
 * - with `isolation: sandbox`, also with the whole file system read-only but for the step's
 *   worktree, its git administrative folder (where git writes the step's new objects, see
 *   `privateObjectStore`), a private `/tmp` and the agents' own folders. The repository's config, refs and hooks stay read-only, so a step's
 *   `git config`, `git checkout -b` or a hook it writes fails in the step, not in the user's
 *   repository.
 * Without bubblewrap, steps run as plain process groups tagged with their run and step, and the
 * engine sweeps the tagged processes (see stepProcesses.ts).
 */

/** What the machine offers a step. */
export interface SandboxSupport {
  /** The bubblewrap executable, when it is installed and can make namespaces here. */
  readonly bwrap?: string;
  /** Why there is none, for the one message that says so. */
  readonly missing?: string;
}

let probed: SandboxSupport | undefined;

/** Whether bubblewrap works on this machine: found on PATH and able to make a PID namespace. Probed once per process. */
export function sandboxSupport(): SandboxSupport {
  probed ??= probe();
  return probed;
}

/** For tests: forget the probe (after PATH changed). */
export function resetSandboxProbe(): void {
  probed = undefined;
}

function probe(): SandboxSupport {
  if (process.env.TAPPS_NO_BWRAP === '1') return { missing: 'bubblewrap is turned off (TAPPS_NO_BWRAP=1)' };
  if (process.platform !== 'linux') return { missing: `there is no bubblewrap on ${process.platform}` };
  const bwrap = onPath('bwrap');
  if (!bwrap) return { missing: 'bubblewrap (bwrap) is not installed; install it with: sudo apt-get install bubblewrap' };
  const result = spawnSync(bwrap, [...PROCESS_ONLY, '--', 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  if (result.status !== 0) {
    const why = result.stderr?.toString().trim().split('\n')[0] || result.error?.message || `exit code ${result.status}`;
    return { missing: `bubblewrap cannot make namespaces on this machine (${why})` };
  }
  return { bwrap };
}

/** An executable by name on PATH, or undefined. */
export function onPath(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The namespace options every bwrap-run step gets: its own PID namespace, gone with the engine. */
const PROCESS_ONLY = ['--dev-bind', '/', '/', '--proc', '/proc', '--unshare-pid', '--die-with-parent', '--new-session'];

/** The folders a sandboxed step may write. */
export interface SandboxPaths {
  /** The step's worktree. */
  readonly worktree: string;
  /** Its git administrative folder (`.git/worktrees/<name>`): index, HEAD, logs. */
  readonly gitEntry: string;
  /** The repository's git directory shared by all worktrees: read-only. */
  readonly commonDir: string;
  /** The user's main checkout: read-only, and visible even when it lies under /tmp. */
  readonly mainCheckout: string;
  /** Agents' folders (absolute); those that do not exist are skipped. */
  readonly writable: readonly string[];
}

/** How one step's command is started: the argv to spawn, and what keeps its processes together. */
export interface Confinement {
  readonly argv: readonly string[];
  /**
   * Variables the step's processes need under this confinement: in the sandbox, git writes new
   * objects to a store of the step's own (`privateObjects`), reading the repository's as an
   * alternate, since the repository's object store is read-only there.
   */
  readonly env: Readonly<Record<string, string>>;
  /** The step's own object store, in the sandbox: imported (verified) into the repository's after the step. */
  readonly privateObjects?: string;
  /** 'namespace': the kernel keeps the step's processes in one PID namespace; 'tag': they are found by their environment. */
  readonly containment: 'namespace' | 'tag';
  /** The isolation actually in force (`sandbox` falls back to `detect` where there is none). */
  readonly isolation: Isolation;
  /** Set when `sandbox` was asked for and cannot be had: why. */
  readonly fallback?: string;
}

/** The command line that starts `argv` confined as `isolation` asks, on this machine. */
export function confine(
  argv: readonly string[],
  isolation: Isolation,
  paths: SandboxPaths,
  support: SandboxSupport = sandboxSupport(),
): Confinement {
  const privateObjects = privateObjectStore(paths);
  const objectsEnv = {
    GIT_OBJECT_DIRECTORY: privateObjects,
    GIT_ALTERNATE_OBJECT_DIRECTORIES: path.join(paths.commonDir, 'objects'),
  };
  if (process.platform === 'darwin' && isolation === 'sandbox' && existsSync('/usr/bin/sandbox-exec'))
    return {
      argv: ['/usr/bin/sandbox-exec', '-p', seatbeltProfile(paths), '--', ...argv],
      env: objectsEnv,
      privateObjects,
      containment: 'tag',
      isolation,
    };
  if (!support.bwrap) {
    const fallback = isolation === 'sandbox' ? support.missing : undefined;
    return {
      argv,
      env: {},
      containment: 'tag',
      isolation: isolation === 'sandbox' ? 'detect' : isolation,
      ...(fallback ? { fallback } : {}),
    };
  }
  const sandboxed = isolation === 'sandbox';
  const options = sandboxed ? bwrapSandbox(paths) : PROCESS_ONLY;
  // `--info-fd 3`: bubblewrap says there which PID namespace it made (see processTree's `sandboxInfo`).
  return {
    argv: [support.bwrap, ...options, '--info-fd', '3', '--chdir', paths.worktree, '--', ...argv],
    env: sandboxed ? objectsEnv : {},
    ...(sandboxed ? { privateObjects } : {}),
    containment: 'namespace',
    isolation,
  };
}

/**
 * Where a sandboxed step's git writes new objects: a folder of its own administrative folder. The
 * repository's store stays read-only, so that no step can replace an object of the user's history
 * (or of another step's result).
 */
export function privateObjectStore(paths: Pick<SandboxPaths, 'gitEntry'>): string {
  return path.join(paths.gitEntry, 'tapps-objects');
}

/**
 * bubblewrap's options for `isolation: sandbox`. Order matters: later mounts cover earlier ones,
 * so the private `/tmp` comes before the folders that may lie inside it (a repository in /tmp).
 */
export function bwrapSandbox(paths: SandboxPaths): string[] {
  return [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    // The repository stays readable, and read-only (one under /tmp was hidden by the private /tmp,
    // where a write would vanish instead of failing).
    '--ro-bind',
    paths.mainCheckout,
    paths.mainCheckout,
    '--ro-bind',
    paths.commonDir,
    paths.commonDir,
    '--bind',
    paths.gitEntry,
    paths.gitEntry,
    '--bind',
    paths.worktree,
    paths.worktree,
    // The worktree's `.git` file names its administrative folder: the step may not point it elsewhere.
    '--ro-bind',
    path.join(paths.worktree, '.git'),
    path.join(paths.worktree, '.git'),
    ...paths.writable.flatMap((p) => ['--bind-try', p, p]),
    '--unshare-pid',
    '--die-with-parent',
    '--new-session',
  ];
}

/** Quotes a path for a Seatbelt profile string. */
function sbString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The macOS `sandbox-exec` profile equivalent to the bubblewrap sandbox: everything readable,
 * writes only to the worktree, its git folder, temporary folders and the agents' folders; network
 * left on.
 */
export function seatbeltProfile(paths: SandboxPaths): string {
  const writable = [paths.worktree, paths.gitEntry, '/private/tmp', '/private/var/folders', ...paths.writable];
  return [
    '(version 1)',
    '(allow default)',
    '(deny file-write*)',
    `(allow file-write* ${writable.map((p) => `(subpath ${sbString(p)})`).join(' ')} (literal "/dev/null") (literal "/dev/tty") (regex #"^/dev/fd/"))`,
    `(deny file-write* (literal ${sbString(path.join(paths.worktree, '.git'))}))`,
  ].join('\n');
}
