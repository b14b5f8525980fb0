import { hostname } from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import { captureBase, type Base } from '../git/base';
import { fixedIdentityEnv } from '../git/identity';
import { openRepository, type Repository } from '../git/repository';
import { Worktrees } from '../git/worktrees';
import { foldItemsOf, makeAggregate } from '../merge/aggregate';
import { foldResults } from '../merge/fold';
import { policyMatcher } from '../merge/mergeRules';
import type { RunEvent, RunStatus } from '../state/events';
import { HEARTBEAT_INTERVAL_MS, takeRequests, writeHeartbeat } from '../state/owner';
import { readRun } from '../state/readRun';
import { loadRun } from '../state/runs';
import { RunStore } from '../state/runStore';
import type { RunSnapshot, StepSnapshot } from '../state/snapshot';
import { errorMessage, TappsError } from '../util/errors';
import type { Event } from '../util/emitter';
import { containsFromFileList } from '../workflow/graph';
import { loadWorkflowFile, type LoadedWorkflow } from '../workflow/loadWorkflow';
import type { Step } from '../workflow/schema';
import { checkRunId, newRunId, type EffectiveSettings, type RunOptions } from './options';
import { runDir, runRef } from './stateDir';
import { runStep, stepLogFile, type StepOutcome } from './stepRunner';

/**
 * One execution of a workflow. `prepare` plans it (validates the workflow, captures the base,
 * records `run_started`); `execute` schedules the steps under one p-queue, folds their results and
 * ends the run in exactly one terminal state. Cancellation comes in as an AbortSignal.
 */
export class WorkflowRun {
  private readonly steps: ReadonlyMap<string, Step>;
  private readonly stepControllers = new Map<string, AbortController>();
  private readonly runController = new AbortController();
  private readonly queue: PQueue;
  private readonly worktrees: Worktrees;

  /** Every event of the run, as recorded. */
  readonly onDidEvent: Event<RunEvent>;

  private constructor(
    readonly repo: Repository,
    readonly runId: string,
    readonly loaded: LoadedWorkflow,
    readonly base: Base,
    readonly settings: EffectiveSettings,
    readonly store: RunStore,
    private readonly options: RunOptions,
  ) {
    this.steps = new Map(loaded.workflow.steps.map((s) => [s.id, s]));
    this.queue = new PQueue({ concurrency: settings.maxParallel });
    this.worktrees = new Worktrees(repo, runId, {
      root: options.defaults?.worktreeRoot,
      addConcurrency: options.defaults?.worktreeAddConcurrency,
    });
    this.onDidEvent = store.onDidAppend;
    options.signal?.addEventListener('abort', () => this.cancel(), { once: true });
  }

