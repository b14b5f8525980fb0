import type * as vscode from 'vscode';

/** The core takes an AbortSignal; only the host converts from VS Code's CancellationToken. */
export function toAbortSignal(token: vscode.CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}
