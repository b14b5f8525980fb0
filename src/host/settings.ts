import * as vscode from 'vscode';
import type { RunDefaults } from '../core/run/options';
import type { DependencySharing, Isolation, KeepWorktrees, Runner, SetupMode } from '../core/workflow/schema';

/** The extension's settings as engine defaults (a workflow's own settings win over them). */
export function readDefaults(scope?: vscode.Uri): RunDefaults & { readonly parallel: boolean } {
  const c = vscode.workspace.getConfiguration('tappsFlow', scope);
  const root = c.get<string>('worktreeRoot', '').trim();
  // Where the user's uncommitted work is pushed, and the queue it is announced on: the user's own
  // settings alone (a cloned repository's .vscode/settings.json must not redirect it). Empty: the
  // engine reads TAPPS_QUEUE_URL, TAPPS_QUEUE_REMOTE, else origin.
  const queueUrl = userSetting(c, 'queueUrl');
  const queueRemote = userSetting(c, 'queueRemote');
  return {
    maxParallel: c.get<number>('maxParallel', 8),
    parallel: c.get<boolean>('parallelExecution', true),
    timeoutSeconds: c.get<number>('stepTimeoutSeconds', 900),
    killGraceSeconds: c.get<number>('killGraceSeconds', 5),
    keepWorktrees: c.get<KeepWorktrees>('keepWorktrees', 'on_failure'),
    logMaxBytes: c.get<number>('logMaxBytes', 10 * 1024 * 1024),
    agents: c.get<Record<string, string[]>>('agents', {}),
    isolation: c.get<Isolation>('isolation', 'detect'),
    sandboxWritable: c.get<string[]>('sandboxWritable'),
    setup: c.get<SetupMode>('setup', 'auto'),
    portsPerStep: c.get<number>('portsPerStep', 10),
    poolSize: c.get<number>('poolSize'),
    poolMaxMb: c.get<number>('poolMaxMb', 10_240),
    dependencySharing: c.get<DependencySharing>('dependencySharing', 'auto'),
    minFreeMemoryMb: c.get<number>('minFreeMemoryMb', 512),
    maxLoadPerCpu: c.get<number>('maxLoadPerCpu', 4),
    runner: c.get<Runner>('runner', 'local'),
    queueAttempts: c.get<number>('queueAttempts', 3),
    // VS Code's own list of ignored files its worktrees get: the same files for a step's worktree.
    worktreeIncludeFiles: vscode.workspace.getConfiguration('git', scope).get<string[]>('worktreeIncludeFiles') ?? [],
    ...(root ? { worktreeRoot: root } : {}),
    ...(queueUrl ? { queueUrl } : {}),
    ...(queueRemote ? { queueRemote } : {}),
  };
}

/**
 * A text setting as the user's settings (local or remote) say it, trimmed; what a workspace or
 * folder says is ignored, whatever the setting's declared scope (`machine`) lets VS Code keep.
 */
function userSetting(c: vscode.WorkspaceConfiguration, key: string): string {
  const value = c.inspect<unknown>(key)?.globalValue;
  return typeof value === 'string' ? value.trim() : '';
}
