import type { StepWorktree } from '../git/worktrees';
import { mkdir } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Repository } from '../git/repository';
import { processIdentityOfChild } from '../process/processIdentity';
import { startProcessTree, StartError } from '../process/processTree';
import { confine, type Confinement } from '../process/sandbox';
import { stopProcessesOf, tagEnvironment, ticksOfIdentity, type StepProcessSelector, type StepTag } from '../process/stepProcesses';
import type { StepLog } from '../process/stepLog';
import type { EffectiveSettings } from './settings';

/** Where and as whom a step's processes run: its worktree, its tag, its log, its cancellation. */
export interface StepProcessContext {
  readonly repo: Repository;
  readonly settings: EffectiveSettings;
  readonly worktree: StepWorktree;
  readonly tag: StepTag;
  /** The environment without the tag (added here). */
  readonly env: NodeJS.ProcessEnv;
  readonly log: StepLog;
  /** Aborted when the run or this step is cancelled. */
  readonly signal: AbortSignal;
}

/** A process tree of the step, started. */
export interface Started {
  readonly pid: number;
  readonly identity: string | null;
  readonly confinement: 'sandbox' | 'namespace' | 'tag';
}

/** How a process tree of the step ended. */
export type ProcessEnd =
  | { readonly kind: 'exited'; readonly code: number | null; readonly how: string }
  | { readonly kind: 'timed_out'; readonly seconds: number }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'not_started'; readonly reason: string };

export interface Finished {
  readonly end: ProcessEnd;
  /** The store a sandboxed step's git wrote its new objects to, to import (see `privateObjectStore`). */
  readonly privateObjects?: string;
  /** Stops whatever of this start is still running (its tag), after a grace period of `ms`. */
  readonly stopAll: (ms: number) => Promise<number>;
}

/**
 * Runs one command of a step (a setup command, or its agent) in the step's worktree: confined as
 * the run's isolation says, tagged, logged, stopped in stages on timeout or cancel, and with
 * everything it started stopped when it ends.
 */
export async function runStepProcess(
  ctx: StepProcessContext,
  argv: readonly string[],
  options: { readonly stdin?: string; readonly timeoutMs: number; readonly onStarted: (started: Started) => void },
): Promise<Finished> {
  const none = () => Promise.resolve(0);
  if (ctx.signal.aborted) return { end: { kind: 'cancelled' }, stopAll: none };
  const command = confined(ctx, argv);
  if (command.privateObjects) await mkdir(command.privateObjects, { recursive: true });
  const confinement = kindOf(command);
  let tree;
  try {
    tree = await startProcessTree(command.argv, {
      cwd: ctx.worktree.dir,
      env: { ...ctx.env, ...tagEnvironment(ctx.tag), ...command.env },
      stdin: options.stdin,
      sandboxInfo: command.containment === 'namespace',
      onOutput: (chunk) => ctx.log.write(chunk),
    });
  } catch (error) {
    const reason = error instanceof StartError ? error.reason : error instanceof Error ? error.message : String(error);
    return { end: { kind: 'not_started', reason }, stopAll: none };
  }
  const identity = (await processIdentityOfChild(tree.pid)) ?? null;
  options.onStarted({ pid: tree.pid, identity, confinement });
  // The namespace bubblewrap made, once it says (at once, in practice; never waited for long).
  const namespace = tree.sandbox ? Promise.race([tree.sandbox, sleep(2_000, undefined, { ref: false })]) : Promise.resolve(undefined);
  const stopAll = async (ms: number) => {
    const sandbox = await namespace;
    const selector: StepProcessSelector = {
      tag: ctx.tag,
      group: tree.pid,
      // Its descendants: on Windows, without groups or readable tags, what finds them.
      leader: tree.pid,
      notBefore: ticksOfIdentity(identity),
      ...(sandbox ? { namespace: sandbox.pidNamespace, holders: [tree.pid, sandbox.initPid] } : {}),
    };
    return stopProcessesOf(selector, ms);
  };
  const graceMs = ctx.settings.killGraceSeconds * 1000;
  let stopReason: 'timeout' | 'cancelled' | undefined;
  const stop = (reason: 'timeout' | 'cancelled') => {
    stopReason ??= reason;
    ctx.log.note(
      reason === 'timeout'
        ? `timed out after ${options.timeoutMs / 1000} s: stopping the process tree`
        : 'cancelled: stopping the process tree',
    );
    void stopAll(graceMs);
  };
  const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
  const onAbort = () => stop('cancelled');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();
  const exit = await tree.exited;
  clearTimeout(timer);
  ctx.signal.removeEventListener('abort', onAbort);
  // Whatever it left running (daemons, watchers, processes that left its group) must not touch
  // what comes next. Under bubblewrap the kernel has ended them with the command already.
  await stopAll(stopReason ? graceMs : 0);
  await tree.drained(2_000); // the last lines of output are in the log before it is judged
  ctx.log.endOfOutput();
  const objects = command.privateObjects ? { privateObjects: command.privateObjects } : {};
  if (stopReason === 'timeout') return { end: { kind: 'timed_out', seconds: options.timeoutMs / 1000 }, stopAll, ...objects };
  if (stopReason === 'cancelled') return { end: { kind: 'cancelled' }, stopAll, ...objects };
  if (exit.notStarted !== undefined) return { end: { kind: 'not_started', reason: exit.notStarted }, stopAll, ...objects };
  // bubblewrap reports a command killed by a signal as 128 + its number, as a shell does.
  const signal = exit.signal ?? (tree.sandbox && exit.code !== null && exit.code > 128 ? signalName(exit.code - 128) : null);
  const how = signal ? `was killed by ${signal}` : exit.code === null ? 'was killed by a signal' : `exited with code ${exit.code}`;
  return { end: { kind: 'exited', code: exit.code, how }, stopAll, ...objects };
}

/** The command as the run's isolation starts it (under bubblewrap, sandbox-exec, or as it is). */
function confined(ctx: StepProcessContext, argv: readonly string[]): Confinement {
  return confine(argv, ctx.settings.isolation, {
    worktree: ctx.worktree.dir,
    gitEntry: ctx.worktree.entry,
    commonDir: ctx.repo.commonDir,
    mainCheckout: ctx.repo.root,
    writable: ctx.settings.sandboxWritable,
  });
}

function kindOf(c: Confinement): Started['confinement'] {
  return c.containment === 'tag' ? 'tag' : c.isolation === 'sandbox' ? 'sandbox' : 'namespace';
}

/** How the step's processes will be kept together and in their worktree. */
export function confinementOf(ctx: StepProcessContext): Started['confinement'] {
  return kindOf(confined(ctx, []));
}

function signalName(n: number): string | null {
  return Object.entries(osConstants.signals).find(([, value]) => value === n)?.[0] ?? null;
}
