import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { captureWorktree, treeContains, type Capture } from '../git/capture';
import { importObjects } from '../git/objects';
import { withoutGitRedirects } from '../git/gitEnvironment';
import type { Repository } from '../git/repository';
import type { Worktrees } from '../git/worktrees';
import { processIdentity } from '../process/processIdentity';
import { startProcessTree, StartError } from '../process/processTree';
import { confine } from '../process/sandbox';
import { newStepTag, stopProcessesOf, tagEnvironment, ticksOfIdentity, type StepProcessSelector } from '../process/stepProcesses';
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
  readonly onStarted: (started: StepStart) => void;
  readonly onProgress: (progress: Progress) => void;
}

/** What is recorded when a step's command has started. */
export interface StepStart {
  readonly worktree: string;
  readonly pid: number;
  readonly identity: string | null;
  readonly token: string;
  readonly confinement: 'sandbox' | 'namespace' | 'tag';
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
    // Every process of the step carries the run and step ids and a token of this start: the tag by
    // which it is found wherever it went, and by which a later engine recognises it (and never
    // signals anything else). No variable that redirects git is passed on: a step's `git add`
    // must not reach the index of a hook that started the editor.
    const tag = newStepTag(ctx.runId, step.id);
    const env = {
      ...withoutGitRedirects(process.env),
      ...invocation.env,
      ...tagEnvironment(tag),
      TAPPS_WORKTREE: wt.dir,
      TAPPS_PROMPT: stepPrompt(step),
    };
    log.note(
      `step ${step.id}: ${step.agent === SHELL_AGENT ? `sh -c ${JSON.stringify(step.run)}` : invocation.argv.map((a) => JSON.stringify(a)).join(' ')} in ${wt.dir}`,
    );
    const unavailable = missingCommand(invocation.argv[0], wt.dir, (env as NodeJS.ProcessEnv).PATH);
    if (unavailable)
      return (outcome = {
        status: 'failed',
        error: `could not start the agent: ${unavailable}. Install it, or change the command of agent "${step.agent}".`,
        exitCode: null,
        lastLines: [],
      });
    const confined = confine(invocation.argv, settings.isolation, {
      worktree: wt.dir,
      gitEntry: wt.entry,
      commonDir: ctx.repo.commonDir,
      mainCheckout: ctx.repo.root,
      writable: settings.sandboxWritable,
    });
    if (confined.privateObjects) await mkdir(confined.privateObjects, { recursive: true });
    const confinement = confined.containment === 'tag' ? 'tag' : confined.isolation === 'sandbox' ? 'sandbox' : 'namespace';
    log.note(CONFINEMENT_NOTES[confinement]);
    let tree;
    try {
      tree = await startProcessTree(confined.argv, {
        cwd: wt.dir,
        env: { ...env, ...confined.env },
        stdin: invocation.stdin,
        sandboxInfo: confined.containment === 'namespace',
        onOutput: (chunk) => log.write(chunk),
      });
    } catch (error) {
      const reason =
        error instanceof StartError ? `${error.reason}. Install it, or change the command of agent "${step.agent}".` : errorMessage(error);
      return (outcome = { status: 'failed', error: `could not start the agent: ${reason}`, exitCode: null, lastLines: [] });
    }
    const identity = processIdentity(tree.pid) ?? null;
    ctx.onStarted({
      worktree: wt.dir,
      pid: tree.pid,
      identity,
      token: tag.token,
      confinement,
    });
    // The namespace bubblewrap made, once it says (at once, in practice; never waited for long).
    const namespace = tree.sandbox ? Promise.race([tree.sandbox, sleep(2_000, undefined, { ref: false })]) : Promise.resolve(undefined);
    const stopAll = async (ms: number) => {
      const sandbox = await namespace;
      const selector: StepProcessSelector = {
        tag,
        group: tree.pid,
        notBefore: ticksOfIdentity(identity),
        ...(sandbox ? { namespace: sandbox.pidNamespace, holders: [tree.pid, sandbox.initPid] } : {}),
      };
      return stopProcessesOf(selector, ms);
    };
    const timeoutMs = (step.timeout_seconds ?? settings.timeoutSeconds) * 1000;
    const graceMs = settings.killGraceSeconds * 1000;
    let stopReason: 'timeout' | 'cancelled' | undefined;
    const stop = (reason: 'timeout' | 'cancelled') => {
      stopReason ??= reason;
      log.note(
        reason === 'timeout' ? `timed out after ${timeoutMs / 1000} s: stopping the process tree` : 'cancelled: stopping the process tree',
      );
      void stopAll(graceMs);
    };
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = () => stop('cancelled');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal.aborted) onAbort();
    const exit = await tree.exited;
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    // Whatever the step left running (daemons, watchers, processes that left its group) must not
    // touch the capture. Under bubblewrap the kernel has ended them with the command already.
    await stopAll(stopReason ? graceMs : 0);
    await tree.drained(2_000); // the last lines of output are in the log before it is judged
    if (stopReason === 'timeout')
      return (outcome = {
        status: 'timed_out',
        error: `timed out after ${timeoutMs / 1000} s; its process tree was stopped`,
        lastLines: log.lastLines(),
      });
    if (stopReason === 'cancelled') return (outcome = cancelled());
    if (exit.code !== 0) {
      // bubblewrap reports a command killed by a signal as 128 + its number, as a shell does.
      const signal = exit.signal ?? (tree.sandbox && exit.code !== null && exit.code > 128 ? signalName(exit.code - 128) : null);
      const how = signal ? `was killed by ${signal}` : exit.code === null ? 'was killed by a signal' : `exited with code ${exit.code}`;
      return (outcome = {
        status: 'failed',
        error: `the agent ${how}; see the step's log`,
        exitCode: exit.code,
        lastLines: log.lastLines(),
      });
    }
    // A sandboxed step's git wrote its objects to a store of its own: imported (verified) first, or
    // else its index, which names them, is not used to speed up the capture.
    const seedIndex = confined.privateObjects ? await importObjects(ctx.repo.git, confined.privateObjects).catch(() => false) : true;
    const capture = await captureWorktree(ctx.repo, wt, step.id, ctx.stepBase, { seedIndex, env: tagEnvironment(tag) });
    // Whatever the capture's git started for the worktree (a filter it names) is the step's too.
    await stopAll(0);
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

