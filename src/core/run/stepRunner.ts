import path from 'node:path';
import { captureWorktree, treeContains, type Capture } from '../git/capture';
import { withoutGitRedirects } from '../git/gitEnvironment';
import type { Repository } from '../git/repository';
import type { Worktrees } from '../git/worktrees';
import { processIdentity } from '../process/processIdentity';
import { startProcessTree, StartError, stopGroup } from '../process/processTree';
import { ProgressThrottle } from '../process/progressThrottle';
import { StepLog, type Progress } from '../process/stepLog';
import { errorMessage } from '../util/errors';
import { resolveInvocation, stepPrompt, SHELL_AGENT } from '../workflow/agents';
import { produces } from '../workflow/graph';
import type { Step, Workflow } from '../workflow/schema';
import type { EffectiveSettings } from './settings';

/** How one step ended. */
export type StepOutcome =
  | {
      readonly status: 'succeeded';
      readonly capture: Capture;
      readonly undeclared: readonly string[];
      readonly warnings: readonly string[];
    }
  | { readonly status: 'failed'; readonly error: string; readonly exitCode: number | null; readonly lastLines: readonly string[] }
  | { readonly status: 'timed_out'; readonly error: string; readonly lastLines: readonly string[] }
  | { readonly status: 'cancelled'; readonly reason: string };

export interface StepContext {
  readonly repo: Repository;
  readonly runId: string;
  readonly workflow: Workflow;
  readonly step: Step;
  readonly stepBase: { readonly commit: string; readonly tree: string; readonly time: number };
  readonly worktrees: Worktrees;
  readonly settings: EffectiveSettings;
  readonly logFile: string;
  readonly configuredAgents: Readonly<Record<string, readonly string[]>>;
  /** Aborted when the run or this step is cancelled. */
  readonly signal: AbortSignal;
  readonly onStarted: (worktree: string, pid: number, identity: string | null) => void;
  readonly onProgress: (progress: Progress) => void;
}

