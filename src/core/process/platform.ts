import crossSpawn from 'cross-spawn';
import path from 'node:path';

/**
 * What differs between the operating systems in starting and stopping a step's processes, as
 * plain data: each function takes the OS, so that every OS's plan can be checked on any machine,
 * and the code that carries a plan out stays the same everywhere.
 *
 * - Linux: a process group per step, the PID namespace under bubblewrap, `/proc` for the table.
 * - macOS (and other POSIX systems): a process group per step, `ps` for the table.
 * - Windows: no process groups or signals between processes; a step's tree is its leader and the
 *   leader's descendants (Windows keeps the parent's id even after the parent is gone), stopped
 *   with `taskkill`, found with the system's process table (CIM, through PowerShell).
 */
export type Os = 'linux' | 'darwin' | 'win32';

/** The OS family this process runs on: the BSDs and other POSIX systems behave as macOS does here. */
export function currentOs(platform: NodeJS.Platform = process.platform): Os {
  return platform === 'win32' ? 'win32' : platform === 'linux' ? 'linux' : 'darwin';
}

/** How a command is handed to `spawn`. */
export interface SpawnPlan {
  readonly command: string;
  readonly args: readonly string[];
  /** A new process group whose id is the leader's pid (POSIX): what a stop signals. */
  readonly detached: boolean;
  /** No console window for the step's processes (Windows). */
  readonly windowsHide: boolean;
  /** `cmd.exe` parses its own command line: its arguments must reach it as written. */
  readonly windowsVerbatimArguments: boolean;
}

/**
 * The plan for starting `argv` as a step's process tree. On Windows `cmd.exe /c SCRIPT` gets its
 * script quoted as a whole and passed verbatim, as Node does for `shell: true`: cmd.exe does not
 * read the C runtime's `\"` escapes. Other commands, `.cmd` shims included, are resolved by
 * cross-spawn when started (see `startProcessTree`).
 */
export function spawnPlan(os: Os, argv: readonly string[]): SpawnPlan {
  const [command, ...args] = argv;
  if (os !== 'win32') return { command, args, detached: true, windowsHide: false, windowsVerbatimArguments: false };
  const cmd = isCmdExe(command);
  const cIndex = args.findIndex((a) => /^\/c$/i.test(a));
  if (cmd && cIndex >= 0 && cIndex === args.length - 2) {
    const script = args[cIndex + 1];
    return {
      command,
      args: [...args.slice(0, cIndex + 1), `"${script}"`],
      detached: false,
      windowsHide: true,
      windowsVerbatimArguments: true,
    };
  }
  // Not detached: on Windows that would give the step a console of its own, a visible window.
  return { command, args, detached: false, windowsHide: true, windowsVerbatimArguments: false };
}

function isCmdExe(command: string): boolean {
  return /^cmd(\.exe)?$/i.test(path.win32.basename(command));
}

/** One action of a stop: a signal to a process or a group (POSIX), or a command to run (Windows). */
export type StopAction =
  | { readonly kind: 'signal'; readonly pid: number; readonly signal: NodeJS.Signals }
  | { readonly kind: 'signal-group'; readonly group: number; readonly signal: NodeJS.Signals }
  | { readonly kind: 'command'; readonly argv: readonly string[] };

/** The stages of stopping: the polite one, then, after the grace period, the forced one. */
export type StopStage = 'polite' | 'forced';

/**
 * Stopping a step's whole tree, led by `leader`: its group on POSIX (every process that stayed in
 * it, wherever its parent went), the leader and its descendants on Windows (`taskkill /T`; `/F`
 * for the forced stage, since console programs do not answer the polite close request).
 */
export function treeStopActions(os: Os, leader: number, stage: StopStage): StopAction[] {
  if (os === 'win32') return [{ kind: 'command', argv: taskkill([leader], stage, true) }];
  return [{ kind: 'signal-group', group: leader, signal: stage === 'polite' ? 'SIGTERM' : 'SIGKILL' }];
}

/** Stopping processes found one by one (by tag, namespace or descent), each on its own. */
export function processStopActions(os: Os, pids: readonly number[], stage: StopStage): StopAction[] {
  if (pids.length === 0) return [];
  if (os === 'win32') return [{ kind: 'command', argv: taskkill(pids, stage, false) }];
  return pids.map((pid) => ({ kind: 'signal', pid, signal: stage === 'polite' ? 'SIGTERM' : 'SIGKILL' }) as const);
}

function taskkill(pids: readonly number[], stage: StopStage, tree: boolean): string[] {
  return ['taskkill', ...pids.flatMap((pid) => ['/PID', String(pid)]), ...(tree ? ['/T'] : []), ...(stage === 'forced' ? ['/F'] : [])];
}

/**
 * Whether a process tree is still there: its group (POSIX: `kill(-pgid, 0)`), or its leader on
 * Windows, where there are no groups to ask about.
 */
export function treeAlive(os: Os, leader: number): boolean {
  try {
    process.kill(os === 'win32' ? leader : -leader, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Carries out a stop's actions; a process already gone is not an error. */
export async function performStop(actions: readonly StopAction[]): Promise<void> {
  for (const action of actions) {
    if (action.kind === 'command') {
      await runQuietly(action.argv);
      continue;
    }
    try {
      process.kill(action.kind === 'signal' ? action.pid : -action.group, action.signal);
    } catch {
      // Gone already.
    }
  }
}

/** Runs a short system command (taskkill), waiting at most 10 s; its output and failure are ignored. */
function runQuietly(argv: readonly string[]): Promise<void> {
  return new Promise((resolve) => {
    const [command, ...args] = argv;
    const child = crossSpawn(command, args, { stdio: 'ignore', windowsHide: true, timeout: 10_000 });
    child.once('error', () => resolve());
    child.once('exit', () => resolve());
  });
}
