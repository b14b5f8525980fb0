import PQueue from 'p-queue';
import { EscapeDetector, type EscapesFound } from '../escape/detector';
import type { Base } from '../git/base';
import type { Repository } from '../git/repository';
import { Worktrees } from '../git/worktrees';
import type { NewRunEvent, RunEvent } from '../state/events';
import type { RunStore } from '../state/runStore';
import type { RunWriter } from '../state/runWriter';
import type { RunSnapshot, StepSnapshot } from '../state/snapshot';
import { crashPoint, crashPointAfter } from '../util/crashPoint';
import type { Event } from '../util/emitter';
import { errorMessage } from '../util/errors';
import type { LoadedWorkflow } from '../workflow/loadWorkflow';
import type { Step } from '../workflow/schema';
import type { RunOptions } from './options';
import { startRequestLoop } from './requestLoop';
import { resumeRun, type ResumeOptions } from './resumeRun';
import { startRun, type RunContext } from './runContext';
import type { EffectiveSettings } from './settings';
import { runRef } from './stateDir';
import { dependencyBase } from './stepBase';
import { runStep, stepLogFile, type StepContext, type StepOutcome } from './stepRunner';
import { queueCandidates } from './candidateRunner';
import { candidateAgents } from '../checks/candidates';
import { outcomeEvent } from './terminal';
import { applyGates, dependenciesMet, goOnAfter, startEvents, type StepFlow } from './stepFlow';
import { finishRun } from './finishRun';
import { checkedOutcome, onSteps, Verifier } from '../checks/verify';
import { poolDisk } from '../setup/dependencyStore';
import type { ResolvedSetup } from '../setup/resolvePlan';
import { Admission } from './loadGate';
import { RemoteSteps } from '../remote/remoteSteps';

/**
 * One execution of a workflow. `prepare` plans it and records `run_started` (see runContext.ts),
 * `resume` takes over an unfinished one (resumeRun.ts); `execute` schedules the steps under one
 * p-queue, folds their results and ends the run in exactly one terminal state; `settled` deletes
 * removed worktrees and lets go of the run. Cancellation comes in as an AbortSignal.
 */
export class WorkflowRun {
  readonly repo: Repository;
  readonly runId: string;
  readonly loaded: LoadedWorkflow;
  readonly base: Base;
  readonly settings: EffectiveSettings;
  private readonly writer: RunWriter;
  private readonly options: RunOptions;
  private readonly steps: ReadonlyMap<string, Step>;
  private readonly stepControllers = new Map<string, AbortController>();
  private readonly runController = new AbortController();
  private readonly queue: PQueue;
  private readonly worktrees: Worktrees;
  /** The load gate, and the steps of this run past it and not yet ended. */
  private readonly admission: Admission;
  /** The setup of each step's worktree. */
  readonly setup: ResolvedSetup;
  private released: Promise<void> | undefined;
  /** Why the run cannot go on recording (its lock was taken away); its steps are stopped. */
  private fault: Error | undefined;
  /** Detection of writes outside the steps' worktrees; none with isolation `off`. */
  private readonly escapes: EscapeDetector | undefined;
  /** The gate that stopped the run (see `applyGates`), which then fails. */
  private stoppedBy: string | undefined;
  /** The workflow's checks, of step results and of the aggregate. */
  private readonly verifier: Verifier;
  /** What comes after a step ends (see stepFlow.ts). */
  private readonly flow: StepFlow;
  /** The workers' side of a `queue` run (see RemoteSteps); none for a local one. */
  private readonly remote: RemoteSteps | undefined;

  /** Every event of the run, as recorded. */
  readonly onDidEvent: Event<RunEvent>;

