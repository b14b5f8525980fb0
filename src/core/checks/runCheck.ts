import { rm } from 'node:fs/promises';
import path from 'node:path';
import { stepBaseEnvironment } from '../process/stepEnvironment';
import type { Repository } from '../git/repository';
import type { Worktrees } from '../git/worktrees';
import { leasePorts, type PortLease } from '../process/portLeases';
import { shellArgv } from '../process/shell';
import { StepLog } from '../process/stepLog';
import { newStepTag } from '../process/stepProcesses';
import type { EffectiveSettings } from '../run/settings';
import { runStepProcess, type StepProcessContext } from '../run/stepProcess';
import { DependencyStore } from '../setup/dependencyStore';
import type { ResolvedSetup } from '../setup/resolvePlan';
import { setUpWorktree } from '../setup/setUpWorktree';
import { sharingKey } from '../setup/sharedDependencies';
import { checkLogPathOf, checkWorktreeKey } from '../state/checkRuns';
import type { CheckRunStatus, CheckRunTarget, NewRunEvent } from '../state/events';
import { crashPointAfter } from '../util/crashPoint';
import { errorMessage } from '../util/errors';
import { listed } from '../util/words';
import type { Check } from '../workflow/schema';

/** What a check run needs of its run. */
export interface CheckContext {
  readonly repo: Repository;
  readonly runId: string;
  readonly settings: EffectiveSettings;
  readonly worktrees: Worktrees;
  readonly setup: ResolvedSetup;
  readonly stateDir: string;
  readonly append: (event: NewRunEvent) => void;
  /** Puts what was appended on disk (a start's token must be there before its processes run long). */
  readonly flush: () => Promise<void>;
}

/** What one check run checks. */
export interface CheckTarget {
  readonly check: Check;
  readonly target: CheckRunTarget;
  readonly step?: string;
  /** For target `step` of a candidate step: the candidate whose result it is. */
  readonly candidate?: number;
  /** The steps folded into `commit`, in fold order. */
  readonly steps: readonly string[];
  readonly commit: string;
  readonly tree: string;
}

/** How a check run ended. */
export interface CheckVerdict {
  readonly status: CheckRunStatus;
  readonly exitCode: number | null;
  /** The last lines of its output (a score command's number is read from them). */
  readonly lastLines?: readonly string[];
}

/**
 * Runs check `n` once: a worktree of the commit (from the pool when one is parked), set up as a
 * step's is, then the check's command by `sh -c`, confined, tagged and stopped as a step's
 * processes are, within the check's time limit. Records `check_started` and `check_finished`;
 * never throws for a check that could not run (that is its `error` verdict).
 */
