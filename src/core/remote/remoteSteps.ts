import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { changedPaths, treeContains } from '../git/capture';
import type { Repository } from '../git/repository';
import type { NewRunEvent, RunEvent } from '../state/events';
import { StepLog } from '../process/stepLog';
import type { RunContext } from '../run/runContext';
import type { EffectiveSettings } from '../run/settings';
import type { StepContext, StepOutcome } from '../run/stepRunner';
import { errorMessage } from '../util/errors';
import { runRef } from '../run/stateDir';
import { produces } from '../workflow/graph';
import { JOB_VERSION, JobProgressSchema, JobResultSchema, jobIdOf, type JobResult, type StepJob } from './stepJob';
import type { StepQueue } from './stepQueue';
import { baseRefOf, deleteRunRefs, fetchCommit, pushCommit, resultRefOf, type TeamRemote } from './teamRemote';

/** How often a followed job is read. */
const POLL_MS = 100;
/** A queue that answers no call for this long is lost: the steps it holds fail (resume runs them again). */
export const QUEUE_LOST_MS = 10_000;
/** How often the lock of an active job is looked at; lapsed at two looks this far apart, its worker is gone. */
const LOCK_CHECK_MS = 1_000;
/** How long past a step's time limits (setup and agent) the run waits for its worker to end it. */
const OVERDUE_MARGIN_SECONDS = 120;
/** A job no worker took for this long is said to wait for one. */
const WAITING_NOTE_MS = 2_000;

/** How following one job ended. */
type JobEnd =
  | { readonly kind: 'result'; readonly result: JobResult }
  | { readonly kind: 'stalled'; readonly worker: string | undefined }
  | { readonly kind: 'failed'; readonly error: string }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'lost'; readonly reason: string }
  | { readonly kind: 'overdue'; readonly seconds: number };

/**
 * The `queue` runner: each step attempt becomes a job that a worker (`tapps-flow worker`) takes,
 * runs with the same code as a local step, and answers with a result commit pushed to the team's
 * remote. The step still holds its slot of the run's p-queue while its job runs; its events are
 * those of a local step, with the worker's name; its result is fetched and checked against git
 * before it is recorded, so that the fold, the report and apply do not change.
 */
export class RemoteSteps {
  /** This engine's part of every job id: a resumed run never takes the job of an earlier engine. */
  private readonly nonce = randomBytes(4).toString('hex');
  private readonly pushed = new Map<string, Promise<void>>();

  constructor(
    private readonly repo: Repository,
    readonly queue: StepQueue,
    readonly remote: TeamRemote,
    private readonly run: { readonly runId: string; readonly baseCommit: string; readonly attempts: number },
    private readonly append: (event: NewRunEvent) => void,
  ) {}

  /** The workers' side of a run that has a queue and a team remote; none for a local run. */
  static of(ctx: RunContext, append: (event: NewRunEvent) => void): RemoteSteps | undefined {
    if (!ctx.remote) return undefined;
    const run = { runId: ctx.runId, baseCommit: ctx.base.commit, attempts: ctx.settings.queueAttempts };
    return new RemoteSteps(ctx.repo, ctx.remote.queue, ctx.remote.remote, run, append);
  }

  /** Runs one step (or candidate) on a worker; see the class. */
  async execute(ctx: StepContext): Promise<StepOutcome> {
    const key = ctx.worktreeKey ?? ctx.step.id;
    const cancelled = (): StepOutcome => ({
      status: 'cancelled',
      reason: ctx.signal.reason === 'step' ? 'cancelled by the user' : 'the run was cancelled',
    });
    if (ctx.signal.aborted) return cancelled();
    const log = await StepLog.open(ctx.logFile, { maxBytes: ctx.settings.logMaxBytes, secrets: ctx.setup.secretValues });
    let outcome: StepOutcome | undefined;
    try {
      const ref = baseRefOf(this.run.runId, key, ctx.stepBase.commit !== this.run.baseCommit);
      log.note(
        `step ${ctx.step.id}: through the queue at ${this.queue.address.display}; its base ${ctx.stepBase.commit.slice(0, 10)} goes to ${this.remote.display} as ${ref}`,
      );
      await this.push(ctx.stepBase.commit, ref);
      for (let attempt = 1; ; attempt++) {
        if (ctx.signal.aborted) return (outcome = cancelled());
        const jobId = jobIdOf(this.run.runId, key, this.nonce, attempt);
        await this.queue.add(jobId, this.jobOf(ctx, key, ref, attempt)).catch((error: unknown) => {
          throw new Error(this.lostWords(`did not take the step (${errorMessage(error)})`));
        });
        const end = await this.follow(jobId, ctx, log);
        if (end.kind === 'stalled' && attempt < this.run.attempts) {
          const reason = `${end.worker ? `worker ${end.worker}` : 'its worker'} stopped answering while it ran the step; queued again for another worker (attempt ${attempt + 1} of ${this.run.attempts})`;
          log.note(reason);
          if (key === ctx.step.id)
            this.append({
              type: 'step_retried',
              step: ctx.step.id,
              attempt: attempt + 1,
              reason,
              ...(end.worker ? { worker: end.worker } : {}),
            });
          continue;
        }
        outcome = await this.outcomeOf(end, ctx, key, log, cancelled);
        // The worker's log says how the step ended there; what ended it here is said here.
        if (end.kind !== 'result' || outcome.status !== end.result.outcome.status)
          log.note(`step ${ctx.step.id}: ${outcome.status}${outcome.status === 'failed' ? `: ${outcome.error}` : ''}`);
        return outcome;
      }
    } catch (error) {
      outcome = ctx.signal.aborted
        ? cancelled()
        : { status: 'failed', error: errorMessage(error), exitCode: null, lastLines: log.lastLines() };
      log.note(`error: ${errorMessage(error)}`);
      return outcome;
    } finally {
      await log.close();
    }
  }

