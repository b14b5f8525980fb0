import * as vscode from 'vscode';
import { conflictLine } from '../core/merge/conflictLocation';
import { conflictMarkerLines, hasConflictMarkers } from '../core/merge/mergeFile';
import type { Conflict } from '../core/state/events';
import { conflictOfUri, contentUri } from './contentProvider';
import { readRegularFile } from './mergedFile';
import type { RunEntry } from './runsModel';
import { samePath } from '../core/util/paths';
import { plural } from '../core/util/words';

/**
 * Whether a conflict's two versions can be merged line by line (in the merge editor): two edits
 * of one text. A binary file, a deletion or a rename is resolved by taking one version.
 */
export function mergesAsText(kind: Conflict['kind']): boolean {
  return ['content', 'add/add', 'json-key', 'markdown-section', 'policy-fail'].includes(kind);
}

/** What a merge editor's tab shows: the base, the two inputs and the result file. */
export interface MergeTabInput {
  readonly base: vscode.Uri;
  readonly input1: vscode.Uri;
  readonly input2: vscode.Uri;
  readonly result: vscode.Uri;
}

/**
 * VS Code's class of a merge editor's tab input, `TabInputTextMerge`: in the API's namespace at
 * run time (the git extension relies on it) but typed only in a proposal
 * (vscode.proposed.tabInputTextMerge.d.ts), so read from the namespace; undefined where absent.
 */
const TabInputTextMerge = (vscode as unknown as { TabInputTextMerge?: abstract new (...args: never[]) => MergeTabInput }).TabInputTextMerge;

/** The tab's input if it is a merge editor's. */
export function mergeTabInput(tab: vscode.Tab | undefined): MergeTabInput | undefined {
  const input = tab?.input;
  return TabInputTextMerge !== undefined && input instanceof TabInputTextMerge ? input : undefined;
}

/** The URIs a tab shows: one for a text editor, two for a diff, four for a merge editor. */
export function tabUris(tab: vscode.Tab): vscode.Uri[] {
  const input = tab.input;
  if (input instanceof vscode.TabInputText) return [input.uri];
  if (input instanceof vscode.TabInputTextDiff) return [input.original, input.modified];
  const merge = mergeTabInput(tab);
  return merge ? [merge.base, merge.input1, merge.input2, merge.result] : [];
}

/**
 * The open tabs of one conflict: diffs and merge editors of its versions (their URIs name the run
 * and the path, see `conflictOfUri`) and editors of its merged file.
 */
export function conflictTabs(runId: string, path: string, mergeFile: string): vscode.Tab[] {
  const belongs = (uri: vscode.Uri) => {
    const of = conflictOfUri(uri);
    return of ? of.run === runId && of.path === path : uri.scheme === 'file' && samePath(uri.fsPath, mergeFile);
  };
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs.filter((tab) => tabUris(tab).some(belongs)));
}

/**
 * Closes the tabs of a conflict once it is resolved. A tab with unsaved changes stays: closing it
 * would ask the user whether to save a merge that no longer matters, and leaving it is harmless.
 */
export async function closeConflictTabs(runId: string, path: string, mergeFile: string): Promise<void> {
  const tabs = conflictTabs(runId, path, mergeFile).filter((tab) => !tab.isDirty);
  if (tabs.length === 0) return;
  // The workbench may still refuse (a confirmation the user cancels): the tabs then stay open.
  await Promise.resolve(vscode.window.tabGroups.close(tabs, true)).catch(() => undefined);
}

/**
 * Whether this VS Code has the 3-way merge editor's command: an internal one, so looked up, not
 * assumed (and with `getCommands(false)`: `true` leaves out the commands starting with `_`).
 */
let mergeEditorCommand: Promise<boolean> | undefined;
export function hasMergeEditor(): Promise<boolean> {
  mergeEditorCommand ??= Promise.resolve(vscode.commands.getCommands(false)).then(
    (all) => all.includes('_open.mergeEditor'),
    () => false,
  );
  return mergeEditorCommand;
}

/**
 * Calls `each` once for every editor of one of `uris` that is visible now or becomes visible
 * within `timeoutMs`, until every URI has one; editors of `before` are left out (those visible
 * before the command that opens the awaited editor: the merge editor's returns before it opens,
 * while an older editor of the same file may still show). Resolves when done.
 */
