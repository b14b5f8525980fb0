import path from 'node:path';
import * as vscode from 'vscode';
import { stopPolitely, taggedProcesses } from '../core/process/stepProcesses';
import type { WorkflowRun } from '../core/run/workflowRun';
import type { RunSnapshot } from '../core/state/snapshot';
import { plural } from '../core/util/words';
import { outcomeMessage } from './editorText';
import { toAbortSignal } from './abort';
import { engine } from './lazyEngine';
import type { HostLog } from './log';
import type { RunsModel } from './runsModel';
import { readDefaults } from './settings';
import { requireTrust } from './trust';

/** Starts, resumes and cancels runs for the editor, with a cancellable progress notification per run. */
export class RunController implements vscode.Disposable {
  /**
   * The editor's own writes (saves, files created, deleted or renamed in it) are the user's: every
   * run this window drives hears of them, so that they are never reported as a step's escape (see
   * the engine's EscapeDetector). Writes by other programs are not known here.
   */
  private readonly userWrites: vscode.Disposable[] = [
    vscode.workspace.onWillSaveTextDocument((e) => this.noteUserWrite(e.document.uri)),
    vscode.workspace.onDidSaveTextDocument((d) => this.noteUserWrite(d.uri)),
    vscode.workspace.onWillCreateFiles((e) => e.files.forEach((u) => this.noteUserWrite(u))),
    vscode.workspace.onDidCreateFiles((e) => e.files.forEach((u) => this.noteUserWrite(u))),
    vscode.workspace.onWillDeleteFiles((e) => e.files.forEach((u) => this.noteUserWrite(u))),
    vscode.workspace.onDidDeleteFiles((e) => e.files.forEach((u) => this.noteUserWrite(u))),
    vscode.workspace.onDidRenameFiles((e) => e.files.forEach((f) => [f.oldUri, f.newUri].forEach((u) => this.noteUserWrite(u)))),
  ];

  constructor(
    private readonly model: RunsModel,
    private readonly log: HostLog,
  ) {}

  private noteUserWrite(uri: vscode.Uri): void {
    if (uri.scheme !== 'file') return;
    for (const entry of this.model.list()) entry.live?.noteUserWrite(uri.fsPath);
  }

  /** Runs a workflow file; resolves with the run id once it has started (undefined if refused). */
  async start(file: vscode.Uri, sequential: boolean): Promise<{ runId: string; done: Promise<RunSnapshot> } | undefined> {
    if (!requireTrust(this.log, 'run a workflow')) return undefined;
    const defaults = readDefaults(file);
    const controller = new AbortController();
    const run = await engine().WorkflowRun.prepare({
      workflowFile: file.fsPath,
      repoDir: path.dirname(file.fsPath),
      sequential: sequential || !defaults.parallel,
      defaults,
      signal: controller.signal,
    });
    this.sayFallbackOnce(run.settings.isolationFallback);
    this.sayRemoteOnce(run);
    return { runId: run.runId, done: this.follow(run, controller) };
  }

  private fallbackSaid = false;
  private remoteSaid = false;

  /** A run whose steps run on workers sends the user's work to the team remote: said once per window, and in the log every time. */
  private sayRemoteOnce(run: WorkflowRun): void {
    if (run.settings.runner !== 'queue') return;
    const words = `the steps of run ${run.runId} run on workers through the queue; each step's base, your uncommitted work included, goes to the team remote ${run.settings.queueRemote ?? ''} under refs/tapps-flow/runs/${run.runId}/, deleted when the run ends`;
    this.log.info(words);
    if (this.remoteSaid) return;
    this.remoteSaid = true;
    void vscode.window.showInformationMessage(`Tapps Flow: ${words.charAt(0).toUpperCase()}${words.slice(1)}.`);
  }

  /** A run asked for a sandbox this machine does not have: said once per window, and in the log every time. */
  private sayFallbackOnce(fallback: string | undefined): void {
    if (!fallback) return;
    this.log.info(`isolation: ${fallback}`);
    if (this.fallbackSaid) return;
    this.fallbackSaid = true;
    void vscode.window.showWarningMessage(`Tapps Flow: ${fallback.charAt(0).toUpperCase()}${fallback.slice(1)}.`);
  }

  /** Resumes an interrupted, failed or cancelled run. */
  async resume(repoRoot: string, runId: string): Promise<{ runId: string; done: Promise<RunSnapshot> } | undefined> {
    if (!requireTrust(this.log, 'resume a run')) return undefined;
    const controller = new AbortController();
    // The folder's own settings, as for a new run in it.
    const defaults = readDefaults(vscode.Uri.file(repoRoot));
    const run = await engine().WorkflowRun.resume({ repoDir: repoRoot, runId, defaults, signal: controller.signal });
    this.sayRemoteOnce(run);
    return { runId, done: this.follow(run, controller) };
  }

  /**
   * Drives a run to its end. The returned promise is for callers that want the final snapshot; a
   * failure is reported to the user here, so a caller that drops the promise leaves no unhandled
   * rejection behind.
   */
  private follow(run: WorkflowRun, controller: AbortController): Promise<RunSnapshot> {
    const done = this.drive(run, controller);
    done.catch(() => undefined);
    return done;
  }

