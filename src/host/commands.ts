import path from 'node:path';
import * as vscode from 'vscode';
import { Git } from '../core/git/git';
import type { RunSnapshot } from '../core/state/snapshot';
import { applyWithConfirmation } from './applyResult';
import { engine } from './lazyEngine';
import { editMerged, markResolved, openConflictDiff, takeSide } from './conflictCommands';
import { contentUri } from './contentProvider';
import type { HostLog } from './log';
import { runFrom, stepFrom } from './pickers';
import type { RunController } from './runController';
import type { RunsModel } from './runsModel';
import type { RunsNode } from './runsTree';
import type { WorkflowDiagnostics } from './workflowDiagnostics';
import { restoreMyFiles } from './restoreFiles';
import { requireTrust } from './trust';
import { pickWorkflowFile } from './workflowFiles';

const hasResult = (s: RunSnapshot) => s.aggregate !== null && s.status !== 'running';

/** What each command that runs git or writes files does, in the words of its refusal when the workspace is untrusted. */
const NEEDS_TRUST: Readonly<Record<string, string>> = {
  applyResult: 'apply a result',
  createBranch: 'create a branch',
  cleanUpRuns: 'clean up runs',
  openConflictDiff: 'show the versions of a conflict',
  openConflictBaseOurs: 'show the versions of a conflict',
  openConflictBaseTheirs: 'show the versions of a conflict',
  openChangedFile: "show a step's change",
  resolveTakeOurs: 'resolve a conflict',
  resolveTakeTheirs: 'resolve a conflict',
  resolveEditMerged: 'resolve a conflict',
  markResolved: 'resolve a conflict',
  restoreMyFiles: 'restore files',
};