  /** Plans a run: opens the repository, captures the base, validates the workflow against it. */
  static async prepare(options: RunOptions): Promise<WorkflowRun> {
    const workflowFile = path.resolve(options.workflowFile);
    const repo = await openRepository(options.repoDir ?? path.dirname(workflowFile));
    const now = options.now ?? (() => new Date());
    const runId = options.runId ?? newRunId(now());
    const idProblem = checkRunId(runId);
    if (idProblem) throw new TappsError('invalid-run-id', idProblem);
    const base = await captureBase(repo, runId);
    const baseContains = containsFromFileList(await repo.git.run(['ls-tree', '-r', '-z', '--name-only', base.tree]));
    const loaded = await loadWorkflowFile(workflowFile, { baseContains, configuredAgents: options.defaults?.agents });
    const s = loaded.workflow.settings;
    const d = options.defaults ?? {};
    const maxParallel = options.sequential ? 1 : (options.maxParallel ?? s.max_parallel ?? d.maxParallel ?? 8);
    if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 8)
      throw new TappsError('invalid-max-parallel', `max parallel must be a whole number from 1 to 8, got ${maxParallel}`);
    const settings: EffectiveSettings = {
      maxParallel,
      sequential: maxParallel === 1,
      timeoutSeconds: s.timeout_seconds ?? d.timeoutSeconds ?? 900,
      killGraceSeconds: s.kill_grace_seconds ?? d.killGraceSeconds ?? 5,
      keepWorktrees: s.keep_worktrees ?? d.keepWorktrees ?? 'on_failure',
      logMaxBytes: s.log_max_bytes ?? d.logMaxBytes ?? 10 * 1024 * 1024,
      failOnUndeclaredChanges: s.fail_on_undeclared_changes ?? d.failOnUndeclaredChanges ?? false,
    };
    await repo.git.run(['update-ref', runRef(runId, 'base'), base.commit]);
    const store = new RunStore(runDir(repo.root, runId), { now });
    const relativeFile = path.relative(repo.root, workflowFile).split(path.sep).join('/');
    store.append({
      type: 'run_started',
      runId,
      repo: repo.root,
      workflow: { file: relativeFile, id: loaded.workflow.id, name: loaded.workflow.name ?? loaded.workflow.id },
      base,
      settings: { ...settings },
      steps: loaded.graph.ids.map((id) => ({ id, dependencies: [...loaded.graph.dependencies.get(id)!] })),
      owner: { pid: process.pid, host: hostname(), startedAt: now().toISOString() },
    });
    await store.flush();
    return new WorkflowRun(repo, runId, loaded, base, settings, store, options);
  }

  /**
   * Takes over a run that did not finish cleanly (interrupted, failed or cancelled): the steps that
   * succeeded keep their results, the others run again in fresh worktrees from the same bases, and
   * the aggregate is made as usual.
   */
  static async resume(options: {
    readonly repoDir: string;
    readonly runId: string;
    readonly signal?: AbortSignal;
    readonly defaults?: RunOptions['defaults'];
    readonly now?: () => Date;
  }): Promise<WorkflowRun> {
    const repo = await openRepository(options.repoDir);
    const now = options.now ?? (() => new Date());
    const dir = runDir(repo.root, options.runId);
    const found = await loadRun(dir, now).catch((error: unknown) => {
      throw new TappsError(
        'run-not-found',
        `No run "${options.runId}" in ${repo.root}: ${errorMessage(error)}. List runs with: tapps-flow status`,
      );
    });
    const previous = found.snapshot;
    if (previous.status === 'running')
      throw new TappsError(
        'run-active',
        `Run ${options.runId} is still running (pid ${previous.owner.pid} on ${previous.owner.host}). Cancel it or wait for it to end.`,
      );
    if (previous.steps.every((s) => s.status === 'succeeded'))
      throw new TappsError(
        'nothing-to-resume',
        `Run ${options.runId} has nothing to resume: every step succeeded (status ${previous.status}).`,
      );
    const workflowFile = path.join(repo.root, previous.workflow.file);
    const baseContains = containsFromFileList(await repo.git.run(['ls-tree', '-r', '-z', '--name-only', previous.base.tree]));
    const loaded = await loadWorkflowFile(workflowFile, { baseContains, configuredAgents: options.defaults?.agents });
    const before = previous.steps.map((s) => s.id).join(', ');
    const after = loaded.graph.ids.join(', ');
    if (before !== after)
      throw new TappsError(
        'workflow-changed',
        `The workflow file ${previous.workflow.file} changed since run ${options.runId} started (steps then: ${before}; now: ${after}). Start a new run instead.`,
      );
    const repaired = await readRun(dir, { repair: true });
    const store = new RunStore(dir, { now }, { snapshot: repaired.snapshot, lastSeq: repaired.snapshot.lastSeq });
    store.append({ type: 'run_resumed', owner: { pid: process.pid, host: hostname(), startedAt: now().toISOString() } });
    await store.flush();
    const s = previous.settings as unknown as EffectiveSettings;
    return new WorkflowRun(repo, options.runId, loaded, previous.base, s, store, {
      workflowFile,
      repoDir: options.repoDir,
      signal: options.signal,
      defaults: options.defaults,
      now,
    });
  }

  get snapshot(): RunSnapshot {
    return this.store.snapshot;
  }

  get stateDir(): string {
    return this.store.dir;
  }

  /** Cancels the run: clears the queue and stops the running steps. */
  cancel(): void {
    if (this.runController.signal.aborted) return;
    this.store.append({ type: 'cancel_requested' });
    this.runController.abort('run');
    for (const c of this.stepControllers.values()) c.abort('run');
    this.queue.clear();
    for (const s of this.snapshot.steps)
      if (s.status === 'pending' || s.status === 'queued')
        this.store.append({ type: 'step_cancelled', step: s.id, reason: 'the run was cancelled before the step started' });
  }

  /** Cancels one step; the steps that depend on it are skipped. */
  cancelStep(stepId: string): void {
    const s = this.snapshot.steps.find((x) => x.id === stepId);
    if (!s || !['pending', 'queued', 'running'].includes(s.status)) return;
    this.controllerOf(stepId).abort('step');
    if (s.status !== 'running') {
      this.store.append({ type: 'step_cancelled', step: stepId, reason: 'cancelled by the user before it started' });
      this.skipDependents(stepId);
    }
  }

  /** Runs every step and the aggregate; resolves with the final snapshot. */
  async execute(): Promise<RunSnapshot> {
    const heartbeat = this.startHeartbeat();
    try {
      // On resume, the steps that had succeeded keep their results; the rest start again.
      const ready = this.loaded.graph.ids.filter(
        (id) =>
          this.stepOf(id).status === 'pending' &&
          this.loaded.graph.dependencies.get(id)!.every((d) => this.stepOf(d).status === 'succeeded'),
      );
      for (const id of ready) this.enqueue(id);
      await this.queue.onIdle();
      await this.finish();
    } catch (error) {
      this.store.append({ type: 'run_finished', status: 'failed' });
      await this.store.flush().catch(() => undefined);
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
    await this.store.flush();
    return this.snapshot;
  }

  /**
   * Resolves when the files of the run's removed worktrees are deleted: after `execute`, off the
   * path to the run's result. A process that exits should wait for it.
   */
  settled(): Promise<void> {
    return this.worktrees.settled();
  }

  /**
   * Writes the owner's heartbeat (so that other processes can tell a live run from an orphaned
   * one) and acts on requests from them, such as the editor cancelling a CLI run.
   */
  private startHeartbeat(): NodeJS.Timeout {
    const owner = this.snapshot.owner;
    const now = this.options.now ?? (() => new Date());
    let busy = false;
    const beat = async () => {
      if (busy) return;
      busy = true;
      try {
        await writeHeartbeat(this.stateDir, owner, now());
        for (const request of await takeRequests(this.stateDir)) {
          if (request.type !== 'cancel') continue;
          if (request.step === undefined) this.cancel();
          else this.cancelStep(request.step);
        }
      } catch {
        // A missed heartbeat is retried on the next tick; the run goes on.
      } finally {
        busy = false;
      }
    };
    void beat();
    const timer = setInterval(() => void beat(), HEARTBEAT_INTERVAL_MS);
    timer.unref();
    return timer;
  }

  private controllerOf(stepId: string): AbortController {
    let c = this.stepControllers.get(stepId);
    if (!c) {
      // Not chained to the run's signal with a listener per step (more than 10 would warn of a
      // leak): `cancel()` aborts every step's controller itself.
      c = new AbortController();
      this.stepControllers.set(stepId, c);
      if (this.runController.signal.aborted) c.abort('run');
    }
    return c;
  }

  private stepOf(id: string): StepSnapshot {
    return this.snapshot.steps.find((s) => s.id === id)!;
  }

  private enqueue(id: string): void {
    if (this.runController.signal.aborted || this.stepOf(id).status !== 'pending') return;
    this.store.append({ type: 'step_queued', step: id });
    const priority = -this.loaded.graph.topological.indexOf(id);
    void this.queue.add(() => this.runOne(id), { priority });
  }

  private async runOne(id: string): Promise<void> {
    const signal = this.controllerOf(id).signal;
    let outcome: StepOutcome;
    try {
      if (this.stepOf(id).status !== 'queued') return; // cancelled while queued
      const stepBase = await this.stepBase(id);
      outcome = await runStep({
        runId: this.runId,
        workflow: this.loaded.workflow,
        step: this.steps.get(id)!,
        stepBase,
        worktrees: this.worktrees,
        settings: this.settings,
        logFile: stepLogFile(this.stateDir, id),
        configuredAgents: this.options.defaults?.agents ?? {},
        signal,
        onStarted: (worktree, pid) => this.store.append({ type: 'step_started', step: id, worktree, pid, base: stepBase.commit }),
        onProgress: (p) => this.store.append({ type: 'step_progress', step: id, percent: p.percent, message: p.message }),
      });
      if (outcome.status === 'succeeded') await this.repo.git.run(['update-ref', runRef(this.runId, 'steps', id), outcome.capture.commit]);
    } catch (error) {
      outcome = { status: 'failed', error: errorMessage(error), exitCode: null, lastLines: [] };
    }
    this.record(id, outcome);
    // Dependents are queued before this task returns, so the queue picks by priority among them.
    if (outcome.status === 'succeeded') {
      for (const d of this.loaded.graph.dependents.get(id)!) {
        if (this.loaded.graph.dependencies.get(d)!.every((x) => this.stepOf(x).status === 'succeeded')) this.enqueue(d);
      }
    } else {
      this.skipDependents(id);
    }
  }

  private record(id: string, outcome: StepOutcome): void {
    if (this.stepOf(id).status === 'cancelled') return;
    switch (outcome.status) {
      case 'succeeded':
        this.store.append({
          type: 'step_succeeded',
          step: id,
          result: outcome.capture.commit,
          tree: outcome.capture.tree,
          changed: [...outcome.capture.changed],
          undeclared: [...outcome.undeclared],
        });
        break;
      case 'failed':
        this.store.append({
          type: 'step_failed',
          step: id,
          error: outcome.error,
          exitCode: outcome.exitCode,
          lastLines: [...outcome.lastLines],
        });
        break;
      case 'timed_out':
        this.store.append({ type: 'step_timed_out', step: id, error: outcome.error, lastLines: [...outcome.lastLines] });
        break;
      case 'cancelled':
        this.store.append({ type: 'step_cancelled', step: id, reason: outcome.reason });
        break;
    }
  }

  private skipDependents(id: string): void {
    for (const d of this.loaded.graph.dependents.get(id)!) {
      const s = this.stepOf(d);
      if (s.status !== 'pending') continue;
      const status = this.stepOf(id).status.replace('_', ' ');
      this.store.append({
        type: 'step_skipped',
        step: d,
        reason: `skipped: it depends on "${id}", which ${status === 'skipped' ? 'was skipped' : status === 'cancelled' ? 'was cancelled' : status === 'timed out' ? 'timed out' : 'failed'}`,
      });
      this.skipDependents(d);
    }
  }

  /** The run's base with the results of the step's dependencies folded in, in stable order. */
  private async stepBase(id: string): Promise<{ commit: string; tree: string; time: number }> {
    const deps = this.loaded.graph.dependencies.get(id)!;
    if (deps.length === 0) return this.base;
    const order = this.loaded.graph.topological;
    const items = [...deps].sort((a, b) => order.indexOf(a) - order.indexOf(b)).map((d) => this.stepOf(d));
    const fold = await foldResults(this.repo, this.base, await foldItemsOf(this.repo, items, this.base), {
      policyFor: policyMatcher(this.loaded.workflow.merge),
      scratchDir: path.join(this.repo.commonDir, 'tapps-flow', 'tmp'),
      time: this.base.time,
    });
    const commit = await this.repo.git.line(['commit-tree', fold.tree, '-p', this.base.commit, '-m', 'Tapps Flow step base'], {
      env: fixedIdentityEnv(this.base.time),
    });
    return { commit, tree: fold.tree, time: this.base.time };
  }

  private async finish(): Promise<void> {
    const order = this.loaded.graph.topological;
    const steps = [...this.snapshot.steps].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
    const aggregate = await makeAggregate({
      repo: this.repo,
      runId: this.runId,
      base: this.base,
      rules: this.loaded.workflow.merge,
      steps,
      stateDir: this.stateDir,
      workflow: { id: this.snapshot.workflow.id, name: this.snapshot.workflow.name, file: this.snapshot.workflow.file },
    });
    this.store.append({
      type: 'aggregate_made',
      commit: aggregate.commit,
      tree: aggregate.tree,
      partial: aggregate.partial,
      conflicts: aggregate.conflicts.length,
    });
    for (const conflict of aggregate.conflicts) this.store.append({ type: 'conflict_detected', conflict });
    this.store.append({ type: 'run_finished', status: this.terminalStatus(aggregate.conflicts.length) });
  }

  private terminalStatus(conflicts: number): RunStatus {
    const statuses = this.snapshot.steps.map((s) => s.status);
    if (this.runController.signal.aborted) return 'cancelled';
    if (statuses.some((s) => s === 'failed' || s === 'timed_out')) return 'failed';
    if (statuses.some((s) => s === 'cancelled' || s === 'skipped')) return 'cancelled';
    return conflicts > 0 ? 'conflicted' : 'succeeded';
  }
}
