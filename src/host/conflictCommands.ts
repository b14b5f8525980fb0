import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { Git } from '../core/git/git';
import type { Conflict } from '../core/state/events';
import { contentUri } from './contentProvider';
import { engine } from './lazyEngine';
import type { HostLog } from './log';
import type { RunEntry, RunsModel } from './runsModel';
import { conflictTitle, type RunsNode } from './runsTree';

type Side = 'base' | 'ours' | 'theirs';

function conflictOf(model: RunsModel, arg: unknown): { entry: RunEntry; conflict: Conflict } | undefined {
  const node = arg as Extract<RunsNode, { kind: 'conflict' }> | undefined;
  const entry = node?.runId ? model.get(node.runId) : undefined;
  const conflict = entry?.snapshot.conflicts[node?.index ?? -1];
  return entry && conflict ? { entry, conflict } : undefined;
}

/** A conflict of a run that may be acted on; a read-only run's is refused with its reason. */
function actionableConflict(model: RunsModel, arg: unknown): { entry: RunEntry; conflict: Conflict } | undefined {
  const found = conflictOf(model, arg);
  if (found?.entry.readOnly) {
    void vscode.window.showWarningMessage(`Tapps Flow: run ${found.entry.snapshot.runId} is read-only: ${found.entry.readOnly}.`);
    return undefined;
  }
  return found;
}

/**
 * Creates the folders of `file` below `base`, refusing a symlink on the way: the merged file is
 * written inside the run's state folder and nowhere else.
 */
async function mkdirInside(base: string, file: string): Promise<void> {
  let current = base;
  for (const part of path.relative(base, path.dirname(file)).split(path.sep).filter(Boolean)) {
    current = path.join(current, part);
    const stat = await lstat(current).catch(() => undefined);
    if (stat?.isSymbolicLink() || (stat && !stat.isDirectory()))
      throw new Error(`${current} is not a folder of the run's state; the merged version was not written`);
    if (!stat) await mkdir(current);
  }
}

function sideUri(entry: RunEntry, c: Conflict, side: Side) {
  const label = side === 'base' ? 'base' : side === 'ours' ? c.steps[0] : c.steps[1];
  return contentUri(`${label}/${c.path}`, { type: 'blob', repo: entry.repoRoot, blob: c[side], label });
}

/** Opens a diff editor of two versions of a conflicted path, built from the report's blob ids. */
export async function openConflictDiff(model: RunsModel, arg: unknown, left: Side, right: Side): Promise<void> {
  const found = conflictOf(model, arg);
  if (!found) return;
  const { entry, conflict: c } = found;
  const name = (s: Side) => (s === 'base' ? 'base' : s === 'ours' ? c.steps[0] : c.steps[1]);
  const title = left === 'ours' && right === 'theirs' ? conflictTitle(c) : `${c.path}: ${name(left)} ↔ ${name(right)}`;
  await vscode.commands.executeCommand('vscode.diff', sideUri(entry, c, left), sideUri(entry, c, right), title, { preview: false });
}

/** Folder where hand-merged versions are edited before they are marked resolved. */
function mergeFile(entry: RunEntry, c: Conflict): string {
  return path.join(entry.dir, 'merge', c.path);
}

/** Resolves by taking one step's version. */
export async function takeSide(model: RunsModel, log: HostLog, arg: unknown, side: 'ours' | 'theirs'): Promise<void> {
  const found = actionableConflict(model, arg);
  if (!found) return;
  const step = side === 'ours' ? found.conflict.steps[0] : found.conflict.steps[1];
  try {
    const r = await engine().resolveConflict(found.entry.repoRoot, found.entry.snapshot.runId, found.conflict.path, { take: step });
    log.info(`resolved ${found.conflict.path} in run ${found.entry.snapshot.runId}: took ${step}; ${r.remaining} conflict(s) remain`);
    await model.reload(found.entry.snapshot.runId);
  } catch (error) {
    log.showError(`Could not resolve ${found.conflict.path}`, error);
  }
}

/** Opens an editable merged version (both sides with conflict markers) for the user to finish. */
export async function editMerged(model: RunsModel, arg: unknown): Promise<void> {
  const found = actionableConflict(model, arg);
  if (!found) return;
  const { entry, conflict: c } = found;
  const git = new Git(entry.repoRoot);
  const read = async (blob: string | null) => (blob ? git.run(['cat-file', 'blob', blob]) : '');
  const [ours, theirs] = await Promise.all([read(c.ours), read(c.theirs)]);
  const file = mergeFile(entry, c);
  await mkdirInside(entry.dir, file);
  if (
    await lstat(file).then(
      (st) => !st.isFile(),
      () => false,
    )
  )
    throw new Error(`${file} is not a regular file; the merged version was not written`);
  await writeFile(
    file,
    `<<<<<<< ${c.steps[0]}\n${ours}${ours.endsWith('\n') || ours === '' ? '' : '\n'}=======\n${theirs}${theirs.endsWith('\n') || theirs === '' ? '' : '\n'}>>>>>>> ${c.steps[1]}\n`,
  );
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  await vscode.window.showTextDocument(doc, { preview: false });
  void vscode.window.showInformationMessage(
    `Edit the merged version of ${c.path}, then run "Tapps Flow: Resolve: Use the Edited Version".`,
  );
}

/** Uses the edited merged version as the resolution. */
export async function markResolved(model: RunsModel, log: HostLog, arg: unknown): Promise<void> {
  let found = actionableConflict(model, arg);
  if (!found) {
    // From the editor: the merged file being edited names its run and path.
    const active = vscode.window.activeTextEditor?.document.uri.fsPath;
    for (const entry of model.list()) {
      const index = entry.snapshot.conflicts.findIndex((c) => mergeFile(entry, c) === active);
      if (index >= 0) found = { entry, conflict: entry.snapshot.conflicts[index] };
    }
  }
  if (!found) {
    void vscode.window.showInformationMessage('Tapps Flow: open a merged version first (Resolve: Edit Merged Version… on a conflict).');
    return;
  }
  const file = mergeFile(found.entry, found.conflict);
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
  if (doc?.isDirty) await doc.save();
  const content = await readFile(file, 'utf8').catch(() => undefined);
  if (content === undefined) {
    void vscode.window.showWarningMessage(
      `Tapps Flow: no edited version of ${found.conflict.path} yet. Use "Resolve: Edit Merged Version…" first.`,
    );
    return;
  }
  if (/^(<<<<<<<|=======|>>>>>>>)( |$)/m.test(content)) {
    void vscode.window.showWarningMessage(`Tapps Flow: ${found.conflict.path} still has conflict markers; finish the merge first.`);
    return;
  }
  try {
    await engine().resolveConflict(found.entry.repoRoot, found.entry.snapshot.runId, found.conflict.path, { content });
    await model.reload(found.entry.snapshot.runId);
  } catch (error) {
    log.showError(`Could not resolve ${found.conflict.path}`, error);
  }
}
