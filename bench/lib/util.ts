import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function now(): number {
  return performance.now();
}

/** Times an async function: its result and how long it took (ms). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = now();
  const value = await fn();
  return { value, ms: now() - started };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/**
 * Runs a program directly (no shell, no simple-git): the "raw" baseline of every git figure.
 * Rejects on a non-zero exit unless the code is listed in `okCodes`.
 */
export function exec(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; input?: string; okCodes?: readonly number[] },
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code: code ?? -1 };
      if (result.code !== 0 && !(options.okCodes ?? []).includes(result.code)) {
        reject(new Error(`${command} ${args.join(' ')} exited with ${result.code}: ${result.stderr.trim()}`));
      } else resolve(result);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Raw git in a folder; returns trimmed stdout. */
export async function git(
  cwd: string,
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string; okCodes?: readonly number[] } = {},
): Promise<string> {
  return (await exec('git', args, { cwd, ...options })).stdout.trim();
}

/** Runs `tasks` with at most `concurrency` at once; resolves when all are done (first error rejects). */
export async function pool(tasks: ReadonlyArray<() => Promise<unknown>>, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
}

/** Fixed author/committer so the generated repository has the same commit ids on every bench run. */
export function fixedDateEnv(unixSeconds: number): Record<string, string> {
  const date = `@${unixSeconds} +0000`;
  return {
    GIT_AUTHOR_NAME: 'Bench',
    GIT_AUTHOR_EMAIL: 'bench@localhost',
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: 'Bench',
    GIT_COMMITTER_EMAIL: 'bench@localhost',
    GIT_COMMITTER_DATE: date,
  };
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Deletes the bench's folder: every worktree under it with `rm -rf`, a few at once, then the rest.
 * (The bench leaves a hundred or so checkouts of 10,000 files; one `rm -rf` of all of them takes
 * minutes on the disk this was written on.)
 */
export async function removeWorkDir(dir: string, concurrency = 4): Promise<void> {
  const worktrees: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const child = path.join(d, e.name);
      const dotGit = await stat(path.join(child, '.git')).catch(() => undefined);
      if (dotGit?.isFile()) worktrees.push(child);
      else if (depth > 0 && e.name !== 'objects' && e.name !== 'src') await walk(child, depth - 1);
    }
  };
  await walk(dir, 6);
  await pool(
    worktrees.map((w) => () => exec('rm', ['-rf', w], { cwd: dir })),
    concurrency,
  );
  await exec('rm', ['-rf', dir], { cwd: path.dirname(dir) });
}
