import * as vscode from 'vscode';
import type { HostLog } from './log';

/**
 * In an untrusted workspace Tapps Flow only shows past runs: running a workflow executes
 * commands, and git itself runs programs the repository's configuration names (`core.fsmonitor`,
 * filters), so no command runs git or writes a file there. Returns whether `action` may go on;
 * when not, says so once with a way to trust the workspace.
 */
export function requireTrust(log: HostLog, action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(
      `Tapps Flow cannot ${action} in an untrusted workspace: it would run git or commands from this repository. Past runs stay viewable. Trust this workspace to go on.`,
      'Manage Workspace Trust',
    )
    .then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  log.warn(`refused to ${action}: the workspace is not trusted`);
  return false;
}
