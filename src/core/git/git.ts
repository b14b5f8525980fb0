import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { GitError, TappsError } from '../util/errors';
import { configArgs, gitEnvironment, PINNED_SETTINGS, WORKTREE_SETTINGS } from './gitEnvironment';

export interface GitCall {
  /** Extra environment, e.g. GIT_INDEX_FILE for a temporary index. */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to git's stdin (text, or bytes such as a pack). */
  readonly input?: string | Buffer;
  /** Exit codes that carry an answer rather than a failure (e.g. 1 for `merge-tree` with conflicts). */
  readonly okExitCodes?: readonly number[];
  /** Stops git (SIGTERM) when aborted; the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface GitResult {
  readonly stdout: string;
  readonly exitCode: number;
}

/** Observes every git command: its arguments and how long it took. */
export type GitObserver = (args: readonly string[], milliseconds: number, exitCode: number) => void;

export interface GitOptions {
  readonly observer?: GitObserver;
  /**
   * The git directory and work tree, passed explicitly (`--git-dir`, `--work-tree`) instead of
   * being discovered from `cwd`: a step can rewrite its worktree's `.git` file to point at the
   * user's repository, and discovery would follow it.
   */
  readonly gitDir?: string;
  readonly workTree?: string;
  /** Pin the line-ending, ignore and attribute settings too (a step's worktree). @default false */
  readonly worktreeSettings?: boolean;
}

/**
 * The git executable: `TAPPS_GIT`, else `git` on PATH. The editor sets `TAPPS_GIT` from its
 * `git.path` setting: an environment variable reaches both of the extension's bundles (the host
 * and the lazily loaded engine each have their own copy of this module) and the CLI alike.
 */
export function gitExecutable(): string {
  return process.env.TAPPS_GIT?.trim() || 'git';
}

/**
 * Every git command of the engine goes through here: one instance per repository or worktree,
 * one place for the environment, the pinned settings, errors, exit codes, stdin, cancellation and
 * timing.
 *
 * It spawns git itself rather than through simple-git, which the engine used at first: simple-git
 * waits a fixed 50 ms after every command that prints nothing (its completion detection), and
 * most commands on a step's path print nothing (`worktree add --quiet`, `add`, `update-ref`):
 * the benchmark measured 57 ms against 4.6 ms for a raw spawn. It also resolves a non-zero exit
 * with an empty stderr as success (so `merge-tree` conflicts would look clean) and has no stdin.
 */
export class Git {
  private readonly prefix: readonly string[];
  private readonly observer: GitObserver | undefined;

  constructor(
    readonly cwd: string,
    options: GitOptions | GitObserver = {},
  ) {
    const o = typeof options === 'function' ? { observer: options } : options;
    this.observer = o.observer;
    this.prefix = [
      ...configArgs(PINNED_SETTINGS),
      ...(o.worktreeSettings ? configArgs(WORKTREE_SETTINGS) : []),
      ...(o.gitDir === undefined ? [] : [`--git-dir=${o.gitDir}`]),
      ...(o.workTree === undefined ? [] : [`--work-tree=${o.workTree}`]),
    ];
  }

  /** Runs git and returns stdout; throws `GitError` with git's stderr on failure. */
  async run(args: readonly string[], call: GitCall = {}): Promise<string> {
    return (await this.exec(args, call)).stdout;
  }

  /** Like `run`, trimmed: for commands that print one id or name. */
  async line(args: readonly string[], call: GitCall = {}): Promise<string> {
    return (await this.run(args, call)).trim();
  }

  /** Runs git and returns its raw stdout, for binary content. */
  async runBuffer(args: readonly string[], call: GitCall = {}): Promise<Buffer> {
    return (await this.spawn(args, call)).stdout;
  }

  async exec(args: readonly string[], call: GitCall = {}): Promise<GitResult> {
    const result = await this.spawn(args, call);
    return { stdout: result.stdout.toString('utf8'), exitCode: result.exitCode };
  }

  private async spawn(args: readonly string[], call: GitCall): Promise<{ stdout: Buffer; exitCode: number }> {
    const started = performance.now();
    let exitCode = -1;
    try {
      const result = await spawnGit(this.cwd, [...this.prefix, ...args], args, call);
      exitCode = result.exitCode;
      if (result.exitCode !== 0 && !(call.okExitCodes ?? []).includes(result.exitCode)) {
        throw new GitError(args, result.exitCode, result.stderr);
      }
      return result;
    } finally {
      this.observer?.(args, performance.now() - started, exitCode);
    }
  }
}

function spawnGit(
  cwd: string,
  argv: readonly string[],
  shown: readonly string[],
  call: GitCall,
): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
  return new Promise((resolve, reject) => {
    if (call.signal?.aborted) {
      reject(call.signal.reason instanceof Error ? call.signal.reason : new Error('cancelled'));
      return;
    }
    const executable = gitExecutable();
    const child = spawn(executable, argv, { cwd, env: gitEnvironment(call.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const onAbort = () => child.kill('SIGTERM');
    call.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      call.signal?.removeEventListener('abort', onAbort);
      // spawn reports a missing working folder as ENOENT too, naming the program: say which it is.
      if (!existsSync(cwd)) reject(new GitError(shown, null, `the folder ${cwd} does not exist`));
      else if (e.code === 'ENOENT') {
        reject(
          new TappsError(
            'git-not-found',
            `Tapps Flow could not start git ("${executable}" was not found). Install git, or set TAPPS_GIT (in the editor: the git.path setting) to its path.`,
          ),
        );
      } else reject(new GitError(shown, null, `could not start git ("${executable}"): ${e.message}`));
    });
    child.on('close', (code) => {
      call.signal?.removeEventListener('abort', onAbort);
      if (call.signal?.aborted) {
        reject(call.signal.reason instanceof Error ? call.signal.reason : new Error('cancelled'));
        return;
      }
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), exitCode: code ?? -1 });
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all input; its exit code tells
    child.stdin.end(call.input ?? '');
  });
}
