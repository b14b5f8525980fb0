import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';

export const PROJECT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(PROJECT, 'dist', 'cli.js');

/** Bundles dist/ once per test process (tests run the CLI as users do: the built file). */
let built = false;
export function buildCli(): void {
  if (built) return;
  execFileSync(process.execPath, ['esbuild.js'], { cwd: PROJECT, stdio: 'inherit' });
  built = true;
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Replaces the environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Starts the CLI; `done` resolves when it has exited and its output is read. */
export function startCli(
  args: readonly string[],
  options: CliOptions = {},
): { child: ChildProcessByStdio<null, Readable, Readable>; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs the CLI to its end. */
export function cli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}