  private constructor(ctx: RunContext) {
    ({
      repo: this.repo,
      runId: this.runId,
      loaded: this.loaded,
      base: this.base,
      settings: this.settings,
      writer: this.writer,
      options: this.options,
      setup: this.setup,
    } = ctx);
    this.steps = new Map(this.loaded.workflow.steps.map((s) => [s.id, s]));
    this.queue = new PQueue({ concurrency: this.settings.maxParallel });
    this.worktrees = new Worktrees(this.repo, this.runId, {
      root: this.settings.worktreeRoot,
      addConcurrency: this.options.defaults?.worktreeAddConcurrency,
      poolSize: this.settings.poolSize,
      poolDisk: poolDisk(this.settings.worktreeRoot, this.settings.poolMaxMb),
    });
    this.onDidEvent = this.store.onDidAppend;
    const append = (event: NewRunEvent) => this.store.append(event);
    this.remote = RemoteSteps.of(ctx, append);
    // Steps on workers do not load this machine: the load gate lets them through.
    const limits = this.settings.runner === 'queue' ? { minFreeMemoryMb: 0, maxLoadPerCpu: 0 } : this.settings;
    this.admission = new Admission(limits, (step, reason) => append({ type: 'step_waiting', step, reason }));
    const { checks, merge } = this.loaded.workflow;
    this.verifier = new Verifier({
      ...ctx,
      ...{ worktrees: this.worktrees, stateDir: this.stateDir, append, flush: () => this.store.flush() },
      ...{ checks, rules: merge, maxParallel: this.settings.maxParallel },
    });
    this.flow = {
      graph: this.loaded.graph,
      steps: this.steps,
      stepOf: (id) => this.stepOf(id),
      snapshot: () => this.snapshot,
      append,
      abort: (id, reason) => this.controllerOf(id).abort(reason),
      enqueue: (id) => this.enqueue(id),
      stopped: (gate) => (this.stoppedBy ??= gate),
    };
    this.escapes =
      ctx.watch &&
      new EscapeDetector({
        watch: ctx.watch,
        baseTree: this.base.tree,
        order: this.loaded.graph.ids,
        known: this.snapshot.escapes,
        onFound: (found) => this.recordEscapes(found),
      });
    this.options.signal?.addEventListener('abort', () => this.cancel(), { once: true });
    this.writer.onLost((error) => this.abandon(error));
  }

  /**
   * The run's lock was taken away: nothing more may be written for it, so its steps are stopped
   * without a word in its state. Readers then see a run whose owner is gone: interrupted, and
   * resumable.
   */
  private abandon(error: Error): void {
    this.fault ??= error;
    this.escapes?.dispose();
    this.runController.abort('lost');
    for (const c of this.stepControllers.values()) c.abort('lost');
    this.queue.clear();
  }

  /** Plans a run (nothing written for invalid input), takes its lock, captures the base, records its start. */
  static async prepare(options: RunOptions): Promise<WorkflowRun> {
    return new WorkflowRun(await startRun(options));
  }

  /** Takes over a run that did not finish cleanly; see `resumeRun`. */
  static async resume(options: ResumeOptions): Promise<WorkflowRun> {
    return new WorkflowRun(await resumeRun(options));
  }

  get store(): RunStore {
    return this.writer.store;
  }

  get snapshot(): RunSnapshot {
    return this.store.snapshot;
  }

  get stateDir(): string {
    return this.store.dir;
  }

  private get running(): boolean {
    return this.snapshot.status === 'running' && this.released === undefined;
  }

  /** Cancels the run: clears the queue and stops the running steps. */
  cancel(): void {
    if (this.runController.signal.aborted || !this.running || this.fault) return;
    this.store.append({ type: 'cancel_requested' });
    this.runController.abort('run');
    for (const c of this.stepControllers.values()) c.abort('run');
    this.queue.clear();
    for (const s of this.snapshot.steps) {
      if (s.status === 'pending' || s.status === 'queued') {
        this.store.append({ type: 'step_cancelled', step: s.id, reason: 'the run was cancelled before the step started' });
      }
    }
  }

