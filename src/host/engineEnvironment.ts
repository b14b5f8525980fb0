import { existsSync } from 'node:fs';
import * as vscode from 'vscode';

/**
 * The editor's settings that the engine reads from its environment, as the CLI does: an
 * environment variable reaches both of the extension's bundles (the host and the lazily loaded
 * engine each have their own copy of the engine's modules) and the CLI alike.
 * - `git.path` (VS Code's git: a path or a list of them, the first that exists wins) → `TAPPS_GIT`;
 * - `tappsFlow.windowsShell` (which shell runs command strings on Windows) → `TAPPS_SHELL`.
 * Without a setting, the variable from the editor's own environment (or the engine's default) is
 * used.
 */
export function applyEngineEnvironment(): void {
  const gitSetting = vscode.workspace.getConfiguration('git').get<string | string[] | null>('path');
  const gits = (Array.isArray(gitSetting) ? gitSetting : [gitSetting]).filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  apply(
    'TAPPS_GIT',
    gits.find((p) => existsSync(p)),
  );
  const shell = vscode.workspace.getConfiguration('tappsFlow').get<string>('windowsShell');
  apply('TAPPS_SHELL', shell && shell !== 'auto' ? shell : undefined);
}

/** The values this module put in the environment, by variable. */
const fromSettings = new Map<string, string>();

function apply(variable: string, value: string | undefined): void {
  if (value !== undefined) {
    process.env[variable] = value;
    fromSettings.set(variable, value);
  } else if (fromSettings.has(variable) && process.env[variable] === fromSettings.get(variable)) {
    // The setting was removed: back to the editor's own environment.
    delete process.env[variable];
    fromSettings.delete(variable);
  }
}

/** Follows changes of the settings. */
export function watchEngineEnvironment(): vscode.Disposable {
  applyEngineEnvironment();
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('git.path') || e.affectsConfiguration('tappsFlow.windowsShell')) applyEngineEnvironment();
  });
}
