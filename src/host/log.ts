import * as vscode from 'vscode';
import { TappsError, WorkflowError } from '../core/util/errors';

/** The extension's log, and the one place where errors become notifications. */
export class HostLog implements vscode.Disposable {
  readonly channel = vscode.window.createOutputChannel('Tapps Flow', { log: true });

  info(message: string): void {
    this.channel.info(message);
  }

  warn(message: string): void {
    this.channel.warn(message);
  }

  /** Logs an error and tells the user what happened and what to do, with a button to the log. */
  async showError(context: string, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.channel.error(`${context}: ${message}`);
    if (WorkflowError.is(error)) {
      const first = error.issues[0];
      const choice = await vscode.window.showErrorMessage(`${context}: the workflow file has ${error.issues.length} problem(s). ${first ? `${first.line}:${first.column} ${first.message}` : ''}`, 'Show Problems');
      if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
      return;
    }
    const choice = await vscode.window.showErrorMessage(`${context}: ${message}`, ...(TappsError.is(error) ? [] : ['Show Log']));
    if (choice === 'Show Log') this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