  /**
   * A resumed run's first act: the jobs its earlier engine recorded are asked to stop. That engine
   * died, and no one follows them: their steps run again now, from their start.
   */
  async stopEarlierJobs(events: readonly RunEvent[]): Promise<void> {
    const jobs = new Set(events.flatMap((e) => ('job' in e && e.job !== undefined ? [e.job] : [])));
    for (const job of jobs) await this.queue.cancel(job, 'run').catch(() => undefined);
  }

  /** After the run: its refs are deleted from the remote (its results are here), and the queue let go. */
  async settled(): Promise<void> {
    await deleteRunRefs(this.repo.git, this.remote, this.run.runId).catch(() => undefined);
    await this.queue.close();
  }

  /** What a queue that does not answer means for the step, and what to do. */
  private lostWords(what: string): string {
    return `the queue at ${this.queue.address.display} ${what}. Start the queue again, then resume the run: tapps-flow resume ${this.run.runId}`;
  }

  /** Sends a step's base to the remote, once per ref. */
  private push(commit: string, ref: string): Promise<void> {
    let pushing = this.pushed.get(ref);
    if (!pushing) {
      pushing = pushCommit(this.repo.git, this.remote, commit, ref);
      this.pushed.set(ref, pushing);
      pushing.catch(() => this.pushed.delete(ref));
    }
    return pushing;
  }

  private jobOf(ctx: StepContext, key: string, ref: string, attempt: number): StepJob {
    // The run's machine's folders and remote are no worker's business.
    const settings: Partial<EffectiveSettings> = { ...ctx.settings };
    for (const key of ['worktreeRoot', 'sandboxWritable', 'queueRemote'] as const) delete settings[key];
    return {
      version: JOB_VERSION,
      runId: this.run.runId,
      key,
      attempt,
      workflow: { id: ctx.workflow.id, agents: ctx.workflow.agents },
      step: JSON.parse(JSON.stringify(ctx.step)) as StepJob['step'],
      base: { ...ctx.stepBase, ref },
      setup: JSON.parse(JSON.stringify(ctx.setup.plan)) as StepJob['setup'],
      settings,
      configuredAgents: { ...ctx.configuredAgents } as Record<string, string[]>,
    };
  }