  /** Cancels one step; the steps that depend on it are skipped (unless it is optional: they go on without it). */
  cancelStep(stepId: string): void {
    const s = this.snapshot.steps.find((x) => x.id === stepId);
    if (!this.running || this.fault || !s || !['pending', 'queued', 'setting_up', 'running'].includes(s.status)) return;
    this.controllerOf(stepId).abort('step');
    if (s.status !== 'running' && s.status !== 'setting_up') {
      this.store.append({ type: 'step_cancelled', step: stepId, reason: 'cancelled by the user before it started' });
      goOnAfter(this.flow, stepId);
    }
  }

  /** Runs every step and the aggregate; resolves with the final snapshot. */
  async execute(): Promise<RunSnapshot> {
    const stopRequests = startRequestLoop(this.stateDir, (request) => {
      if (request.step === undefined) this.cancel();
      else this.cancelStep(request.step);
    });
    try {
      // What changed while no engine watched the checkout (the previous attempt's crash) comes first.
      if (this.escapes && this.writer.previous) await this.escapes.resume(this.writer.previous.snapshot);
      if (this.remote && this.writer.previous) await this.remote.stopEarlierJobs(this.writer.previous.events);
      // On resume, the steps that had succeeded keep their results; the rest start again.
      // A resumed run's kept results meet their gates again: a gate that stopped the run still does.
      for (const id of this.loaded.graph.topological) if (this.stepOf(id).status === 'succeeded') applyGates(this.flow, id);
      const ready = this.loaded.graph.ids.filter((id) => this.stepOf(id).status === 'pending' && dependenciesMet(this.flow, id));
      for (const id of ready) this.enqueue(id);
      await this.queue.onIdle();
      if (this.fault) throw this.fault;
      await crashPointAfter('steps-done', () => this.store.flush());
      await this.finish();
    } catch (error) {
      try {
        // Unless the lock was taken away, in which case nothing may be written.
        this.store.append({ type: 'run_finished', status: 'failed' });
        await this.store.flush();
      } catch {
        // The run's end is recorded by whoever takes it over next (resume, cleanup).
      }
      throw this.fault ?? error;
    } finally {
      stopRequests();
      this.escapes?.dispose();
    }
    await this.store.flush();
    crashPoint('run-finished');
    return this.snapshot;
  }

  /**
   * Deletes the files of the run's removed worktrees (off the path to the run's result), then
   * lets go of the run's lock. Whoever prepared or resumed the run must call it, whether or not
   * `execute` succeeded; a process that exits waits for it.
   */
  settled(): Promise<void> {
    this.escapes?.dispose();
    this.released ??= (async () => {
      try {
        await this.worktrees.settled();
        await this.remote?.settled();
      } finally {
        await this.writer.close();
      }
    })();
    return this.released;
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
    // A task records its own failures; what escapes it (the state can no longer be written) ends the run.
    const add = (task: () => Promise<void>) =>
      void this.queue.add(task, { priority }).catch((error: unknown) => {
        this.abandon(error instanceof Error ? error : new Error(String(error)));
      });
    const step = this.steps.get(id)!;
    const agents = candidateAgents(step);
    if (agents.length === 0) return add(() => this.runOne(id));
    const signal = this.controllerOf(id).signal;
    const host = {
      context: (s: Step, stepBase: StepContext['stepBase']) => this.contextOf(s, stepBase, signal),
      stateDir: this.stateDir,
      verifier: this.verifier,
      append: (event: NewRunEvent) => this.store.append(event),
      flush: () => this.store.flush(),
      ended: () => ['cancelled', 'skipped'].includes(this.stepOf(id).status),
      admit: (admitting: AbortSignal) => this.admission.admit(id, admitting),
      release: () => this.admission.release(),
      attemptStarted: () => this.escapes?.stepStarted(id),
      attemptEnded: () => this.escapes?.stepEnded(id),
      execute: this.attempt,
    };
    queueCandidates(
      host,
      step,
      agents,
      () => this.stepBaseOf(id),
      signal,
      (outcome) => this.ended(id, outcome),
      add,
    );
  }

