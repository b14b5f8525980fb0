import path from 'node:path';
import * as vscode from 'vscode';
import { stat } from 'node:fs/promises';
import { Git } from '../core/git/git';
import { listed, plural } from '../core/util/words';
import type { RunSnapshot } from '../core/state/snapshot';
import type { CleanupReport } from '../core/cleanup/cleanup';
import { applyWithConfirmation } from './applyResult';
import { engine } from './lazyEngine';
import { ConflictCommands } from './conflictCommands';
import { CHECK_ACTIONS, CheckCommands } from './checkCommands';
import { contentUri } from './contentProvider';
import type { HostLog } from './log';
import { runFrom, stepFrom } from './pickers';
import type { RunController } from './runController';
import type { RunsModel } from './runsModel';
import { startTime, type RunsNode, type RunsTreeProvider } from './runsTree';
import type { WorkflowDiagnostics } from './workflowDiagnostics';
import { restoreMyFiles } from './restoreFiles';
import { requireTrust } from './trust';
import { pickWorkflowFile } from './workflowFiles';
import { readDefaults } from './settings';
import { editorMessage } from './editorText';

const hasResult = (s: RunSnapshot) => s.aggregate !== null && s.status !== 'running';
/** A run that resume can take further: it stopped early, or some step's result is missing (a step was cancelled). */
const resumable = (s: RunSnapshot) =>
  ['interrupted', 'failed', 'cancelled'].includes(s.status) || (s.status !== 'running' && s.steps.some((x) => x.status !== 'succeeded'));

/** The steps a partial result lacks, with how each ended: "api-docs (cancelled), lint (failed)". */
function lacking(s: RunSnapshot): string {
  return listed(s.steps.filter((x) => x.status !== 'succeeded').map((x) => `${x.id} (${x.status.replace('_', ' ')})`));
}

/** What a command does, in the words of its failure and refusal; `trust`: it runs git or writes files. */
interface Action {
  readonly does: string;
  readonly trust?: true;
}

const RESOLVE: { readonly does: string; readonly trust: true } = { does: 'resolve the conflict', trust: true };
const SHOW_VERSIONS: { readonly does: string; readonly trust: true } = { does: 'show the versions of the conflict', trust: true };
/** The conflict commands (see conflictCommands.ts): each runs git. */
const CONFLICT_ACTIONS = {
  openConflictDiff: SHOW_VERSIONS,
  openConflictWithBase: SHOW_VERSIONS,
  openConflictBaseOurs: SHOW_VERSIONS,
  openConflictBaseTheirs: SHOW_VERSIONS,
  openConflictMerge: { does: 'open the conflict in the merge editor', trust: true },
  resolveConflict: RESOLVE,
  resolveTakeVersion: RESOLVE,
  resolveTakeOurs: RESOLVE,
  resolveTakeTheirs: RESOLVE,
  resolveEditMerged: RESOLVE,
  markResolved: RESOLVE,
  completeMerge: { does: 'complete the merge', trust: true },
} as const;

/**
 * What each command does, in the words of its failure ("Tapps Flow could not apply the result")
 * and, where `trust` is set, of its refusal in an untrusted workspace, where nothing that runs
 * git or writes a file may run.
 */
const ACTIONS = {
  runWorkflow: { does: 'run the workflow' },
  runWorkflowSequentially: { does: 'run the workflow' },
  runAgain: { does: 'run the workflow again' },
  cancelRun: { does: 'cancel the run' },
  cancelStep: { does: 'cancel the step' },
  resumeRun: { does: 'resume the run' },
  applyResult: { does: 'apply the result', trust: true },
  createBranch: { does: 'create the branch', trust: true },
  deleteRun: { does: 'delete the run', trust: true },
  removeWorktree: { does: "remove the step's worktree", trust: true },
  showStepLog: { does: "show the step's log" },
  openStepWorktree: { does: "open the step's worktree" },
  openConflictReport: { does: 'open the conflict report' },
  showConflicts: { does: "show the run's conflicts" },
  cleanUpRuns: { does: 'clean up runs', trust: true },
  validateWorkflow: { does: 'check the workflow file' },
  refresh: { does: 'refresh the runs' },
  restoreMyFiles: { does: 'restore your files', trust: true },
  openChangedFile: { does: "show the step's change", trust: true },
  ...CONFLICT_ACTIONS,
  ...CHECK_ACTIONS,
} satisfies Readonly<Record<string, Action>>;

