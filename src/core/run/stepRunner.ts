import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import path from 'node:path';
import { captureWorktree, treeContains, type Capture } from '../git/capture';
import { pathsHolding } from '../git/keepOut';
import { importObjects } from '../git/objects';
import { stepBaseEnvironment } from '../process/stepEnvironment';
import type { Repository } from '../git/repository';
import type { Worktrees } from '../git/worktrees';
import { leasePorts, type PortLease } from '../process/portLeases';
import { newStepTag, tagEnvironment } from '../process/stepProcesses';
import { ProgressThrottle } from '../process/progressThrottle';
import { StepLog, type Progress } from '../process/stepLog';
import type { ResolvedSetup } from '../setup/resolvePlan';
import { DependencyStore } from '../setup/dependencyStore';
import { setUpWorktree } from '../setup/setUpWorktree';
import { sharingKey } from '../setup/sharedDependencies';
import { errorMessage } from '../util/errors';
import { listed } from '../util/words';
import { resolveInvocation, stepPrompt, SHELL_AGENT } from '../workflow/agents';
import { produces } from '../workflow/graph';
import type { Step, Workflow } from '../workflow/schema';
import type { EffectiveSettings } from './settings';
import { confinementOf, runStepProcess, type Started, type StepProcessContext } from './stepProcess';

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
  /** The name of its worktree and process tag when it is not the step's id (a candidate's, see candidateWorktreeKey). */
  readonly worktreeKey?: string;
  readonly stepBase: { readonly commit: string; readonly tree: string; readonly time: number };
  readonly worktrees: Worktrees;
  readonly settings: EffectiveSettings;
  readonly logFile: string;
  readonly configuredAgents: Readonly<Record<string, readonly string[]>>;
  /** Aborted when the run or this step is cancelled. */
  readonly signal: AbortSignal;
  /** The run's setup of each step's worktree. */
  readonly setup: ResolvedSetup;
  readonly onSettingUp: (setting: SettingUp) => void;
  readonly onStarted: (started: StepStart) => void;
  readonly onProgress: (progress: Progress) => void;
  /** The token every process of this start will carry, told before the first one starts (a worker keeps it: see StepWorker). */
  readonly onTagged?: (token: string) => void;
}

/** What is recorded while a step's worktree is set up: once when it begins, then as each command starts. */
export interface SettingUp {
  readonly worktree: string;
  readonly pid: number | null;
  readonly identity: string | null;
  /** The tag of its processes; none for a step on a worker (its processes are the worker's to find). */
  readonly token?: string;
  readonly command?: string;
  readonly origin?: string;
  readonly port?: number;
  /** The worker it is set up on, and its job, for a step run through the queue. */
  readonly worker?: string;
  readonly job?: string;
}

/** What is recorded when a step's command has started; no process here for a step on a worker. */
export interface StepStart extends Omit<Started, 'pid'> {
  readonly pid: number | null;
  readonly worktree: string;
  readonly token?: string;
  readonly port?: number;
  readonly worker?: string;
  readonly job?: string;
}

