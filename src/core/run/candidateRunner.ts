import path from 'node:path';
import { pickReason, rankCandidates, type CandidateScore } from '../checks/candidates';
import type { Verifier } from '../checks/verify';
import { candidateLogPathOf, candidateWorktreeKey } from '../state/checkRuns';
import type { NewRunEvent } from '../state/events';
import { crashPointAfter } from '../util/crashPoint';
import { errorMessage } from '../util/errors';
import { listed } from '../util/words';
import type { Step } from '../workflow/schema';
import { runRef } from './stateDir';
import type { SettingUp, StepContext, StepOutcome, StepStart } from './stepRunner';

/** What a candidate's start records of its setup's or agent's start. */
function startOf(s: SettingUp | StepStart) {
  return {
    worktree: s.worktree,
    pid: s.pid,
    identity: s.identity,
    ...(s.token === undefined ? {} : { token: s.token }),
    ...(s.worker === undefined ? {} : { worker: s.worker }),
    ...(s.job === undefined ? {} : { job: s.job }),
  };
}

/** What the candidates of a step need of their run (see WorkflowRun). */
export interface CandidateHost {
  /** A step context of the run for `step`, without what each attempt sets itself. */
  readonly context: (
    step: Step,
    base: StepContext['stepBase'],
  ) => Omit<StepContext, 'worktreeKey' | 'logFile' | 'onSettingUp' | 'onStarted' | 'onProgress'>;
  readonly stateDir: string;
  readonly verifier: Verifier;
  readonly append: (event: NewRunEvent) => void;
  readonly flush: () => Promise<void>;
  /** Whether the step was cancelled or skipped before this attempt began. */
  readonly ended: () => boolean;
  /** Lets one more attempt of the run start once the machine has room (see waitForRoom); false when cancelled. */
  readonly admit: (signal: AbortSignal) => Promise<boolean>;
  readonly release: () => void;
  /** Around each attempt's task: the step is running (for the attribution of escapes). */
  readonly attemptStarted: () => void;
  readonly attemptEnded: () => void;
  /** Runs one attempt: here (runStep), or on a worker. */
  readonly execute: (ctx: StepContext) => Promise<StepOutcome>;
}

/**
 * Queues every attempt of a candidate step (see `CandidateGroup`) as a task of its own with `add`:
 * they run side by side within the run's bound.
 */
export function queueCandidates(
  host: CandidateHost,
  step: Step,
  agents: readonly string[],
  stepBase: () => Promise<StepContext['stepBase']>,
  signal: AbortSignal,
  done: (outcome: StepOutcome) => Promise<void>,
  add: (task: () => Promise<void>) => void,
): void {
  const group = new CandidateGroup(host, step, agents, stepBase, signal, done);
  agents.forEach((_, i) =>
    add(async () => {
      host.attemptStarted();
      await group.run(i + 1).finally(() => host.attemptEnded());
    }),
  );
}

/**
 * A candidate step (best-of-N): one attempt per agent of `agents`, each a task of the run's queue
 * (so each counts toward its bound) in a worktree of its own, from the same base. Each succeeded
 * attempt is kept under `refs/tapps-flow/runs/<run>/candidates/<step>/<n>`, checked with the
 * step-level checks and scored; when the last one has ended, the ranking (see `rankCandidates`)
 * picks the one whose result is the step's.
 */
export class CandidateGroup {
  private remaining: number;
  private readonly outcomes = new Map<number, StepOutcome>();
  private readonly scores = new Map<number, CandidateScore>();
  private base: Promise<StepContext['stepBase']> | undefined;

  constructor(
    private readonly host: CandidateHost,
    private readonly step: Step,
    private readonly agents: readonly string[],
    private readonly stepBase: () => Promise<StepContext['stepBase']>,
    private readonly signal: AbortSignal,
    /**
     * The step's outcome: the winner's result (or why there is none), once every attempt ended.
     * Awaited inside the last attempt's task, so that the run's queue is not idle before the steps
     * after this one are queued.
     */
    private readonly done: (outcome: StepOutcome) => Promise<void>,
  ) {
    this.remaining = agents.length;
  }

  /** Runs candidate `n` (from 1): one task of the run's queue. */
  async run(n: number): Promise<void> {
    const { host, step } = this;
    const agent = this.agents[n - 1];
    let outcome: StepOutcome = { status: 'cancelled', reason: 'the step was cancelled before this candidate started' };
    let admitted = false;
    try {
      if (!host.ended() && !this.signal.aborted && (admitted = await host.admit(this.signal))) {
        this.base ??= this.stepBase();
        outcome = await this.attempt(n, agent, await this.base);
      }
    } catch (error) {
      outcome = { status: 'failed', error: errorMessage(error), exitCode: null, lastLines: [] };
    } finally {
      if (admitted) host.release();
    }
    const score = await this.scoreOf(n, outcome).catch(() => undefined);
    this.outcomes.set(n, outcome);
    this.scores.set(n, score ?? { n, succeeded: false, checksPassed: 0, checksRun: 0, score: null, diffSize: null });
    host.append({
      type: 'candidate_finished',
      step: step.id,
      candidate: n,
      agent,
      status: outcome.status,
      result: outcome.status === 'succeeded' ? outcome.capture.commit : null,
      tree: outcome.status === 'succeeded' ? outcome.capture.tree : null,
      changed: outcome.status === 'succeeded' ? [...outcome.capture.changed] : [],
      undeclared: outcome.status === 'succeeded' ? [...outcome.undeclared] : [],
      error: outcome.status === 'succeeded' ? null : outcome.status === 'cancelled' ? outcome.reason : outcome.error,
      checksPassed: score?.checksPassed ?? 0,
      checksRun: score?.checksRun ?? 0,
      score: score?.score ?? null,
      diffSize: score?.diffSize ?? null,
    });
    await crashPointAfter('candidate-finished', host.flush);
    if (--this.remaining === 0) await this.done(this.pick());
  }

