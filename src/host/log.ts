import * as vscode from 'vscode';
import { TappsError, WorkflowError } from '../core/util/errors';
import { plural } from '../core/util/words';
import { editorMessage } from './editorText';

/** The extension's log, and the one place where errors become notifications. */
export class HostLog implements vscode.Disposable {
  readonly channel = vscode.window.createOutputChannel('Tapps Flow', { log: true });

  info(message: string): void {
    this.channel.info(message);
  }

  warn(message: string): void {
    this.channel.warn(message);
  }

  /**
   * Logs an error and tells the user what happened and what to do, with a button to the log.
   * Returns at once: the notification's promise settles only when the user closes it, and a failed
   * command awaiting it would never return to its caller (`executeCommand` would hang).
   */
  showError(context: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.channel.error(`${context}: ${message}`);
    if (WorkflowError.is(error)) {
      const first = error.issues[0];
      void vscode.window
        .showErrorMessage(
          `${context}: the workflow file has ${plural(error.total, 'problem')}. ${first ? `Line ${first.line}, column ${first.column}: ${first.message}` : ''}`,
          'Open Workflow File',
        )
        .then(async (choice) => {
          if (choice !== 'Open Workflow File' || !first) return;
          // Opening the file validates it: every problem shows in the Problems view at its position.
          const at = new vscode.Position(Math.max(0, first.line - 1), Math.max(0, first.column - 1));
          await vscode.window.showTextDocument(vscode.Uri.file(first.file), { selection: new vscode.Range(at, at) });
        });
      return;
    }
    void vscode.window
      .showErrorMessage(`${context}: ${editorMessage(error)}`, ...(TappsError.is(error) ? [] : ['Show Log']))
      .then((choice) => {
        if (choice === 'Show Log') this.channel.show(true);
      });
  }

  dispose(): void {
    this.channel.dispose();
  }
}
