import * as vscode from 'vscode';
import type { Resolution } from '../core/apply/resolveConflict';
import { hasConflictMarkers } from '../core/merge/mergeFile';
import { samePath } from '../core/util/paths';
import { plural } from '../core/util/words';
import {
  activeMergeEditorResult,
  activeMergeFile,
  announceResolution,
  closeConflictTabs,
  hasMergeEditor,
  mergesAsText,
  mergeTabInput,
  onVisibleEditorsOf,
  revealConflict,
  savedMergeFile,
  sideUri,
  stepOf,
  type Side,
} from './conflictEditors';
import { conflictOf, conflictOfMergeFile, isFound, type Found } from './conflictLookup';
import { engine } from './lazyEngine';
import type { HostLog } from './log';
import { keepsNeitherStep, mergeFilePath, prepareMergeFile, readRegularFile, rewriteMergeFile } from './mergedFile';
import type { RunsModel } from './runsModel';
import { conflictTitle } from './runsTree';

/**
 * The commands of a conflict (compare its versions, take one, merge them in VS Code's merge editor
 * or in a merged file) and what follows a resolution: the feedback, the model reloaded, the
 * conflict's tabs closed. It also watches the merge editors it opened: completing one (VS Code's
 * own Complete Merge saves the result and closes the editor) resolves the conflict.
 */