  /** Follows a job to its end: its progress and log lines recorded as they come, a cancel passed on. */
  private async follow(jobId: string, ctx: StepContext, log: StepLog): Promise<JobEnd> {
    const added = Date.now();
    let answered = Date.now();
    let lastError = '';
    let logFrom = 0;
    let waitingNoted = false;
    let cancelAt: number | undefined;
    const seen = { setup: 0, started: false, progress: 0, worker: undefined as string | undefined };
    /**
     * The first worker seen holding the job. A stalled job is failed by the next worker that takes
     * it (BullMQ defers the failure), which its `processedBy` then names, and which may be seen
     * holding it for a moment: the worker that stopped answering is the one that said it ran the
     * step (its progress), else the first seen.
     */
    let activeBy: string | undefined;
    let activeSince: number | undefined;
    /** When the active job's lock was first seen lapsed (see `lockHeld`). */
    let lapsedSince: number | undefined;
    let lockCheckedAt = 0;
    const graceMs = (ctx.settings.killGraceSeconds + 15) * 1000;
    const limit = ctx.setup.plan.timeoutSeconds + (ctx.step.timeout_seconds ?? ctx.settings.timeoutSeconds);
    const overdueMs = (limit + 2 * ctx.settings.killGraceSeconds + OVERDUE_MARGIN_SECONDS) * 1000;
    for (;;) {
      if (ctx.signal.aborted && cancelAt === undefined) {
        cancelAt = Date.now();
        log.note(`cancelled: asking worker ${seen.worker ?? '(none yet)'} to stop the step`);
        await this.queue.cancel(jobId, String(ctx.signal.reason ?? 'run')).catch(() => undefined);
      }
      let view;
      try {
        view = await this.queue.view(jobId);
        const lines = await this.queue.logs(jobId, logFrom);
        logFrom += lines.length;
        if (lines.length > 0) log.write(Buffer.from(lines.map((l) => `${l}\n`).join('')));
        answered = Date.now();
      } catch (error) {
        lastError = errorMessage(error);
        if (Date.now() - answered >= QUEUE_LOST_MS) return { kind: 'lost', reason: lastError };
        await sleep(POLL_MS * 5);
        continue;
      }
      if (view) {
        const progress = JobProgressSchema.safeParse(view.progress);
        if (progress.success) this.recordProgress(jobId, progress.data, seen, ctx);
      }
      if (cancelAt !== undefined && (!view || ['waiting', 'prioritized', 'delayed'].includes(view.state))) return { kind: 'cancelled' };
      if (!view) return { kind: 'failed', error: 'its job left the queue before it ended (someone removed it)' };
      if (view.state === 'completed') {
        const result = JobResultSchema.safeParse(view.returnvalue);
        if (!result.success)
          return { kind: 'failed', error: `worker ${view.processedBy ?? '(unnamed)'} answered with a result that is not one` };
        return { kind: 'result', result: result.data };
      }
      if (view.state === 'failed') {
        if (/stalled/i.test(view.failedReason ?? '')) return { kind: 'stalled', worker: seen.worker ?? activeBy };
        return {
          kind: 'failed',
          error: `worker ${view.processedBy ?? '(unnamed)'} could not run it: ${view.failedReason ?? 'no reason given'}`,
        };
      }
      if (view.state !== 'active' && !waitingNoted && Date.now() - added > WAITING_NOTE_MS && ctx.worktreeKey === undefined) {
        waitingNoted = true;
        this.append({ type: 'step_waiting', step: ctx.step.id, reason: 'worker' });
        log.note(`no worker has taken the step yet: start one with tapps-flow worker --queue URL --remote URL`);
      }
      if (view.state === 'active') {
        activeBy ??= view.processedBy;
        activeSince ??= Date.now(); // by this machine's clock, not the worker's
      }
      // The worker enforces the step's time limits; past them and a margin, the run stops waiting.
      if (activeSince !== undefined && cancelAt === undefined && Date.now() - activeSince > overdueMs) {
        await this.queue.cancel(jobId, 'timeout').catch(() => undefined);
        return { kind: 'overdue', seconds: Math.round(overdueMs / 1000) };
      }
      if (view.state === 'active' && Date.now() - lockCheckedAt >= LOCK_CHECK_MS) {
        lockCheckedAt = Date.now();
        const held = await this.queue.lockHeld(jobId).catch(() => true);
        if (held) lapsedSince = undefined;
        else if (lapsedSince === undefined) lapsedSince = Date.now();
        else if (Date.now() - lapsedSince >= LOCK_CHECK_MS) {
          // Its worker is gone, and no other worker's stalled check got to it first: this attempt
          // is over (a cancel is left for it, should that worker come back).
          if (cancelAt !== undefined) return { kind: 'cancelled' }; // no one is left to confirm it
          await this.queue.cancel(jobId, 'lost').catch(() => undefined);
          return { kind: 'stalled', worker: seen.worker ?? activeBy };
        }
      }
      if (cancelAt !== undefined && Date.now() - cancelAt > graceMs) {
        log.note(`worker ${seen.worker ?? '(unnamed)'} did not confirm the stop in ${graceMs / 1000} s; the step counts as cancelled`);
        return { kind: 'cancelled' };
      }
      await sleep(POLL_MS);
    }
  }

