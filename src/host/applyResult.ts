import * as vscode from 'vscode';
import type { ApplyResult } from '../core/apply/applyResult';
import type { SymlinkOut } from '../core/findings/symlinks';
import { TappsError } from '../core/util/errors';
import { engine } from './lazyEngine';

const APPLY_WITH_LINKS = 'Apply with the Symlinks';
const LISTED = 10;

/**
 * Applies a run's result. A result that would write symbolic links pointing out of the repository
 * is refused by the engine with nothing written; the user is shown the links in a modal warning,
 * and only its explicit button applies them (the CLI's `--allow-symlinks-out`). Undefined when
 * the user declined.
 */
export async function applyWithConfirmation(
  repoRoot: string,
  runId: string,
  options: { readonly alternative?: boolean } = {},
): Promise<ApplyResult | undefined> {
  try {
    return await engine().applyResult(repoRoot, runId, options);
  } catch (error) {
    // The engine's bundle has its own error classes: recognised by their code, not by instanceof.
    const links =
      TappsError.is(error) && error.code === 'symlinks-out' ? (error as TappsError & { links?: SymlinkOut[] }).links : undefined;
    if (!links) throw error;
    const shown = links.slice(0, LISTED).map((l) => `${l.path} → ${l.target}`);
    if (links.length > LISTED) shown.push(`and ${links.length - LISTED} more`);
    const choice = await vscode.window.showWarningMessage(
      `Tapps Flow: the result of run ${runId} holds ${links.length === 1 ? 'a symbolic link' : `${links.length} symbolic links`} pointing outside the repository.`,
      {
        modal: true,
        detail: `${shown.join('\n')}\n\nAnything written through such a link (by you, a build, a tool) lands wherever it points. Nothing has been written yet.`,
      },
      APPLY_WITH_LINKS,
    );
    if (choice !== APPLY_WITH_LINKS) return undefined;
    return engine().applyResult(repoRoot, runId, { ...options, allowSymlinksOut: true });
  }
}
