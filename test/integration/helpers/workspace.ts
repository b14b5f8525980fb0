import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';

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

/** Whether a process exists. A zombie (exited, not yet reaped by its new parent) counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