export async function runCheck(ctx: CheckContext, n: number, what: CheckTarget, signal: AbortSignal): Promise<CheckVerdict> {
  const key = checkWorktreeKey(n);
  const { settings } = ctx;
  const logFile = path.join(ctx.stateDir, checkLogPathOf(what.check.name, what.tree, what.target));
  await rm(logFile, { force: true }); // a resumed run checks again from a clean log
  const log = await StepLog.open(logFile, { maxBytes: settings.logMaxBytes, secrets: ctx.setup.secretValues });
  const tag = newStepTag(ctx.runId, key);
  const began = Date.now();
  const started = (worktree: string, pid: number | null, identity: string | null) =>
    ctx.append({
      type: 'check_started',
      n,
      check: what.check.name,
      target: what.target,
      ...(what.step === undefined ? {} : { step: what.step }),
      ...(what.candidate === undefined ? {} : { candidate: what.candidate }),
      steps: [...what.steps],
      commit: what.commit,
      tree: what.tree,
      worktree,
      pid,
      identity,
      token: tag.token,
    });
  // The object returned: its last lines are added in `finally`, after the return value is chosen.
  let verdict: { status: CheckRunStatus; exitCode: number | null; lastLines?: readonly string[] } = { status: 'error', exitCode: null };
  let detail: string | undefined;
  let ports: PortLease | undefined;
  let made = false;
  let linked: string | undefined;
  try {
    const sharing = await sharingKey(ctx.repo, ctx.setup.plan, { tree: what.tree }, settings.dependencySharing);
    started(ctx.worktrees.pathOf(key), null, null);
    const wt = await ctx.worktrees.add(key, what.commit, signal, sharing);
    made = true;
    if (signal.aborted) return (verdict = { status: 'cancelled', exitCode: null });
    ports = await leasePorts(ctx.runId, key, settings.portsPerStep);
    const env = {
      ...stepBaseEnvironment(),
      ...what.check.env,
      TAPPS_WORKTREE: wt.dir,
      TAPPS_CHECK: what.check.name,
      TAPPS_PORT: String(ports.first),
      TAPPS_PORTS: String(ports.size),
      CONDUCTOR_PORT: String(ports.first),
    };
    const processes: StepProcessContext = { repo: ctx.repo, settings, worktree: wt, tag, env, log, signal };
    log.note(`check ${what.check.name} on ${describeTarget(what)} (${what.commit.slice(0, 12)}) in ${wt.dir}`);
    const setup = await setUpWorktree(
      processes,
      ctx.setup.plan,
      { tree: what.tree },
      {
        onPhase: () => undefined,
        // Each setup command's process is recorded as the check's, so a later engine finds its orphans.
        onCommand: (_, s) => {
          started(wt.dir, s.pid, s.identity);
          void ctx.flush().catch(() => undefined);
        },
      },
    );
    if (setup.status === 'done') {
      if (setup.keep) ctx.worktrees.keep(key, setup.keep);
      linked = setup.linked;
    }
    if (setup.status === 'cancelled') return (verdict = { status: 'cancelled', exitCode: null });
    if (setup.status !== 'done') {
      detail = `the setup of its worktree ${setup.status === 'timed_out' ? 'timed out' : 'failed'}: ${setup.error}`;
      return (verdict = { status: setup.status === 'timed_out' ? 'timed_out' : 'failed', exitCode: null });
    }
    log.note(`── check ── ${JSON.stringify(what.check.run)}`);
    const timeoutMs = (what.check.timeout_seconds ?? settings.timeoutSeconds) * 1000;
    const ran = await runStepProcess(processes, shellArgv(what.check.run), {
      timeoutMs,
      onStarted: (s) => {
        started(wt.dir, s.pid, s.identity);
        void ctx.flush().catch(() => undefined);
      },
    });
    const { end } = ran;
    if (end.kind === 'not_started') {
      detail = `could not start it: ${end.reason}`;
      return (verdict = { status: 'error', exitCode: null });
    }
    if (end.kind === 'timed_out') {
      detail = `timed out after ${end.seconds} s; its process tree was stopped`;
      return (verdict = { status: 'timed_out', exitCode: null });
    }
    if (end.kind === 'cancelled') return (verdict = { status: 'cancelled', exitCode: null });
    if (end.code !== 0) detail = `it ${end.how}`;
    return (verdict = { status: end.code === 0 ? 'passed' : 'failed', exitCode: end.code });
  } catch (error) {
    if (signal.aborted) return (verdict = { status: 'cancelled', exitCode: null });
    detail = `it could not run: ${errorMessage(error)}`;
    log.note(`error: ${errorMessage(error)}`);
    return verdict;
  } finally {
    if (linked !== undefined && !(await new DependencyStore(settings.worktreeRoot).intact(linked).catch(() => true)))
      log.note('files of the shared dependency folders changed while the check ran: they were dropped, and the next setup installs again');
    if (verdict.status === 'cancelled') detail ??= 'cancelled';
    log.note(`check ${what.check.name}: ${verdict.status}${detail ? ` (${detail})` : ''}`);
    const lastLines = log.lastLines();
    verdict.lastLines = lastLines;
    await log.close();
    await ports?.release().catch(() => undefined);
    if (made) ctx.worktrees.remove(key);
    ctx.append({
      type: 'check_finished',
      n,
      status: verdict.status,
      exitCode: verdict.exitCode,
      durationMs: Date.now() - began,
      lastLines,
      ...(detail ? { detail } : {}),
    });
    await crashPointAfter('check-finished', ctx.flush);
  }
}

/** What a check run checked, for its log. */
export function describeTarget(what: {
  readonly target: CheckTarget['target'];
  readonly step?: string;
  readonly candidate?: number;
  readonly steps: readonly string[];
}): string {
  switch (what.target) {
    case 'aggregate':
      return 'the aggregate';
    case 'alternative':
      return 'the aggregate without the steps that broke it';
    case 'base':
      return "the run's base";
    case 'step':
      return `the result of ${what.candidate === undefined ? 'step' : `candidate ${what.candidate} of`} ${what.step ?? ''}`;
    case 'subset':
      return `the base with ${listed(what.steps)} folded in`;
  }
}
