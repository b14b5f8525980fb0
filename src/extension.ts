import type * as vscode from 'vscode';

/** Entry point of the extension; the host layer lives in src/host/. */
export function activate(_context: vscode.ExtensionContext): void {
  // The host is registered here as it grows (see src/host/).
}

export function deactivate(): void {
  // Everything registered is owned by context.subscriptions and disposed by VS Code.
}
