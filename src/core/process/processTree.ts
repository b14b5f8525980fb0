import crossSpawn from 'cross-spawn';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentOs, performStop, spawnPlan, treeAlive, treeStopActions } from './platform';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /**
   * It never ran: on Windows a command found on no PATH is started through cmd.exe (which could
   * still find a `.bat` by another spelling) and reported missing only once cmd.exe has exited.
   */
  readonly notStarted?: string;
}

export interface StartOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly onOutput: (chunk: Buffer) => void;
  /** Written to the process's standard input, which is then closed; none: stdin is empty. */
  readonly stdin?: string;
  /**
   * The process is bubblewrap started with `--info-fd 3`: read what it writes there (the PID
   * namespace of the step's processes) into `ProcessTree.sandbox`.
   */
  readonly sandboxInfo?: boolean;
}

/** What bubblewrap reports of the namespace it made. */
export interface SandboxInfo {
  /** The namespace's first process (bubblewrap's own init), seen from the engine. */
  readonly initPid: number;
  /** `pid:[inode]`, as `/proc/<pid>/ns/pid` reads for its members. */
  readonly pidNamespace: string;
}

/** A running process and its whole tree (its process group). */
export interface ProcessTree {
  readonly pid: number;
  /** Resolves when the process has exited (its output may still be in the pipes). */
  readonly exited: Promise<ProcessExit>;
  /**
   * Resolves when stdout and stderr are closed, so that every byte of output was read: once the
   * process and whatever else held the pipes (its group) are gone. Bounded by `ms`.
   */
  drained(ms: number): Promise<void>;
  /** Stops the whole group: SIGTERM, up to `graceMs`, then SIGKILL; resolves when the group is gone. */
  stop(graceMs: number): Promise<void>;
  /** With `sandboxInfo`: the namespace, once bubblewrap has made it (undefined if it never said). */
  readonly sandbox?: Promise<SandboxInfo | undefined>;
}

/** The process could not be started at all (command not found, not executable). */
export class StartError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'StartError';
  }
}

/**
 * Starts `argv` as the leader of a new process tree: on POSIX a new process group, so that
 * stopping it reaches every descendant that stays in the group, grandchildren included; on
 * Windows the leader, whose descendants `taskkill /T` reaches. cross-spawn finds the program as
 * a shell would without running one (on Windows: `PATHEXT`, and `.cmd`/`.bat` shims such as the
 * ones npm installs agent CLIs as, with their arguments escaped for cmd.exe).
 */
export function startProcessTree(argv: readonly string[], options: StartOptions): Promise<ProcessTree> {
  return new Promise((resolve, reject) => {
    const plan = spawnPlan(currentOs(), argv);
    const command = plan.command;
    const child = crossSpawn(command, [...plan.args], {
      cwd: options.cwd,
      env: options.env,
      detached: plan.detached,
      windowsHide: plan.windowsHide,
      windowsVerbatimArguments: plan.windowsVerbatimArguments,
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(options.sandboxInfo ? (['pipe'] as const) : [])],
    });
    const sandbox = options.sandboxInfo ? readSandboxInfo(child.stdio[3] as Readable | null) : undefined;
    if (child.stdin) {
      // A process that exits without reading its input closes the pipe: that is not an error of the step.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.stdin);
    }
    child.stdout!.on('data', options.onOutput);
    child.stderr!.on('data', options.onOutput);
    let settled = false;
    const reasonOf = (error: NodeJS.ErrnoException) =>
      error.code === 'ENOENT'
        ? `command not found: "${command}"`
        : error.code === 'EACCES'
          ? `"${command}" is not executable`
          : error.message;
    let lateError: ((reason: string) => void) | undefined;
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (settled) {
        lateError?.(reasonOf(error));
        return;
      }
      settled = true;
      reject(new StartError(command, reasonOf(error)));
    });
    const closed = new Promise<void>((done) => child.once('close', () => done()));
    child.once('spawn', () => {
      settled = true;
      const pid = child.pid!;
      const exited = new Promise<ProcessExit>((done) => {
        // `exit` rather than `close`: a grandchild holding the pipes open must not delay the step.
        child.once('exit', (code, signal) => done({ code, signal }));
        // cross-spawn turns cmd.exe's exit into this error when the command was not found.
        lateError = (reason) => done({ code: null, signal: null, notStarted: reason });
      });
      const drained = async (ms: number) => {
        let timer: NodeJS.Timeout | undefined;
        // A process that left the group (setsid) may hold the pipes for ever: give up after `ms`.
        await Promise.race([closed, new Promise<void>((done) => (timer = setTimeout(done, ms)))]);
        clearTimeout(timer);
      };
      resolve({ pid, exited, drained, stop: (graceMs) => stopGroup(pid, graceMs), ...(sandbox ? { sandbox } : {}) });
    });
  });
}

/** Reads bubblewrap's `--info-fd` JSON (`child-pid`, `pid-namespace`) until the pipe closes; bounded. */
function readSandboxInfo(stream: Readable | null): Promise<SandboxInfo | undefined> {
  if (!stream) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let text = '';
    // bubblewrap keeps the descriptor open while the step runs: the JSON is read as soon as it is whole.
    const parse = (): SandboxInfo | undefined => {
      try {
        const info = JSON.parse(text) as { 'child-pid'?: unknown; 'pid-namespace'?: unknown };
        const initPid = info['child-pid'];
        const ns = info['pid-namespace'];
        return Number.isInteger(initPid) && Number.isInteger(ns)
          ? { initPid: initPid as number, pidNamespace: `pid:[${ns as number}]` }
          : undefined;
      } catch {
        return undefined;
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      if (text.length >= 4096) return;
      text += chunk;
      const info = parse();
      if (info) resolve(info);
    });
    stream.once('close', () => resolve(parse()));
    stream.once('error', () => resolve(undefined));
  });
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (treeAlive(currentOs(), pid)) {
    if (Date.now() >= until) return false;
    await sleep(25);
  }
  return true;
}

/** A polite stop, a grace period, then a forced one, for every process of the tree (see `treeStopActions`). */
export async function stopGroup(pid: number, graceMs: number): Promise<void> {
  const os = currentOs();
  if (!treeAlive(os, pid)) return;
  await performStop(treeStopActions(os, pid, 'polite'));
  if (await waitGone(pid, graceMs)) return;
  await performStop(treeStopActions(os, pid, 'forced'));
  await waitGone(pid, 5_000);
}