/** Registers every command; each works from the tree's context and, from the palette, asks. */
export function registerCommands(
  model: RunsModel,
  runs: RunController,
  diagnostics: WorkflowDiagnostics,
  log: HostLog,
): vscode.Disposable[] {
  /**
   * Registers a command whose errors become one notification. `trust` names what it does for the
   * refusal in an untrusted workspace, where nothing that runs git or writes a file may run.
   */
  const guard = (name: string, fn: (...args: unknown[]) => Promise<unknown>, trust = NEEDS_TRUST[name]) =>
    vscode.commands.registerCommand(`tappsFlow.${name}`, async (...args: unknown[]) => {
      try {
        if (trust !== undefined && !requireTrust(log, trust)) return undefined;
        return await fn(...args);
      } catch (error) {
        log.showError(`Tapps Flow: ${name}`, error);
        return undefined;
      }
    });

  const run = (sequential: boolean) => async (arg?: unknown) => {
    const file = arg instanceof vscode.Uri ? arg : await pickWorkflowFile(sequential ? 'Run Workflow Sequentially' : 'Run Workflow');
    if (!file) return undefined;
    const started = await runs.start(file, sequential);
    return started?.runId;
  };

  return [
    guard('runWorkflow', run(false)),
    guard('runWorkflowSequentially', run(true)),
    guard('cancelRun', async (arg) => {
      const entry = await runFrom(model, arg, (e) => e.snapshot.status === 'running', 'Cancel Run', true);
      if (entry) await runs.cancel(entry.snapshot.runId);
    }),
    guard('cancelStep', async (arg) => {
      const found = await stepFrom(model, arg, (s) => ['pending', 'queued', 'running'].includes(s.status), 'Cancel Step', true);
      if (found) await runs.cancel(found.entry.snapshot.runId, found.step.id);
    }),
    guard('resumeRun', async (arg) => {
      const entry = await runFrom(
        model,
        arg,
        (e) => ['interrupted', 'failed', 'cancelled'].includes(e.snapshot.status),
        'Resume Run',
        true,
      );
      if (!entry) return undefined;
      return (await runs.resume(entry.repoRoot, entry.snapshot.runId))?.runId;
    }),
    guard('applyResult', async (arg) => {
      const entry = await runFrom(model, arg, (e) => hasResult(e.snapshot), 'Apply Result', true);
      if (!entry) return undefined;
      const result = await applyWithConfirmation(entry.repoRoot, entry.snapshot.runId);
      if (!result) return undefined;
      // Apply wrote these in the checkout for the user: a run of this window watching it must not take them for a step's.
      for (const e of model.list()) for (const p of result.changed) e.live?.noteUserWrite(path.join(entry.repoRoot, p));
      await model.reload(entry.snapshot.runId);
      const show = result.partial ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
      void show(`Tapps Flow: ${result.message}`);
      return result.changed;
    }),
    guard('createBranch', async (arg) => {
      const entry = await runFrom(model, arg, (e) => hasResult(e.snapshot), 'Create Branch from Result', true);
      if (!entry) return undefined;
      const name = await vscode.window.showInputBox({
        title: 'Tapps Flow: Create Branch from Result',
        value: `tapps/${entry.snapshot.runId}`,
        prompt: "Name of the new branch (it points at the run's aggregate commit)",
      });
      if (!name) return undefined;
      const result = await engine().branchFromResult(entry.repoRoot, entry.snapshot.runId, name);
      void vscode.window.showInformationMessage(
        `Tapps Flow: created branch ${name}${result.unresolved > 0 ? ` (${result.unresolved} conflict(s) unresolved: the earlier step's versions are in it)` : ''}.`,
      );
      const links = result.symlinksOut.map((l) => `${l.path} → ${l.target}`);
      if (links.length > 0)
        void vscode.window.showWarningMessage(
          `Tapps Flow: branch ${name} holds symbolic links pointing outside the repository: ${links.slice(0, 5).join(', ')}${links.length > 5 ? ', …' : ''}. Nothing was written in your working tree; checking the branch out writes them.`,
        );
      return result.ref;
    }),
    guard('showStepLog', async (arg) => {
      const found = await stepFrom(model, arg, (s) => s.startedAt !== null || s.status !== 'pending', 'Show Step Log');
      if (!found) return;
      const file = path.join(found.entry.dir, found.step.log);
      const doc = await vscode.workspace.openTextDocument(contentUri(`${found.step.id}.log`, { type: 'log', file }));
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
    guard('openStepWorktree', async (arg) => {
      const found = await stepFrom(model, arg, (s) => s.worktree !== null, 'Open Step Worktree');
      if (found?.step.worktree)
        await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(found.step.worktree), { forceNewWindow: true });
    }),
    guard('openConflictReport', async (arg) => {
      const entry = await runFrom(model, arg, (e) => hasResult(e.snapshot), 'Open Conflict Report');
      if (entry) await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(path.join(entry.dir, 'conflicts.md')));
    }),
    guard('cleanUpRuns', async () => {
      const roots = model.repoRoots;
      if (roots.length === 0) return;
      const previews = await Promise.all(roots.map((r) => engine().cleanup(r, { dryRun: true })));
      const count = previews.reduce((n, p) => n + p.runs.length + p.orphanedWorktrees.length, 0);
      if (count === 0) {
        void vscode.window.showInformationMessage('Tapps Flow: nothing to clean up (the newest 5 finished runs are kept).');
        return;
      }
      const ok = await vscode.window.showWarningMessage(
        `Tapps Flow: remove ${count} old run(s) and worktree(s)? Uncaptured changes are saved to archive refs first.`,
        { modal: true },
        'Clean Up',
      );
      if (ok !== 'Clean Up') return;
      for (const r of roots) await engine().cleanup(r, {});
      await model.reload();
    }),
    guard('validateWorkflow', async (arg) => {
      const file =
        arg instanceof vscode.Uri
          ? arg
          : (vscode.window.activeTextEditor?.document.uri ?? (await pickWorkflowFile('Validate Workflow File')));
      if (!file) return undefined;
      const problems = await diagnostics.validate(await vscode.workspace.openTextDocument(file));
      if (problems === 0) void vscode.window.showInformationMessage(`Tapps Flow: ${vscode.workspace.asRelativePath(file)} is valid.`);
      else await vscode.commands.executeCommand('workbench.actions.view.problems');
      return problems;
    }),
    guard('refresh', () => model.reload()),
    guard('restoreMyFiles', async (arg) => {
      const entry = await runFrom(model, arg, (e) => e.snapshot.escaped && e.snapshot.status !== 'running', 'Restore My Files', true);
      return entry ? restoreMyFiles(model, log, entry) : undefined;
    }),
    guard('openConflictDiff', (arg) => openConflictDiff(model, arg, 'ours', 'theirs')),
    guard('openConflictBaseOurs', (arg) => openConflictDiff(model, arg, 'base', 'ours')),
    guard('openConflictBaseTheirs', (arg) => openConflictDiff(model, arg, 'base', 'theirs')),
    guard('resolveTakeOurs', (arg) => takeSide(model, log, arg, 'ours')),
    guard('resolveTakeTheirs', (arg) => takeSide(model, log, arg, 'theirs')),
    guard('resolveEditMerged', (arg) => editMerged(model, arg)),
    guard('markResolved', (arg) => markResolved(model, log, arg)),
    guard('openChangedFile', async (arg) => {
      const node = arg as Extract<RunsNode, { kind: 'changed' }>;
      const entry = model.get(node.runId);
      const step = entry?.snapshot.steps.find((s) => s.id === node.stepId);
      if (!entry || !step?.result || !step.base) return;
      const git = new Git(entry.repoRoot);
      const blobAt = (commit: string) => git.line(['rev-parse', '--verify', '--quiet', `${commit}:${node.path}`]).catch(() => null);
      const [before, after] = await Promise.all([blobAt(step.base), blobAt(step.result)]);
      const left = contentUri(`base/${node.path}`, { type: 'blob', repo: entry.repoRoot, blob: before, label: 'base' });
      const right = contentUri(`${step.id}/${node.path}`, { type: 'blob', repo: entry.repoRoot, blob: after, label: step.id });
      await vscode.commands.executeCommand('vscode.diff', left, right, `${node.path}: base ↔ ${step.id}`, { preview: true });
    }),
  ];
}