async function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    (st) => st.isFile(),
    () => false,
  );
}

/** Registers every command; each works from the tree's context and, from the palette, asks. */
export function registerCommands(
  model: RunsModel,
  runs: RunController,
  diagnostics: WorkflowDiagnostics,
  log: HostLog,
  view: vscode.TreeView<RunsNode>,
  tree: RunsTreeProvider,
): vscode.Disposable[] {
  /**
   * Registers a command whose errors become one notification. `trust` names what it does for the
   * refusal in an untrusted workspace, where nothing that runs git or writes a file may run.
   */
  const guard = (name: keyof typeof ACTIONS, fn: (...args: unknown[]) => Promise<unknown>) =>
    vscode.commands.registerCommand(`tappsFlow.${name}`, async (...args: unknown[]) => {
      const action: Action = ACTIONS[name];
      try {
        if (action.trust && !requireTrust(log, action.does)) return undefined;
        return await fn(...args);
      } catch (error) {
        log.showError(`Tapps Flow could not ${action.does}`, error);
        return undefined;
      }
    });

  const run = (sequential: boolean) => async (arg?: unknown) => {
    const file = arg instanceof vscode.Uri ? arg : await pickWorkflowFile(sequential ? 'Run Workflow Sequentially' : 'Run Workflow');
    if (!file) return undefined;
    const started = await runs.start(file, sequential);
    return started?.runId;
  };

  const conflicts = new ConflictCommands(model, log);
  /** Apply wrote these in the checkout for the user: a run of this window watching it must not take them for a step's. */
  const userWrote = (repoRoot: string, paths: readonly string[]) => {
    for (const e of model.list()) for (const p of paths) e.live?.noteUserWrite(path.join(repoRoot, p));
  };
  const checks = new CheckCommands(model, userWrote);
  return [
    conflicts,
    guard('runWorkflow', run(false)),
    guard('runWorkflowSequentially', run(true)),
    guard('cancelRun', async (arg) => {
      const entry = await runFrom(model, arg, (e) => e.snapshot.status === 'running', 'Cancel Run', true);
      if (entry) await runs.cancel(entry.snapshot.runId);
    }),
    guard('cancelStep', async (arg) => {
      const found = await stepFrom(
        model,
        arg,
        (s) => ['pending', 'queued', 'setting_up', 'running'].includes(s.status),
        'Cancel Step',
        true,
      );
      if (found) await runs.cancel(found.entry.snapshot.runId, found.step.id);
    }),
    guard('resumeRun', async (arg) => {
      const entry = await runFrom(model, arg, (e) => resumable(e.snapshot), 'Resume Run', true);
      if (!entry) return undefined;
      const resolved = entry.snapshot.resolutions.length;
      if (resolved > 0) {
        const ok = await vscode.window.showWarningMessage(
          `Resume ${entry.snapshot.workflow.name}?`,
          {
            modal: true,
            detail: `The steps that did not succeed run again and a new result is folded: your ${plural(resolved, 'resolved conflict')} ${resolved === 1 ? 'is' : 'are'} dropped, and come back if they arise again.`,
          },
          'Resume',
        );
        if (ok !== 'Resume') return undefined;
      }
      return (await runs.resume(entry.repoRoot, entry.snapshot.runId))?.runId;
    }),
    guard('applyResult', async (arg) => {
      const entry = await runFrom(model, arg, (e) => hasResult(e.snapshot), 'Apply Result', true);
      if (!entry) return undefined;
      if (entry.snapshot.aggregate?.partial) {
        const ok = await vscode.window.showWarningMessage(
          `Apply a partial result of ${entry.snapshot.workflow.name}?`,
          {
            modal: true,
            detail: `It lacks what ${lacking(entry.snapshot)} would have done; the other steps' changes are applied. You can resume the run to complete it instead.`,
          },
          'Apply Partial Result',
        );
        if (ok !== 'Apply Partial Result') return undefined;
      }
      if (entry.snapshot.status === 'checks_failed') {
        const failing = listed(entry.snapshot.culprits.map((c) => c.check));
        const choice = await vscode.window.showWarningMessage(
          `The result of ${entry.snapshot.workflow.name} fails ${failing}. Apply it anyway?`,
          {
            modal: true,
            detail: entry.snapshot.alternative
              ? `The result without ${listed(entry.snapshot.alternative.leftOut)} passes every check; it lacks their changes.`
              : 'No result without some of the steps passes every check.',
          },
          'Apply Anyway',
          ...(entry.snapshot.alternative ? ['Apply Passing Alternative'] : []),
        );
        if (choice === 'Apply Passing Alternative') return checks.applyAlternative(entry.snapshot.runId, { confirmed: true });
        if (choice !== 'Apply Anyway') return undefined;
      }
      const result = await applyWithConfirmation(entry.repoRoot, entry.snapshot.runId);
      if (!result) return undefined;
      userWrote(entry.repoRoot, result.changed);
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
        `Tapps Flow: created branch ${name}${result.unresolved > 0 ? ` (${plural(result.unresolved, 'conflict')} unresolved: the first step's versions are in it)` : ''}.`,
      );
      if (entry.snapshot.status === 'checks_failed')
        void vscode.window.showWarningMessage(
          `Tapps Flow: branch ${name} holds a result that fails ${listed(entry.snapshot.culprits.map((c) => c.check))}.${entry.snapshot.alternative ? ` Create Branch from Passing Alternative makes one without ${listed(entry.snapshot.alternative.leftOut)}.` : ''}`,
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
      // A run on workers whose engine died left refs on the team remote: the user's own remote, never the run's word.
      const teamRemote = readDefaults().queueRemote;
      const previews = await Promise.all(roots.map((r) => engine().cleanup(r, { dryRun: true, teamRemote })));
      const count = previews.reduce((n, p) => n + p.runs.length + p.orphanedWorktrees.length, 0);
      const sayKept = (reports: ReadonlyArray<{ readonly skipped: CleanupReport['skipped'] }>) => {
        const kept = reports.flatMap((p) => p.skipped.filter((k) => k.teamRemote));
        if (kept.length > 0)
          void vscode.window.showWarningMessage(
            `Tapps Flow: ${kept.map((k) => `run ${k.runId} is kept: ${editorMessage(k.reason)}`).join('. ')}.`,
          );
      };
      if (count === 0) {
        void vscode.window.showInformationMessage('Tapps Flow: nothing to clean up (the newest 5 finished runs are kept).');
        sayKept(previews);
        return;
      }
      const ok = await vscode.window.showWarningMessage(
        `Tapps Flow: remove ${plural(count, 'old run or worktree', 'old runs and worktrees')}? Uncaptured changes are saved to archive refs first.`,
        { modal: true },
        'Clean Up',
      );
      if (ok !== 'Clean Up') return;
      const done = [];
      for (const r of roots) done.push(await engine().cleanup(r, { teamRemote }));
      await model.reload();
      sayKept(done);
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
    guard('runAgain', async (arg) => {
      const entry = await runFrom(model, arg, (e) => e.snapshot.status !== 'running', 'Run Again');
      if (!entry) return undefined;
      const file = path.resolve(entry.repoRoot, entry.snapshot.workflow.file);
      if (!(await fileExists(file))) {
        void vscode.window.showWarningMessage(
          `Tapps Flow: the workflow file of this run, ${entry.snapshot.workflow.file}, is no longer there. Pick a workflow with Run Workflow….`,
        );
        return undefined;
      }
      return (await runs.start(vscode.Uri.file(file), entry.snapshot.settings.sequential))?.runId;
    }),
    guard('deleteRun', async (arg) => {
      const entry = await runFrom(model, arg, (e) => e.snapshot.status !== 'running' && !e.live, 'Delete Run', true);
      if (!entry) return undefined;
      const ok = await vscode.window.showWarningMessage(
        `Delete the run of ${entry.snapshot.workflow.name} started ${startTime(entry.snapshot)}?`,
        {
          modal: true,
          detail:
            'Its worktrees, results and state are removed. Work its worktrees hold that was never captured is saved to an archive ref first (refs/tapps-flow/archive/…). Your files and branches are not touched.',
        },
        'Delete Run',
      );
      if (ok !== 'Delete Run') return undefined;
      const removed = await engine().deleteRun(entry.repoRoot, entry.snapshot.runId, readDefaults().queueRemote);
      await model.reload();
      if (removed.archived.length > 0)
        void vscode.window.showInformationMessage(
          `Tapps Flow: run deleted. Uncaptured work of ${plural(removed.archived.length, 'worktree')} was saved to ${listed(removed.archived.map((a) => a.ref))}.`,
        );
      return removed;
    }),
    guard('removeWorktree', async (arg) => {
      const found = await stepFrom(model, arg, (s) => s.worktree !== null, 'Remove Worktree', true);
      if (!found) return undefined;
      const removed = await engine().removeKeptWorktree(found.entry.repoRoot, found.entry.snapshot.runId, found.step.id);
      await model.reload(found.entry.snapshot.runId);
      void vscode.window.showInformationMessage(
        `Tapps Flow: removed the worktree of ${found.step.id}.${removed.archived.length > 0 ? ` Its uncaptured work was saved to ${removed.archived[0].ref}.` : ''}`,
      );
      return removed;
    }),
    guard('showConflicts', async (arg) => {
      const entry = await runFrom(model, arg, (e) => e.snapshot.conflicts.length > 0, 'Show Conflicts');
      if (!entry) return undefined;
      await view.reveal(tree.conflictsNode(entry.snapshot.runId), { select: true, focus: true, expand: true });
      return undefined;
    }),
    guard('restoreMyFiles', async (arg) => {
      const entry = await runFrom(model, arg, (e) => e.snapshot.escaped && e.snapshot.status !== 'running', 'Restore My Files', true);
      return entry ? restoreMyFiles(model, log, entry) : undefined;
    }),
    guard('openConflictDiff', (arg) => conflicts.compare(arg, 'ours', 'theirs')),
    guard('openConflictWithBase', (arg, step) => conflicts.compareWithBase(arg, step)),
    guard('openConflictBaseOurs', (arg) => conflicts.compare(arg, 'base', 'ours')),
    guard('openConflictBaseTheirs', (arg) => conflicts.compare(arg, 'base', 'theirs')),
    guard('openConflictMerge', (arg) => conflicts.openMerge(arg)),
    guard('resolveConflict', (arg, choice) => conflicts.resolve(arg, choice)),
    guard('resolveTakeVersion', (arg) => conflicts.takeVersion(arg)),
    guard('resolveTakeOurs', (arg) => conflicts.take(arg, 'ours')),
    guard('resolveTakeTheirs', (arg) => conflicts.take(arg, 'theirs')),
    guard('resolveEditMerged', (arg) => conflicts.editMerged(arg)),
    guard('markResolved', (arg) => conflicts.markResolved(arg)),
    guard('completeMerge', (arg) => conflicts.completeMerge(arg)),
    guard('showCheckLog', (arg) => checks.showCheckLog(arg)),
    guard('openCulprit', (arg) => checks.openCulprit(arg)),
    guard('applyAlternative', (arg) => checks.applyAlternative(arg)),
    guard('branchAlternative', (arg) => checks.branchAlternative(arg)),
    guard('compareCandidates', (arg) => checks.compareCandidates(arg)),
    guard('useCandidate', (arg) => checks.useCandidate(arg)),
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