  /** Runs one attempt of a step: here, or on a worker. */
  private readonly attempt = (ctx: StepContext): Promise<StepOutcome> => (this.remote ? this.remote.execute(ctx) : runStep(ctx));

  /** The commit a step starts from (see `stepBaseOf`). */
  private stepBaseOf(id: string): Promise<{ commit: string; tree: string; time: number }> {
    return dependencyBase(this.repo, this.base, this.loaded, (d) => this.stepOf(d), id);
  }

  /** What running `step` needs of this run. */
  private contextOf(step: Step, stepBase: StepContext['stepBase'], signal: AbortSignal) {
    return {
      repo: this.repo,
      runId: this.runId,
      workflow: this.loaded.workflow,
      step,
      stepBase,
      worktrees: this.worktrees,
      settings: this.settings,
      configuredAgents: this.options.defaults?.agents ?? {},
      signal,
      setup: this.setup,
    };
  }

  private async runOne(id: string): Promise<void> {
    const signal = this.controllerOf(id).signal;
    let outcome: StepOutcome;
    let admitted = false;
    try {
      if (this.stepOf(id).status !== 'queued') return; // cancelled while queued
      admitted = await this.admission.admit(id, signal);
      this.escapes?.stepStarted(id);
      const stepBase = await this.stepBaseOf(id);
      outcome = await this.attempt({
        ...this.contextOf(this.steps.get(id)!, stepBase, signal),
        logFile: stepLogFile(this.stateDir, id),
        ...startEvents(this.flow, id, stepBase.commit, () => this.store.flush()),
      });
      if (outcome.status === 'succeeded' && this.verifier.has(onSteps)) outcome = await checkedOutcome(this.verifier, id, outcome, signal);
    } catch (error) {
      outcome = { status: 'failed', error: errorMessage(error), exitCode: null, lastLines: [] };
    }
    if (admitted) this.admission.release();
    this.escapes?.stepEnded(id);
    await this.ended(id, outcome);
  }

  /** A step ended (its one attempt, or its last candidate): its result kept and recorded, then what comes after it. */
  private async ended(id: string, outcome: StepOutcome): Promise<void> {
    if (outcome.status === 'succeeded')
      outcome = await this.repo.git.run(['update-ref', runRef(this.runId, 'steps', id), outcome.capture.commit]).then(
        () => outcome,
        (error: unknown): StepOutcome => ({ status: 'failed', error: errorMessage(error), exitCode: null, lastLines: [] }),
      );
    if (this.stepOf(id).status === 'skipped') return; // a gate stopped the run while it was set up
    this.record(id, outcome);
    if (outcome.status === 'succeeded') void crashPointAfter('step-recorded', () => this.store.flush()).catch(() => undefined);
    // Dependents are queued before this task returns, so the queue picks by priority among them.
    goOnAfter(this.flow, id);
  }

  private record(id: string, outcome: StepOutcome): void {
    if (this.stepOf(id).status !== 'cancelled') this.store.append(outcomeEvent(id, outcome));
  }

  /**
   * The editor saved, created or deleted `file` (absolute, or relative to the checkout) while the
   * run goes on: that write is the user's, not an escape of a step. See EscapeDetector.
   */
  noteUserWrite(file: string): void {
    this.escapes?.noteUserWrite(file);
  }

  /** Records what a check of the checkout found, while the run can still record (see EscapeDetector). */
  private recordEscapes(found: EscapesFound): void {
    if (!this.running || this.fault) return;
    this.store.append({ type: 'escape_detected', escapes: [...found.escapes], count: found.count, check: found.check });
  }

  private finish(): Promise<void> {
    return finishRun({
      repo: this.repo,
      runId: this.runId,
      base: this.base,
      loaded: this.loaded,
      writer: this.writer,
      stateDir: this.stateDir,
      escapes: this.escapes,
      verifier: this.verifier,
      signal: this.runController.signal,
      gateStopped: this.stoppedBy !== undefined,
    });
  }
}
