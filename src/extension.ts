import type * as vscode from 'vscode';
import { activateHost, type TappsFlowApi } from './host/activate';

declare global {
  // Set by the bundle's first line (esbuild.js banner).
  var __tappsFlowLoadStart: number | undefined;
}

/** When the bundle's code has all run: the rest, until activate() is called, is VS Code's. */
const loadEnd = performance.now();

/** Entry point of the extension; the host layer lives in src/host/, the engine in src/core/. */
export function activate(context: vscode.ExtensionContext): TappsFlowApi {
  const started = performance.now();
  const loadMs = globalThis.__tappsFlowLoadStart === undefined ? undefined : loadEnd - globalThis.__tappsFlowLoadStart;
  return activateHost(context, { loadMs, started, hostGapMs: started - loadEnd });
}

export function deactivate(): void {
  // Everything registered is owned by context.subscriptions and disposed by VS Code.
}
