import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import { currentOs } from '../../../src/core/process/platform';
import { processEntry, processTable, type ProcessEntry } from '../../../src/core/process/processTable';

const execFileAsync = promisify(execFile);

/** The temporary git repository the harness opened as the workspace. */
export function workspaceRoot(): string {
  const root = process.env.TAPPS_TEST_WORKSPACE;
  if (!root) throw new Error('TAPPS_TEST_WORKSPACE is not set in the extension host');
  return root;
}

export function workflowUri(name: string): vscode.Uri {
  return vscode.Uri.file(path.join(workspaceRoot(), 'workflows', name));
}

/** Runs real git in the workspace; resolves with its stdout. */
export async function git(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd: workspaceRoot(), encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout.toString('utf8');
}

/** The bytes of a path in a commit, as git stores them. */
export async function blobText(commit: string, file: string): Promise<string> {
  return git('cat-file', 'blob', `${commit}:${file}`);
}

export function readText(file: string): string {
  return readFileSync(path.join(workspaceRoot(), file), 'utf8');
}

/**
 * Every file of the working tree (outside .git and Tapps Flow's state folder) with the sha-256
 * of its bytes: two equal snapshots mean nothing on disk changed.
 */
export function workingTreeSnapshot(): Map<string, string> {
  const root = workspaceRoot();
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      if (rel === '.git' || rel === '.tapps-agents') continue;
      if (entry.isDirectory()) walk(full);
      else files.set(rel, createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  };
  walk(root);
  return new Map([...files].sort(([a], [b]) => a.localeCompare(b)));
}

/** Puts the working tree back at HEAD (tracked files restored, untracked ones removed; the state folder is ignored and stays). */
export async function resetWorkingTree(): Promise<void> {
  await git('checkout', '--', '.');
  await git('clean', '-fdq');
}

/**
 * Whether a process exists, from the OS's process table (`/proc` on Linux, `ps` on macOS, CIM on
 * Windows). A zombie (exited, not yet reaped by its new parent) counts as gone.
 */
export function processAlive(pid: number): boolean {
  const entry = processEntry(pid, currentOs());
  return entry !== undefined && !entry.zombie;
}

/** The processes whose parents lead back to `leader` (not the leader itself), in `table`. */
export function descendantsOf(leader: number, table: readonly ProcessEntry[] = processTable(currentOs())): ProcessEntry[] {
  const found: ProcessEntry[] = [];
  const seen = new Set([leader]);
  for (let grew = true; grew;) {
    grew = false;
    for (const e of table) {
      if (seen.has(e.pid) || !seen.has(e.ppid)) continue;
      seen.add(e.pid);
      found.push(e);
      grew = true;
    }
  }
  return found;
}

/**
 * The command lines of the processes `pids` that can still be read: the arguments joined by
 * spaces on Linux and macOS, the line the process was started with on Windows (its program's
 * path, perhaps quoted, then the arguments).
 */
export function commandLines(pids: readonly number[]): Map<number, string> {
  const lines = new Map<number, string>();
  if (pids.length === 0) return lines;
  const os = currentOs();
  if (os === 'linux') {
    for (const pid of pids) {
      try {
        lines.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0').join(' '));
      } catch {
        // Gone meanwhile.
      }
    }
    return lines;
  }
  const text =
    os === 'darwin'
      ? quietly('ps', ['-ww', '-o', 'pid=,command=', '-p', pids.join(',')])
      : quietly('powershell.exe', [
          '-NoLogo',
          '-NoProfile',
          '-NonInteractive',
          '-Command',
          `Get-CimInstance Win32_Process -Filter '${pids.map((p) => `ProcessId=${p}`).join(' OR ')}' | ForEach-Object { '{0} {1}' -f $_.ProcessId, $_.CommandLine }`,
        ]);
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(\d+) (.*)$/.exec(line);
    if (m) lines.set(Number(m[1]), m[2].trim());
  }
  return lines;
}

/** A command's output; '' when it fails (a process gone meanwhile makes `ps -p` exit 1). */
function quietly(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', windowsHide: true, timeout: 15_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (error) {
    const stdout = (error as { stdout?: unknown }).stdout;
    return typeof stdout === 'string' ? stdout : '';
  }
}