  /** Cancels a run: directly when this window runs it, else through a request to its owner. */
  async cancel(runId: string, stepId?: string): Promise<void> {
    const entry = this.model.get(runId);
    if (!entry || !requireTrust(this.log, 'cancel a run')) return;
    if (entry.readOnly) {
      void vscode.window.showWarningMessage(`Tapps Flow: run ${runId} is read-only: ${entry.readOnly}.`);
      return;
    }
    if (entry.live) {
      if (stepId === undefined) entry.live.cancel();
      else entry.live.cancelStep(stepId);
      return;
    }
    await engine().sendRequest(entry.dir, { type: 'cancel', ...(stepId === undefined ? {} : { step: stepId }) });
    this.log.info(`asked the process running ${runId} to cancel ${stepId ?? 'the run'}`);
  }

  private async drive(run: WorkflowRun, controller: AbortController): Promise<RunSnapshot> {
    this.model.track(run.repo.root, run);
    this.log.info(
      `run ${run.runId} of ${run.snapshot.workflow.name} started: ${plural(run.snapshot.steps.length, 'step')}, up to ${run.settings.maxParallel} at once`,
    );
    const total = run.snapshot.steps.length;
    const done = () => run.snapshot.steps.filter((s) => engine().TERMINAL_STEP_STATUSES.includes(s.status)).length;
    const result = vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Tapps Flow: ${run.snapshot.workflow.name}`, cancellable: true },
      async (progress, token) => {
        // The notification's Cancel is the token that reaches the engine as an AbortSignal.
        toAbortSignal(token).addEventListener('abort', () => controller.abort(), { once: true });
        let reported = done();
        progress.report({ message: `${reported}/${total} steps done`, increment: (reported / total) * 100 });
        const sub = run.onDidEvent((e) => {
          if (
            !e.type.startsWith('step_') ||
            e.type === 'step_progress' ||
            e.type === 'step_queued' ||
            e.type === 'step_started' ||
            e.type === 'step_setting_up'
          )
            return;
          const now = done();
          progress.report({ message: `${now}/${total} steps done`, increment: ((now - reported) / total) * 100 });
          reported = now;
        });
        try {
          return await run.execute();
        } finally {
          sub.dispose();
        }
      },
    );
    try {
      const snapshot = await result;
      this.log.info(`run ${run.runId}: ${snapshot.status}`);
      void this.announce(snapshot);
      return snapshot;
    } catch (error) {
      this.log.showError(`Run ${run.runId} stopped`, error);
      throw error;
    } finally {
      run.store.dispose();
      this.model.untrack(run.runId);
      // Once the run has let go of its state, the tree shows what is on disk: for a run that could
      // not record its end (its lock was taken away), interrupted.
      void run
        .settled()
        .catch((error: unknown) =>
          this.log.warn(`run ${run.runId}: could not delete removed worktrees: ${error instanceof Error ? error.message : String(error)}`),
        )
        .then(() => this.model.reload(run.runId));
    }
  }

  /**
   * The window is closing: its runs cannot finish. Every process of their steps gets the polite
   * signal now (found by group and by tag, so also those that left the group), so that nothing
   * keeps writing into their worktrees; the runs show as `interrupted` (their owner is gone) and
   * can be resumed. Under bubblewrap the kernel ends the rest with this process.
   */
  dispose(): void {
    for (const d of this.userWrites) d.dispose();
    const live = new Set(
      this.model
        .list()
        .filter((e) => e.live)
        .map((e) => e.snapshot.runId),
    );
    const tagged = live.size > 0 ? taggedProcesses().filter((t) => live.has(t.runId)) : [];
    const leaders = this.model
      .list()
      .filter((entry) => entry.live)
      .flatMap((entry) => entry.snapshot.steps)
      .filter((step) => (step.status === 'running' || step.status === 'setting_up') && step.pid !== null)
      .map((step) => step.pid!);
    stopPolitely(
      tagged.map((t) => t.pid),
      leaders,
    );
  }

  private async announce(s: RunSnapshot): Promise<void> {
    if (s.escaped) {
      // Before anything else: the user's checkout or repository was written by something a step ran.
      const n = s.escapes.length + s.escapesUnlisted;
      const files = s.escapes.some((e) => e.kind === 'file' && !e.restored && !e.ignored);
      const picked = await vscode.window.showWarningMessage(
        `Tapps Flow: while ${s.workflow.name} ran (${s.status}), ${plural(n, 'write')} landed outside the steps' worktrees: ${s.escapes
          .slice(0, 3)
          .map((e) => e.path)
          .join(', ')}${n > 3 ? ', …' : ''}. See the run's warning node.`,
        ...(files ? ['Restore My Files'] : []),
        'Open Conflict Report',
      );
      const command = { 'Restore My Files': 'tappsFlow.restoreMyFiles', 'Open Conflict Report': 'tappsFlow.openConflictReport' }[
        picked ?? ''
      ];
      if (command) await vscode.commands.executeCommand(command, { kind: 'run', runId: s.runId });
      return;
    }
    const { text, actions, severity, failedStep } = outcomeMessage(s);
    const show = {
      error: vscode.window.showErrorMessage,
      warning: vscode.window.showWarningMessage,
      info: vscode.window.showInformationMessage,
    }[severity];
    const choice = await show(text, ...actions);
    if (choice === 'Show Log' && failedStep) {
      await vscode.commands.executeCommand('tappsFlow.showStepLog', { kind: 'step', runId: s.runId, stepId: failedStep });
      return;
    }
    const command = {
      Apply: 'tappsFlow.applyResult',
      'Create Branch': 'tappsFlow.createBranch',
      'Show Conflicts': 'tappsFlow.showConflicts',
      Resume: 'tappsFlow.resumeRun',
    }[choice ?? ''];
    if (command) await vscode.commands.executeCommand(command, { kind: 'run', runId: s.runId });
  }
}