  /** One attempt: the step with this candidate's agent, in a worktree of its own, its events the candidate's. */
  private async attempt(n: number, agent: string, base: StepContext['stepBase']): Promise<StepOutcome> {
    const { host, step } = this;
    const started = (s: ReturnType<typeof startOf>) => {
      host.append({ type: 'candidate_started', step: step.id, candidate: n, agent, base: base.commit, ...s });
      if (s.pid !== null) void host.flush().catch(() => undefined);
    };
    const outcome = await host.execute({
      ...host.context({ ...step, agent }, base),
      worktreeKey: candidateWorktreeKey(step.id, n),
      logFile: path.join(host.stateDir, candidateLogPathOf(step.id, n)),
      onSettingUp: (s) => started(startOf(s)),
      onStarted: (s) => started(startOf(s)),
      onProgress: (p) => host.append({ type: 'step_progress', step: step.id, percent: p.percent, message: `candidate ${n}: ${p.message}` }),
    });
    if (outcome.status === 'succeeded') {
      const { repo, runId } = host.context(step, base);
      await repo.git.run(['update-ref', runRef(runId, 'candidates', step.id, String(n)), outcome.capture.commit]);
    }
    return outcome;
  }

  /** What candidate `n` is ranked by: its step-level checks, then its score or the size of its change. */
  private async scoreOf(n: number, outcome: StepOutcome): Promise<CandidateScore> {
    const none = { n, succeeded: false, checksPassed: 0, checksRun: 0, score: null, diffSize: null };
    if (outcome.status !== 'succeeded' || this.signal.aborted) return none;
    const result = outcome.capture;
    const checks = await this.host.verifier.checkCandidate(this.step.id, n, result, this.signal);
    if (!checks) return none; // cancelled
    const declared = this.step.score;
    if (declared !== undefined) {
      const command = typeof declared === 'string' ? declared : declared.run;
      const score = await this.host.verifier.score(this.step.id, n, command, result, this.signal);
      return { n, succeeded: true, checksPassed: checks.passed, checksRun: checks.run, score, diffSize: null };
    }
    const base = await this.base!;
    const numstat = await this.host
      .context(this.step, base)
      .repo.git.run(['diff', '--numstat', '--no-renames', base.commit, result.commit]);
    let lines = 0;
    for (const row of numstat.split('\n')) {
      const [added, removed] = row.split('\t');
      // A binary file counts as one line each way.
      if (added !== undefined && removed !== undefined) lines += (Number(added) || 1) + (Number(removed) || (removed === '-' ? 1 : 0));
    }
    return { n, succeeded: true, checksPassed: checks.passed, checksRun: checks.run, score: null, diffSize: lines };
  }

  /** The step's outcome: the best candidate's, recorded as picked; or why none can be the step's. */
  private pick(): StepOutcome {
    const { step } = this;
    const declared = step.score !== undefined;
    const better = typeof step.score === 'object' ? step.score.better : 'higher';
    const ranked = rankCandidates([...this.scores.values()], { declared, better });
    const best = ranked[0];
    const outcome = best ? this.outcomes.get(best.n) : undefined;
    if (!best || !outcome || outcome.status !== 'succeeded') {
      const all = [...this.outcomes.values()];
      if (all.length > 0 && all.every((o) => o.status === 'cancelled'))
        return { status: 'cancelled', reason: (all[0] as { reason: string }).reason };
      const how = [...this.outcomes.entries()].sort(([a], [b]) => a - b).map(([n, o]) => `candidate ${n} ${o.status.replace('_', ' ')}`);
      return {
        status: 'failed',
        error: `no candidate succeeded (${listed(how)}); see each candidate's log`,
        exitCode: null,
        lastLines: [],
      };
    }
    if (best.checksPassed < best.checksRun)
      return {
        status: 'failed',
        error: `no candidate passed every check of the step (the best, candidate ${best.n}, passed ${best.checksPassed} of ${best.checksRun}); see the checks' logs`,
        exitCode: null,
        lastLines: [],
      };
    this.host.append({
      type: 'candidate_picked',
      step: step.id,
      candidate: best.n,
      ranking: ranked.map((c) => c.n),
      reason: pickReason(ranked, declared),
      by: 'ranking',
    });
    return outcome;
  }
}