export class ConflictCommands implements vscode.Disposable {
  /** Resolutions from a merged file under way, by run and path: the closed tab and our own Complete Merge may both ask. */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly model: RunsModel,
    private readonly log: HostLog,
  ) {
    this.subscription = vscode.window.tabGroups.onDidChangeTabs((e) => {
      for (const tab of e.closed) {
        const merge = mergeTabInput(tab);
        if (merge) this.mergeEditorClosed(merge.result);
      }
    });
  }

  dispose(): void {
    this.subscription.dispose();
  }

  /** Opens a diff editor of two versions of a conflicted path, at the conflict's key or section. */
  async compare(arg: unknown, left: Side, right: Side): Promise<void> {
    const found = conflictOf(this.model, arg);
    if (found) await this.compareFor(found, left, right);
  }

  /** Compares the base with the version of `step`, asked for when not given. */
  async compareWithBase(arg: unknown, step?: unknown): Promise<void> {
    const found = conflictOf(this.model, arg);
    if (!found) return;
    const c = found.conflict;
    const items = (['ours', 'theirs'] as const).map((side) => ({ label: `Compare base ↔ ${stepOf(c, side)}`, side }));
    const picked =
      step === undefined
        ? await vscode.window.showQuickPick(items, { title: `Tapps Flow: Compare a Version of ${c.path} with the Base` })
        : items.find((i) => stepOf(c, i.side) === step);
    if (picked) await this.compareFor(found, 'base', picked.side);
  }

  /**
   * The conflict's choices, naming its steps: take either version, merge them in the merge editor
   * or in a merged file. `choice` picks one without asking (for other extensions and tests):
   * `take:<step>`, `merge`, `edit` or `merged-file`.
   */
  async resolve(arg: unknown, choice?: unknown): Promise<void> {
    const found = this.actionable(arg);
    if (!found) return;
    const { entry, conflict: c } = found;
    type Choice = vscode.QuickPickItem & { readonly id: string; readonly run: () => Promise<unknown> };
    const items: Choice[] = (['ours', 'theirs'] as const).map((side) => ({
      id: `take:${stepOf(c, side)}`,
      label: `Take ${stepOf(c, side)}'s Version`,
      description: c[side] === null ? 'deletes the file' : side === 'ours' ? 'the version the result holds now' : undefined,
      run: () => this.take(found, side),
    }));
    if (mergesAsText(c.kind))
      items.push({
        id: 'merge',
        label: 'Open in Merge Editor',
        description: 'pick or combine the changes of each hunk',
        run: () => this.openMergeFor(found),
      });
    if (c.kind !== 'binary')
      items.push({
        id: 'edit',
        label: 'Edit Merged File',
        description: 'only the conflicting hunks are marked',
        run: () => this.editMergedFor(found),
      });
    if ((await readRegularFile(mergeFilePath(entry, c))) !== undefined)
      items.push({
        id: 'merged-file',
        label: 'Resolve with the Merged File',
        description: 'as you saved it',
        run: () => this.markResolved(found),
      });
    const picked =
      choice === undefined
        ? await vscode.window.showQuickPick(items, {
            title: `Tapps Flow: Resolve ${c.path}`,
            placeHolder: `${c.steps[0]} and ${c.steps[1]} changed it in ways that could not be combined`,
          })
        : items.find((i) => i.id === choice);
    if (picked) await picked.run();
  }

  /** Asks which step's version to take. */
  async takeVersion(arg: unknown): Promise<void> {
    const found = this.actionable(arg);
    if (!found) return;
    const c = found.conflict;
    const picked = await vscode.window.showQuickPick(
      (['ours', 'theirs'] as const).map((side) => ({
        label: `Take ${stepOf(c, side)}'s Version`,
        description: c[side] === null ? 'deletes the file' : undefined,
        side,
      })),
      { title: `Tapps Flow: Resolve ${c.path}` },
    );
    if (picked) await this.take(found, picked.side);
  }

  /** Resolves by taking one step's version (the conflict of a node, or one already found). */
  async take(arg: unknown, side: 'ours' | 'theirs'): Promise<void> {
    const found = isFound(arg) ? arg : this.actionable(arg);
    if (!found) return;
    const step = stepOf(found.conflict, side);
    await this.resolveWith(found, { take: step }, `${step}'s version`);
  }

  /** Opens the conflict in VS Code's 3-way merge editor (or, without one, its versions beside a merged file). */
  async openMerge(arg: unknown): Promise<void> {
    const found = this.actionable(arg);
    if (found) await this.openMergeFor(found);
  }

  /** Opens the merged file, only its conflicting hunks between markers, for the user to finish by hand. */
  async editMerged(arg: unknown): Promise<void> {
    const found = this.actionable(arg);
    if (found) await this.editMergedFor(found);
  }

  /** Resolves with the merged file: of a conflict node, of the editor's file (title button), or of the active tab. */
  async markResolved(arg: unknown): Promise<void> {
    const found = this.actionable(arg ?? activeMergeFile());
    if (!found) {
      if (arg === undefined)
        void vscode.window.showInformationMessage(
          'Tapps Flow: open the merged file of a conflict first: Resolve… on a conflict in the Tapps Flow view, then Edit Merged File.',
        );
      return;
    }
    const file = mergeFilePath(found.entry, found.conflict);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && samePath(d.uri.fsPath, file));
    if (doc?.isDirty) await doc.save();
    await this.resolveWithFile(found, 'file');
  }

  /** Completes the merge in the active merge editor (VS Code's Complete Merge) and resolves the conflict with its result. */
  async completeMerge(arg: unknown): Promise<void> {
    const result = arg instanceof vscode.Uri ? arg : activeMergeEditorResult();
    const found = result ? this.actionable(result) : undefined;
    if (!found) {
      if (!result)
        void vscode.window.showInformationMessage(
          'Tapps Flow: open a conflict in the merge editor first: Resolve… on a conflict in the Tapps Flow view, then Open in Merge Editor.',
        );
      return;
    }
    const accepted = await vscode.commands.executeCommand<{ successful?: boolean } | undefined>('mergeEditor.acceptMerge');
    // Not accepted: the user kept the editor open at its question about unhandled conflicts.
    if (!accepted?.successful) return;
    // The closed tab has started the resolution already (see mergeEditorClosed): this joins it.
    await this.resolveWithFile(found, 'merge-editor');
  }

  private async compareFor(found: Found, left: Side, right: Side): Promise<void> {
    const { entry, conflict: c } = found;
    const title = left === 'ours' && right === 'theirs' ? conflictTitle(c) : `${c.path}: ${stepOf(c, left)} ↔ ${stepOf(c, right)}`;
    const uris = [sideUri(entry, c, left), sideUri(entry, c, right)];
    await vscode.commands.executeCommand('vscode.diff', uris[0], uris[1], title, { preview: false });
    if (c.location !== undefined) await onVisibleEditorsOf(uris, (editor) => revealConflict(editor, c));
  }

  private async openMergeFor(found: Found): Promise<void> {
    const { entry, conflict: c } = found;
    if (!mergesAsText(c.kind)) {
      void vscode.window.showInformationMessage(
        `Tapps Flow: ${c.path} cannot be merged line by line (${c.detail}). Compare the two versions, then take one with Resolve….`,
      );
      await this.compareFor(found, 'ours', 'theirs');
      return;
    }
    const file = await prepareMergeFile(found.entry, c);
    if (!(await hasMergeEditor())) {
      await this.compareFor(found, 'ours', 'theirs');
      await this.showMergedFile(found, file, vscode.ViewColumn.Beside);
      void vscode.window.showInformationMessage(
        `Tapps Flow: this editor has no 3-way merge editor. The two versions of ${c.path} are side by side, and its merged file beside them: only the conflicting hunks are between markers. Edit it, then click ✓ (Resolve with the Merged File) in its title bar.`,
      );
      return;
    }
    const input = (side: 'ours' | 'theirs') => ({
      uri: sideUri(entry, c, side),
      title: stepOf(c, side),
      description: side === 'ours' ? 'the version the result holds now' : undefined,
    });
    this.log.info(`opening ${c.path} of run ${entry.snapshot.runId} in the merge editor (result: ${file})`);
    const before = [...vscode.window.visibleTextEditors];
    await vscode.commands.executeCommand('_open.mergeEditor', {
      base: sideUri(entry, c, 'base'),
      input1: input('ours'),
      input2: input('theirs'),
      output: vscode.Uri.file(file),
    });
    if (c.location === undefined) return;
    // The merge editor opens after its command returns, and may not show each of its editors to
    // extensions: they are watched for a while, not awaited.
    void onVisibleEditorsOf(
      [vscode.Uri.file(file), sideUri(entry, c, 'ours'), sideUri(entry, c, 'theirs')],
      (editor) => revealConflict(editor, c),
      before,
    );
  }

  private async editMergedFor(found: Found): Promise<void> {
    const c = found.conflict;
    if (c.kind === 'binary') {
      void vscode.window.showInformationMessage(`Tapps Flow: ${c.path} is a binary file: take one step's version with Resolve….`);
      return;
    }
    const file = await prepareMergeFile(found.entry, c);
    await this.showMergedFile(found, file);
    void vscode.window.showInformationMessage(
      `Tapps Flow: in the merged file of ${c.path}, only the hunks both steps changed are between conflict markers. Keep what you want, remove the markers, then click ✓ (Resolve with the Merged File) in the editor's title bar.`,
    );
  }

  private async showMergedFile(found: Found, file: string, viewColumn?: vscode.ViewColumn): Promise<void> {
    const editor = await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false, viewColumn });
    revealConflict(editor, found.conflict, true);
  }

  /** A merge editor closed: if it was one of a conflict's, and no other tab shows it, its saved result resolves the conflict. */
  private mergeEditorClosed(result: vscode.Uri): void {
    if (result.scheme !== 'file') return;
    // Moved to another group, or open twice: the merge goes on there.
    const stillOpen = vscode.window.tabGroups.all.some((g) =>
      g.tabs.some((t) => mergeTabInput(t)?.result.toString() === result.toString()),
    );
    if (stillOpen) return;
    const found = conflictOfMergeFile(this.model, result.fsPath);
    if (!found || found.entry.readOnly) return;
    // The merge editor closes its tab while its result is still being saved: the file is read
    // once that save is done (or once the file has no markers left), never before.
    void savedMergeFile(result).then(() => this.resolveWithFile(found, 'merge-editor'));
  }

  /** Resolves a conflict with its merged file, once at a time per conflict. */
  private resolveWithFile(found: Found, via: 'merge-editor' | 'file'): Promise<void> {
    const key = `${found.entry.snapshot.runId}\0${found.conflict.path}`;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.resolveWithFileNow(found, via)
        .catch((error: unknown) => this.log.showError(`Tapps Flow could not resolve ${found.conflict.path}`, error))
        .finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return pending;
  }

  private async resolveWithFileNow(found: Found, via: 'merge-editor' | 'file'): Promise<void> {
    const runId = found.entry.snapshot.runId;
    // As the model knows it now: resolved meanwhile (another way, or by the other caller), nothing is left to do.
    const current = this.model.get(runId)?.snapshot.conflicts.find((c) => c.path === found.conflict.path);
    if (!current) return;
    const c = found.conflict;
    const content = await readRegularFile(mergeFilePath(found.entry, c));
    if (content === undefined) {
      void vscode.window.showWarningMessage(
        `Tapps Flow: there is no merged file of ${c.path} yet. Choose Edit Merged File or Open in Merge Editor on the conflict first.`,
      );
      return;
    }
    const reopen = (message: string) =>
      void vscode.window.showWarningMessage(message, 'Open in Merge Editor').then((choice) => {
        if (choice) void this.openMergeFor(found).catch((error: unknown) => this.log.showError('Tapps Flow: Open in Merge Editor', error));
      });
    if (hasConflictMarkers(content)) {
      reopen(
        via === 'merge-editor'
          ? `Tapps Flow: the merge of ${c.path} was closed without being completed, so the conflict remains. Open it again to finish it, then click Complete Merge and Resolve in its title bar.`
          : `Tapps Flow: ${c.path} still has conflict markers, so it was not resolved. Keep what you want of each marked hunk, remove the markers, then resolve again.`,
      );
      return;
    }
    const how = via === 'merge-editor' ? 'the merge you completed' : 'the merged file';
    if (await keepsNeitherStep(found.entry, c, content)) {
      // Started over, so that the file and the merge editor show the conflict again; the text
      // is kept here in case the user does want it.
      await rewriteMergeFile(found.entry, c);
      // Asked, not awaited: the question stays in the notification center until answered.
      void vscode.window
        .showWarningMessage(
          `Tapps Flow: the merge of ${c.path} keeps neither step's change where they conflict (it was completed or saved "with conflicts"), so the conflict remains and the merged file has its conflict markers back. Resolve with it anyway?`,
          'Open in Merge Editor',
          'Resolve Anyway',
        )
        .then((choice) => {
          const next =
            choice === 'Resolve Anyway' ? this.resolveWith(found, { content }, how) : choice ? this.openMergeFor(found) : undefined;
          void next?.catch((error: unknown) => this.log.showError(`Tapps Flow could not resolve ${c.path}`, error));
        });
      return;
    }
    await this.resolveWith(found, { content }, how);
  }

  /** Resolves, then says so, reloads the run and closes the conflict's tabs. */
  private async resolveWith(found: Found, resolution: Resolution, how: string): Promise<void> {
    const { entry, conflict: c } = found;
    const runId = entry.snapshot.runId;
    let remaining: number;
    try {
      remaining = (await engine().resolveConflict(entry.repoRoot, runId, c.path, resolution)).remaining;
    } catch (error) {
      this.log.showError(`Tapps Flow could not resolve ${c.path}`, error);
      return;
    }
    this.log.info(`resolved ${c.path} in run ${runId} with ${how}; ${plural(remaining, 'conflict')} left`);
    await this.model.reload(runId);
    await closeConflictTabs(runId, c.path, mergeFilePath(entry, c));
    announceResolution(runId, c.path, how, remaining, () =>
      this.openNext(runId).catch((error: unknown) => this.log.showError('Tapps Flow: Next Conflict', error)),
    );
  }

  /** Opens the run's first remaining conflict as clicking it does. */
  private async openNext(runId: string): Promise<void> {
    const entry = this.model.get(runId);
    const conflict = entry?.snapshot.conflicts[0];
    if (!entry || !conflict) return;
    if (mergesAsText(conflict.kind) && !entry.readOnly) await this.openMergeFor({ entry, conflict });
    else await this.compareFor({ entry, conflict }, 'ours', 'theirs');
  }

  /** A conflict that may be acted on; a read-only run's is refused with its reason. */
  private actionable(arg: unknown): Found | undefined {
    const found = conflictOf(this.model, arg);
    if (found?.entry.readOnly) {
      void vscode.window.showWarningMessage(
        `Tapps Flow: the conflicts of run ${found.entry.snapshot.runId} cannot be resolved here: ${found.entry.readOnly}.`,
      );
      return undefined;
    }
    return found;
  }
}
