import type * as vscode from 'vscode';
import { activateHost, type TappsFlowApi } from './host/activate';

/** Entry point of the extension; the host layer lives in src/host/, the engine in src/core/. */
export function activate(context: vscode.ExtensionContext): TappsFlowApi {
  return activateHost(context);
}

export function deactivate(): void {
  // Everything registered is owned by context.subscriptions and disposed by VS Code.
}