export function onVisibleEditorsOf(
  uris: readonly vscode.Uri[],
  each: (editor: vscode.TextEditor) => void,
  before: readonly vscode.TextEditor[] = [],
  timeoutMs = 5_000,
): Promise<void> {
  const waiting = new Set(uris.map((u) => u.toString()));
  const seen = new Set<vscode.TextEditor>(before);
  const look = () => {
    for (const editor of vscode.window.visibleTextEditors) {
      const key = editor.document.uri.toString();
      if (seen.has(editor) || !uris.some((u) => u.toString() === key)) continue;
      seen.add(editor);
      waiting.delete(key);
      each(editor);
    }
    return waiting.size === 0;
  };
  if (look()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      subscription.dispose();
      clearTimeout(timer);
      resolve();
    };
    const subscription = vscode.window.onDidChangeVisibleTextEditors(() => {
      if (look()) done();
    });
    const timer = setTimeout(done, timeoutMs);
  });
}

/**
 * Selects the line where the conflict is in an editor of one of its versions: the key of a
 * json-key conflict, the heading of a markdown-section one, and in a merged file without such a
 * place the first conflict marker. Returns the line selected, if any.
 */
export function revealConflict(editor: vscode.TextEditor, c: Pick<Conflict, 'kind' | 'location'>, markers = false): number | undefined {
  const text = editor.document.getText();
  const line = conflictLine(text, c) ?? (markers ? conflictMarkerLines(text)[0] : undefined);
  if (line === undefined || line >= editor.document.lineCount) return undefined;
  const range = editor.document.lineAt(line).range;
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return line;
}

/** A version of a conflicted file: the base's, or one of the two steps'. */
export type Side = 'base' | 'ours' | 'theirs';

export const stepOf = (c: Conflict, side: Side) => (side === 'base' ? 'base' : side === 'ours' ? c.steps[0] : c.steps[1]);

/** A read-only document of one version of a conflicted file; its query names the run and path, so that its tabs can be found. */
export function sideUri(entry: RunEntry, c: Conflict, side: Side): vscode.Uri {
  const label = stepOf(c, side);
  return contentUri(`${label}/${c.path}`, {
    type: 'blob',
    repo: entry.repoRoot,
    blob: c[side],
    label,
    run: entry.snapshot.runId,
    conflict: c.path,
  });
}

/** The result file of the active merge editor. */
export function activeMergeEditorResult(): vscode.Uri | undefined {
  return mergeTabInput(vscode.window.tabGroups.activeTabGroup.activeTab)?.result;
}

/** The file of the active tab: a text editor's, or a merge editor's result. */
export function activeMergeFile(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputText ? input.uri : activeMergeEditorResult();
}

/** How long a closed merge editor's save is waited for before its file is read as it is. */
const SAVE_WAIT_MS = 2_000;

/**
 * Resolves once the merge editor's result file is saved: its document is no longer dirty and the
 * file on disk has no conflict markers, or SAVE_WAIT_MS have passed (a merge closed without being
 * completed keeps its markers: it is then read as it is).
 */
export async function savedMergeFile(uri: vscode.Uri): Promise<void> {
  const deadline = Date.now() + SAVE_WAIT_MS;
  while (Date.now() < deadline) {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const content = doc?.isDirty ? undefined : await readRegularFile(uri.fsPath);
    if (content !== undefined && !hasConflictMarkers(content)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * What a resolution is followed by: how many conflicts remain, with Next Conflict, or that the
 * result is ready, with Apply and Create Branch.
 */
export function announceResolution(runId: string, file: string, how: string, remaining: number, next: () => Promise<void>): void {
  if (remaining > 0) {
    void vscode.window
      .showInformationMessage(
        `Tapps Flow: resolved ${file} with ${how}; ${plural(remaining, 'conflict')} ${remaining === 1 ? 'remains' : 'remain'} in this run.`,
        'Next Conflict',
      )
      .then((choice) => {
        if (choice) void next();
      });
    return;
  }
  void vscode.window
    .showInformationMessage(
      `Tapps Flow: resolved ${file} with ${how}. All conflicts are resolved: the run's result is ready to apply.`,
      'Apply',
      'Create Branch',
    )
    .then((choice) => {
      if (choice === 'Apply') void vscode.commands.executeCommand('tappsFlow.applyResult', runId);
      if (choice === 'Create Branch') void vscode.commands.executeCommand('tappsFlow.createBranch', runId);
    });
}