/** Runs one step in its own worktree: create it, set it up, run the agent, capture what it changed. */
export async function runStep(ctx: StepContext): Promise<StepOutcome> {
  const { step, settings } = ctx;
  const key = ctx.worktreeKey ?? step.id;
  const cancelled = (): StepOutcome => ({
    status: 'cancelled',
    reason: ctx.signal.reason === 'step' ? 'cancelled by the user' : 'the run was cancelled',
  });
  if (ctx.signal.aborted) return cancelled();
  const progress = new ProgressThrottle(ctx.onProgress);
  const log = await StepLog.open(ctx.logFile, {
    maxBytes: settings.logMaxBytes,
    onProgress: (p) => progress.push(p),
    secrets: ctx.setup.secretValues,
  });
  let outcome: StepOutcome | undefined;
  let ports: PortLease | undefined;
  /** The key of shared dependency folders the worktree links to (see sharedDependencies.ts). */
  let linked: string | undefined;
  /** Says, once, whether the step changed linked shared folders (those are then dropped). */
  const sharedChanged = async (): Promise<string | undefined> => {
    const key = linked;
    linked = undefined;
    if (key === undefined || (await new DependencyStore(settings.worktreeRoot).intact(key))) return undefined;
    const note =
      'files of the shared dependency folders linked into its worktree changed while it ran (rewritten in place): they were dropped, and the next setup installs again';
    log.note(note);
    return note;
  };
  try {
    const sharing = await sharingKey(ctx.repo, ctx.setup.plan, ctx.stepBase, settings.dependencySharing);
    const wt = await ctx.worktrees.add(key, ctx.stepBase.commit, ctx.signal, sharing).catch((error: unknown) => {
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
    // Every process of the step (its setup's and its agent's) carries the run and step ids and a
    // token of this start: the tag by which it is found wherever it went, and by which a later
    // engine recognises it (and never signals anything else). No variable that redirects git is
    // passed on: a step's `git add` must not reach the index of a hook that started the editor.
    const tag = newStepTag(ctx.runId, key);
    ctx.onTagged?.(tag.token);
    // A block of ports of its own, for the dev servers of its setup and agent (Conductor's scripts
    // read CONDUCTOR_PORT).
    ports = await leasePorts(ctx.runId, key, settings.portsPerStep);
    const env = {
      ...stepBaseEnvironment(),
      ...invocation.env,
      TAPPS_WORKTREE: wt.dir,
      TAPPS_PROMPT: stepPrompt(step),
      TAPPS_PORT: String(ports.first),
      TAPPS_PORTS: String(ports.size),
      CONDUCTOR_PORT: String(ports.first),
    };
    const port = ports.first;
    const processes: StepProcessContext = { repo: ctx.repo, settings, worktree: wt, tag, env, log, signal: ctx.signal };
    log.note(CONFINEMENT_NOTES[confinementOf(processes)]);

    const setup = await setUpWorktree({ ...processes, env: { ...env, ...setupEnvironment(ctx, wt.dir) } }, ctx.setup.plan, ctx.stepBase, {
      onPhase: () => ctx.onSettingUp({ worktree: wt.dir, pid: null, identity: null, token: tag.token, port }),
      onCommand: (command, started) =>
        ctx.onSettingUp({
          worktree: wt.dir,
          pid: started.pid,
          identity: started.identity,
          token: tag.token,
          command: command.command,
          origin: command.origin,
          port,
        }),
    });
    if (setup.status === 'done') {
      if (setup.keep) ctx.worktrees.keep(key, setup.keep);
      linked = setup.linked;
    }
    if (setup.status === 'cancelled') return (outcome = cancelled());
    if (setup.status !== 'done')
      return (outcome =
        setup.status === 'timed_out'
          ? { status: 'timed_out', error: setup.error, lastLines: log.lastLines() }
          : { status: 'failed', error: setup.error, exitCode: null, lastLines: log.lastLines() });

    log.note(
      `step ${step.id}: ${step.agent === SHELL_AGENT ? `sh -c ${JSON.stringify(step.run)}` : invocation.argv.map((a) => JSON.stringify(a)).join(' ')} in ${wt.dir}`,
    );
    const unavailable = missingCommand(invocation.argv[0], wt.dir, (env as NodeJS.ProcessEnv).PATH);
    if (unavailable) {
      const error = `could not start the agent: ${unavailable}. Install it, or change the command of agent "${step.agent}".`;
      log.note(error);
      return (outcome = { status: 'failed', error, exitCode: null, lastLines: [] });
    }
    const timeoutMs = (step.timeout_seconds ?? settings.timeoutSeconds) * 1000;
    const agent = await runStepProcess(processes, invocation.argv, {
      stdin: invocation.stdin,
      timeoutMs,
      onStarted: (started) => ctx.onStarted({ worktree: wt.dir, token: tag.token, port, ...started }),
    });
    const { end } = agent;
    if (end.kind === 'not_started') {
      const error = `could not start the agent: ${end.reason}. Install it, or change the command of agent "${step.agent}".`;
      log.note(error);
      return (outcome = { status: 'failed', error, exitCode: null, lastLines: [] });
    }
    if (end.kind === 'timed_out')
      return (outcome = {
        status: 'timed_out',
        error: `timed out after ${end.seconds} s; its process tree was stopped`,
        lastLines: log.lastLines(),
      });
    if (end.kind === 'cancelled') return (outcome = cancelled());
    if (end.code !== 0)
      return (outcome = {
        status: 'failed',
        error: `the agent ${end.how}; see the step's log`,
        exitCode: end.code,
        lastLines: log.lastLines(),
      });
    // A sandboxed step's git wrote its objects to a store of its own: imported (verified) first, or
    // else its index, which names them, is not used to speed up the capture.
    const seedIndex = agent.privateObjects ? await importObjects(ctx.repo.git, agent.privateObjects).catch(() => false) : true;
    const brought = [...ctx.setup.plan.copy, ...ctx.setup.plan.symlink].map((p) => p.path);
    const capture = await captureWorktree(ctx.repo, wt, step.id, ctx.stepBase, {
      seedIndex,
      env: tagEnvironment(tag),
      keepOut: { paths: brought, ...(setup.setupTree ? { setupTree: setup.setupTree } : {}) },
    });
    // Whatever the capture's git started for the worktree (a filter it names) is the step's too.
    await agent.stopAll(0);
    const leaked = await pathsHolding(ctx.repo.git, capture.tree, capture.changed, ctx.setup.secretValues);
    if (leaked.length > 0)
      return (outcome = {
        status: 'failed',
        error: `the step wrote the value of a copied secret into ${listed(leaked.slice(0, 5))}${leaked.length > 5 ? ', …' : ''}; its result is not kept`,
        exitCode: 0,
        lastLines: log.lastLines(),
      });
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
    const shared = await sharedChanged();
    const warnings = [
      ...setup.warnings,
      ...(shared ? [shared] : []),
      ...(log.failure ? [`its log could not be written (${log.failure.message}); its output was not kept`] : []),
    ];
    return (outcome = { status: 'succeeded', capture, undeclared, warnings });
  } catch (error) {
    log.note(`error: ${errorMessage(error)}`);
    return (outcome = { status: 'failed', error: errorMessage(error), exitCode: null, lastLines: log.lastLines() });
  } finally {
    await sharedChanged().catch(() => undefined);
    progress.flush(); // the step's last progress line is recorded before its terminal event
    if (outcome) log.note(`step ${step.id}: ${outcome.status}`);
    await log.close();
    await ports?.release().catch(() => undefined);
    const keep = settings.keepWorktrees === 'always' || (settings.keepWorktrees === 'on_failure' && outcome?.status !== 'succeeded');
    if (!keep) ctx.worktrees.remove(key);
  }
}

/**
 * What setup commands find in their environment, as the tools whose files they come from set it:
 * Cursor's `ROOT_WORKTREE_PATH`, Conductor's `CONDUCTOR_*`, the Codex app's `CODEX_*`.
 */
function setupEnvironment(ctx: StepContext, worktree: string): Record<string, string> {
  return {
    TAPPS_ROOT: ctx.repo.root,
    ROOT_WORKTREE_PATH: ctx.repo.root,
    CONDUCTOR_ROOT_PATH: ctx.repo.root,
    CONDUCTOR_WORKSPACE_PATH: worktree,
    CONDUCTOR_WORKSPACE_NAME: ctx.step.id,
    CODEX_SOURCE_TREE_PATH: ctx.repo.root,
    CODEX_WORKTREE_PATH: worktree,
  };
}

const CONFINEMENT_NOTES = {
  sandbox:
    "isolation: sandbox (bubblewrap): only the worktree, its git folder and the agents' folders are writable; every process of the step ends with it",
  namespace: 'isolation: detect; the step runs in its own process namespace (bubblewrap): every process of the step ends with it',
  tag: "isolation: detect; the step's processes are tagged and swept when it ends (install bubblewrap to have the kernel keep them together)",
} as const;

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