const CONFINEMENT_NOTES = {
  sandbox:
    "isolation: sandbox (bubblewrap): only the worktree, its git folder and the agents' folders are writable; every process of the step ends with it",
  namespace: 'isolation: detect; the step runs in its own process namespace (bubblewrap): every process of the step ends with it',
  tag: "isolation: detect; the step's processes are tagged and swept when it ends (install bubblewrap to have the kernel keep them together)",
} as const;

function signalName(n: number): string | null {
  return Object.entries(osConstants.signals).find(([, value]) => value === n)?.[0] ?? null;
}

/**
 * Why `command` cannot be started from `cwd` with this PATH, or undefined if it can: said before
 * anything is spawned, so the message is the same whether or not the step runs in a sandbox.
 */
function missingCommand(command: string, cwd: string, searchPath: string | undefined): string | undefined {
  const candidates = command.includes('/')
    ? [path.resolve(cwd, command)]
    : (searchPath ?? '').split(path.delimiter).flatMap((dir) => (dir ? [path.join(path.resolve(cwd, dir), command)] : []));
  let found = false;
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      found = true;
      accessSync(candidate, fsConstants.X_OK);
      return undefined;
    } catch {
      // Not here, or not executable: look on.
    }
  }
  return found ? `"${command}" is not executable` : `command not found: "${command}"`;
}

/** The log file of a step inside a run's state folder. */
export function stepLogFile(stateDir: string, stepId: string): string {
  return path.join(stateDir, 'steps', stepId, 'log.txt');
}