/** Runs one step in its own worktree: create it, run the agent, capture what it changed. */
export async function runStep(ctx: StepContext): Promise<StepOutcome> {
  const { step, settings } = ctx;
  const cancelled = (): StepOutcome => ({
    status: 'cancelled',
    reason: ctx.signal.reason === 'step' ? 'cancelled by the user' : 'the run was cancelled',
  });
  if (ctx.signal.aborted) return cancelled();
  const progress = new ProgressThrottle(ctx.onProgress);
  const log = await StepLog.open(ctx.logFile, { maxBytes: settings.logMaxBytes, onProgress: (p) => progress.push(p) });
  let outcome: StepOutcome | undefined;
  try {
    const wt = await ctx.worktrees.add(step.id, ctx.stepBase.commit, ctx.signal).catch((error: unknown) => {
      if (ctx.signal.aborted) return undefined;
      throw error;
    });
    if (!wt) return (outcome = cancelled());
    if (ctx.signal.aborted) return (outcome = cancelled());
    const invocation = resolveInvocation(
      ctx.workflow,
      step,
      { prompt: stepPrompt(step), step: step.id, worktree: wt.dir, run: ctx.runId, action: step.action ?? '', agent: step.agent },
      ctx.configuredAgents,
    );
    // The step's processes carry the run and step ids: the tag by which a later process recognises
    // them as this run's (and never signals anything else). No variable that redirects git is
    // passed on: a step's `git add` must not reach the index of a hook that started the editor.
    const env = {
      ...withoutGitRedirects(process.env),
      ...invocation.env,
      TAPPS_RUN_ID: ctx.runId,
      TAPPS_STEP_ID: step.id,
      TAPPS_WORKTREE: wt.dir,
      TAPPS_PROMPT: stepPrompt(step),
    };
    log.note(
      `step ${step.id}: ${step.agent === SHELL_AGENT ? `sh -c ${JSON.stringify(step.run)}` : invocation.argv.map((a) => JSON.stringify(a)).join(' ')} in ${wt.dir}`,
    );
    let tree;
    try {
      tree = await startProcessTree(invocation.argv, { cwd: wt.dir, env, stdin: invocation.stdin, onOutput: (chunk) => log.write(chunk) });
    } catch (error) {
      const reason =
        error instanceof StartError ? `${error.reason}. Install it, or change the command of agent "${step.agent}".` : errorMessage(error);
      return (outcome = { status: 'failed', error: `could not start the agent: ${reason}`, exitCode: null, lastLines: [] });
    }
    ctx.onStarted(wt.dir, tree.pid, processIdentity(tree.pid) ?? null);
    const timeoutMs = (step.timeout_seconds ?? settings.timeoutSeconds) * 1000;
    const graceMs = settings.killGraceSeconds * 1000;
    let stopReason: 'timeout' | 'cancelled' | undefined;
    const stop = (reason: 'timeout' | 'cancelled') => {
      stopReason ??= reason;
      log.note(
        reason === 'timeout' ? `timed out after ${timeoutMs / 1000} s: stopping the process tree` : 'cancelled: stopping the process tree',
      );
      void tree.stop(graceMs);
    };
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = () => stop('cancelled');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal.aborted) onAbort();
    const exit = await tree.exited;
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    // Whatever the step left running in its group (daemons, watchers) must not touch the capture.
    await stopGroup(tree.pid, stopReason ? graceMs : 0);
    await tree.drained(2_000); // the last lines of output are in the log before it is judged
    if (stopReason === 'timeout')
      return (outcome = {
        status: 'timed_out',
        error: `timed out after ${timeoutMs / 1000} s; its process tree was stopped`,
        lastLines: log.lastLines(),
      });
    if (stopReason === 'cancelled') return (outcome = cancelled());
    if (exit.code !== 0) {
      const how = exit.code === null ? `was killed by ${exit.signal ?? 'a signal'}` : `exited with code ${exit.code}`;
      return (outcome = {
        status: 'failed',
        error: `the agent ${how}; see the step's log`,
        exitCode: exit.code,
        lastLines: log.lastLines(),
      });
    }
    const capture = await captureWorktree(ctx.repo, wt, step.id, ctx.stepBase);
    const missing: string[] = [];
    for (const created of step.creates) if (!(await treeContains(ctx.repo.git, capture.tree, created))) missing.push(created);
    if (missing.length > 0) {
      return (outcome = {
        status: 'failed',
        error: `the step did not create what it declares: ${missing.join(', ')}`,
        exitCode: 0,
        lastLines: log.lastLines(),
      });
    }
    const undeclared = capture.changed.filter((p) => !step.creates.some((c) => produces(c, p) || c === p));
    if (undeclared.length > 0 && settings.failOnUndeclaredChanges) {
      return (outcome = {
        status: 'failed',
        error: `the step changed paths outside its "creates": ${undeclared.slice(0, 10).join(', ')}${undeclared.length > 10 ? ', …' : ''}`,
        exitCode: 0,
        lastLines: log.lastLines(),
      });
    }
    const warnings = log.failure ? [`its log could not be written (${log.failure.message}); its output was not kept`] : [];
    return (outcome = { status: 'succeeded', capture, undeclared, warnings });
  } catch (error) {
    log.note(`error: ${errorMessage(error)}`);
    return (outcome = { status: 'failed', error: errorMessage(error), exitCode: null, lastLines: log.lastLines() });
  } finally {
    progress.flush(); // the step's last progress line is recorded before its terminal event
    if (outcome) log.note(`step ${step.id}: ${outcome.status}`);
    await log.close();
    const keep = settings.keepWorktrees === 'always' || (settings.keepWorktrees === 'on_failure' && outcome?.status !== 'succeeded');
    if (!keep) ctx.worktrees.remove(step.id);
  }
}

/** The log file of a step inside a run's state folder. */
export function stepLogFile(stateDir: string, stepId: string): string {
  return path.join(stateDir, 'steps', stepId, 'log.txt');
}
