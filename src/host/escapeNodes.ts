import * as vscode from 'vscode';
import type { RunEntry } from './runsModel';

/**
 * The warning node of a run whose steps wrote outside their worktrees: "Restore My Files" is
 * offered on it (inline) while an escaped file is not restored yet.
 */
export function escapesItem(entry: RunEntry): vscode.TreeItem {
  const s = entry.snapshot;
  const n = s.escapes.length + s.escapesUnlisted;
  const item = new vscode.TreeItem(`Wrote Outside Its Worktrees (${n})`, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `${s.runId}/escapes`;
  item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.errorForeground'));
  const restorable = s.escapes.some((e) => e.kind === 'file' && !e.restored && !e.ignored && e.before !== undefined);
  item.contextValue = entry.readOnly ? 'escapes.readonly' : `escapes${restorable ? '.restorable' : ''}`;
  item.tooltip = new vscode.MarkdownString(
    `While this run's steps ran, something wrote into your checkout or your repository's git files (config, refs, hooks) outside the steps' worktrees. Each write is put down to the steps running at the time.${restorable ? '\n\n**Restore My Files** puts back the files as they were before (a file you changed again since is left alone unless you confirm).' : ''}\n\nConfig, refs and hooks are never changed back automatically: each one says how to undo it.`,
  );
  return item;
}

const ESCAPE_LABELS: Record<string, string> = { file: 'file', config: 'git config', ref: 'ref', hook: 'git hook' };

export function escapeItem(entry: RunEntry, index: number): vscode.TreeItem {
  const e = entry.snapshot.escapes[index];
  if (!e) return new vscode.TreeItem('(gone)');
  const item = new vscode.TreeItem(e.path, vscode.TreeItemCollapsibleState.None);
  item.id = `${entry.snapshot.runId}/escape/${e.kind}/${e.path}`;
  item.description = [ESCAPE_LABELS[e.kind] ?? e.kind, e.change, e.steps.join(', '), e.restored ? 'restored' : '']
    .filter(Boolean)
    .join(' · ');
  item.tooltip = new vscode.MarkdownString().appendText(`${e.path} (${e.change}; steps running: ${e.steps.join(', ')})\n\n${e.detail}`);
  item.iconPath = new vscode.ThemeIcon(
    e.restored ? 'history' : 'warning',
    e.restored ? undefined : new vscode.ThemeColor('list.warningForeground'),
  );
  item.contextValue = `escape.${e.kind}`;
  return item;
}
