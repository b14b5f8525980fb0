import { existsSync } from 'node:fs';
import * as vscode from 'vscode';

/**
 * Uses the git executable the user chose for VS Code's git (`git.path`: a path or a list of
 * them, the first that exists wins), through `TAPPS_GIT`, which the engine reads. Without the
 * setting, `TAPPS_GIT` from the editor's environment or `git` on PATH is used.
 */
export function applyGitPath(): void {
  const setting = vscode.workspace.getConfiguration('git').get<string | string[] | null>('path');
  const candidates = (Array.isArray(setting) ? setting : [setting]).filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  const chosen = candidates.find((p) => existsSync(p));
  if (chosen) {
    process.env.TAPPS_GIT = chosen;
    fromSetting = chosen;
  } else if (fromSetting !== undefined && process.env.TAPPS_GIT === fromSetting) {
    // The setting was removed: back to the editor's own environment, or git on PATH.
    delete process.env.TAPPS_GIT;
    fromSetting = undefined;
  }
}

/** The value this module put in TAPPS_GIT, if any. */
let fromSetting: string | undefined;

/** Follows changes of `git.path`. */
export function watchGitPath(): vscode.Disposable {
  applyGitPath();
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('git.path')) applyGitPath();
  });
}