  /** Records what the worker said since the last look: each setup command and the start once, progress as it moves. */
  private recordProgress(
    job: string,
    p: ReturnType<typeof JobProgressSchema.parse>,
    seen: { setup: number; started: boolean; progress: number; worker: string | undefined },
    ctx: StepContext,
  ): void {
    if (seen.worker !== p.worker) {
      // A new attempt's worker: everything it says is new.
      seen.worker = p.worker;
      seen.setup = 0;
      seen.started = false;
      seen.progress = 0;
    }
    const at = { worktree: p.worktree, pid: null, identity: null, worker: p.worker, job };
    if (p.setup && p.setup.count > seen.setup && !seen.started) {
      seen.setup = p.setup.count;
      ctx.onSettingUp({ ...at, ...(p.setup.command === undefined ? {} : { command: p.setup.command, origin: p.setup.origin }) });
    }
    if (p.started && !seen.started) {
      seen.started = true;
      ctx.onStarted({ ...at, confinement: p.started.confinement });
    }
    if (p.progress && p.progress.count > seen.progress) {
      seen.progress = p.progress.count;
      ctx.onProgress({ percent: p.progress.percent, message: p.progress.message });
    }
  }

  /** The step's outcome from how its job ended; a result only once it is here and is what the worker said. */
  private async outcomeOf(end: JobEnd, ctx: StepContext, key: string, log: StepLog, cancelled: () => StepOutcome): Promise<StepOutcome> {
    const lastLines = log.lastLines();
    switch (end.kind) {
      case 'cancelled':
        return cancelled();
      case 'lost':
        return {
          status: 'failed',
          error: this.lostWords(`stopped answering (${end.reason}), so the step could not be followed`),
          exitCode: null,
          lastLines,
        };
      case 'stalled':
        return {
          status: 'failed',
          error: `${end.worker ? `worker ${end.worker}` : 'its worker'} stopped answering while it ran the step, and it was tried ${this.run.attempts} time${this.run.attempts === 1 ? '' : 's'} in all (queue_attempts)`,
          exitCode: null,
          lastLines,
        };
      case 'failed':
        return { status: 'failed', error: end.error, exitCode: null, lastLines };
      case 'overdue':
        return {
          status: 'timed_out',
          error: `its worker did not end it within ${end.seconds} s (its time limits and a margin); it was asked to stop it`,
          lastLines,
        };
      case 'result':
        break;
    }
    const { outcome, worker } = end.result;
    if (outcome.status === 'cancelled')
      return ctx.signal.aborted ? cancelled() : { status: 'cancelled', reason: `${outcome.reason} (on worker ${worker})` };
    if (outcome.status === 'failed')
      return { status: 'failed', error: outcome.error, exitCode: outcome.exitCode, lastLines: outcome.lastLines };
    if (outcome.status === 'timed_out') return { status: 'timed_out', error: outcome.error, lastLines: outcome.lastLines };
    return this.fetchResult(ctx, key, worker, outcome);
  }

  /** Fetches a step's result and checks it: the commit the worker named, on the step's base, with the tree it named. */
  private async fetchResult(
    ctx: StepContext,
    key: string,
    worker: string,
    said: Extract<JobResult['outcome'], { status: 'succeeded' }>,
  ): Promise<StepOutcome> {
    const git = this.repo.git;
    // Held under a ref of its own while it is checked: only a result that passes becomes the step's.
    const local = runRef(this.run.runId, 'fetched', key);
    const fetched = await fetchCommit(git, this.remote, resultRefOf(this.run.runId, key), ctx.signal, local);
    const [tree, parent] = (await git.line(['show', '-s', '--format=%T %P', fetched])).split(' ');
    await git.run(['update-ref', '-d', local]);
    const fail = (why: string): StepOutcome => ({
      status: 'failed',
      error: `the result worker ${worker} returned is not kept: ${why}`,
      exitCode: null,
      lastLines: [],
    });
    if (fetched !== said.commit) return fail(`the remote holds ${fetched.slice(0, 10)}, and the worker named ${said.commit.slice(0, 10)}`);
    if (tree !== said.tree || parent !== ctx.stepBase.commit) return fail(`its commit ${fetched.slice(0, 10)} is not on the step's base`);
    const changed = await changedPaths(git, ctx.stepBase.tree, tree);
    const { step } = ctx;
    const missing: string[] = [];
    for (const created of step.creates) if (!(await treeContains(git, tree, created))) missing.push(created);
    if (missing.length > 0) return fail(`the step did not create what it declares: ${missing.join(', ')}`);
    const undeclared = changed.filter((p) => !step.creates.some((c) => produces(c, p) || c === p));
    return {
      status: 'succeeded',
      capture: { commit: fetched, tree, changed, submoduleWrites: said.submoduleWrites },
      undeclared,
      warnings: said.warnings,
    };
  }
}
