import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { processIdentity } from './processIdentity';

/**
 * Finding and stopping every process of one step, wherever it went.
 *
 * A step's processes are found three ways, all verified through `/proc` (Linux):
 * - its process group (what a plain `kill(-pgid)` reaches);
 * - its PID namespace, when it runs under bubblewrap: the kernel keeps every descendant in it,
 *   whatever it does to its session, group or environment;
 * - its tag: the environment token `TAPPS_STEP_TOKEN` (random per step start) with the run and
 *   step ids, inherited by every descendant that keeps its environment. This is what finds the
 *   processes of a step whose engine died, and what remains where there is no bubblewrap.
 */

/** The environment variables that tag a step's processes. */
export const TAG_VARIABLES = { run: 'TAPPS_RUN_ID', step: 'TAPPS_STEP_ID', token: 'TAPPS_STEP_TOKEN' } as const;

/** A step start's tag: whose processes they are, and a token no other process has. */
export interface StepTag {
  readonly runId: string;
  readonly stepId: string;
  readonly token: string;
}

export function newStepTag(runId: string, stepId: string): StepTag {
  return { runId, stepId, token: randomBytes(16).toString('hex') };
}

export function tagEnvironment(tag: StepTag): Record<string, string> {
  return { [TAG_VARIABLES.run]: tag.runId, [TAG_VARIABLES.step]: tag.stepId, [TAG_VARIABLES.token]: tag.token };
}

/** The pids of this machine's processes, except this one (Linux; empty elsewhere). */
function allPids(): number[] {
  if (process.platform !== 'linux') return [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) pids.push(pid);
  }
  return pids;
}

/** The environment of a process as name → value, or undefined when it cannot be read (gone, another user's). */
export function environmentOf(pid: number): Map<string, string> | undefined {
  try {
    const env = new Map<string, string>();
    for (const entry of readFileSync(`/proc/${pid}/environ`).toString('utf8').split('\0')) {
      const at = entry.indexOf('=');
      if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1));
    }
    return env;
  } catch {
    return undefined;
  }
}

/** Start time (clock ticks since boot) and process group of a process, from `/proc/<pid>/stat`. */
function statOf(pid: number): { readonly pgid: number; readonly start: number; readonly zombie: boolean } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { zombie: fields[0] === 'Z', pgid: Number(fields[2]), start: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

/** The PID namespace of a process (`pid:[inode]`), or undefined. */
export function pidNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** How to recognise one step start's processes. */
export interface StepProcessSelector {
  readonly tag: StepTag;
  /** The process group of the step's command (its leader's pid). */
  readonly group?: number;
  /** The PID namespace the step's command runs in, when under bubblewrap. */
  readonly namespace?: string;
  /**
   * The step's leader's start time in clock ticks since boot: a process started before it cannot
   * be the step's, whatever its environment says (a planted or copied token).
   */
  readonly notBefore?: number;
  /**
   * Processes that hold the namespace (bubblewrap and its init): spared the polite signal, since
   * their end kills every other process of the namespace at once, without its grace period.
   */
  readonly holders?: readonly number[];
}

/** Every living process of the step, found by group, namespace or tag. */
export function stepProcesses(selector: StepProcessSelector): number[] {
  const found: number[] = [];
  const hostNamespace = pidNamespaceOf(process.pid);
  for (const pid of allPids()) {
    const stat = statOf(pid);
    if (!stat || stat.zombie) continue;
    if (selector.notBefore !== undefined && stat.start < selector.notBefore) continue;
    if (selector.group !== undefined && stat.pgid === selector.group) {
      found.push(pid);
      continue;
    }
    if (selector.namespace !== undefined && selector.namespace !== hostNamespace && pidNamespaceOf(pid) === selector.namespace) {
      found.push(pid);
      continue;
    }
    if (isTagged(pid, selector.tag)) found.push(pid);
  }
  return found;
}

/** This machine's tagged processes (any run, any repository): their pids and tags. */
export function taggedProcesses(): Array<StepTag & { readonly pid: number }> {
  const tagged: Array<StepTag & { readonly pid: number }> = [];
  for (const pid of allPids()) {
    const env = environmentOf(pid);
    const token = env?.get(TAG_VARIABLES.token);
    const runId = env?.get(TAG_VARIABLES.run);
    const stepId = env?.get(TAG_VARIABLES.step);
    if (token && runId && stepId && statOf(pid)?.zombie === false) tagged.push({ pid, runId, stepId, token });
  }
  return tagged;
}

/** Whether the process carries exactly this step start's tag. */
export function isTagged(pid: number, tag: StepTag): boolean {
  const env = environmentOf(pid);
  return (
    env !== undefined &&
    env.get(TAG_VARIABLES.token) === tag.token &&
    env.get(TAG_VARIABLES.run) === tag.runId &&
    env.get(TAG_VARIABLES.step) === tag.stepId
  );
}

function signalEach(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }
}

/**
 * `stepProcesses`, looked at twice when the first look finds none and only tags tell the step's
 * processes: a process caught in the middle of its `exec` (one a command detached just before it
 * exited) shows no environment for a moment. Under bubblewrap the namespace holds it anyway.
 */
async function confirmedProcesses(selector: StepProcessSelector): Promise<number[]> {
  const pids = stepProcesses(selector);
  if (pids.length > 0 || selector.namespace !== undefined) return pids;
  await sleep(30);
  return stepProcesses(selector);
}

/**
 * Stops every process of a step: SIGTERM to each, up to `graceMs` for them to go, then SIGKILL,
 * repeated for any process that appears meanwhile (a fork racing the signal). Resolves when none
 * is left, or after `graceMs` plus a few seconds at most.
 */
export async function stopProcessesOf(selector: StepProcessSelector, graceMs: number): Promise<number> {
  const holders = new Set(selector.holders ?? []);
  const polite = (pids: readonly number[]) => pids.filter((pid) => !holders.has(pid));
  let pids = await confirmedProcesses(selector);
  if (pids.length === 0) return 0;
  const stopped = new Set(pids);
  signalEach(polite(pids), 'SIGTERM');
  const graceUntil = Date.now() + graceMs;
  while (Date.now() < graceUntil) {
    await sleep(Math.min(50, Math.max(1, graceUntil - Date.now())));
    pids = stepProcesses(selector);
    if (polite(pids).length === 0) break;
    const fresh = polite(pids).filter((pid) => !stopped.has(pid));
    for (const pid of fresh) stopped.add(pid);
    signalEach(fresh, 'SIGTERM');
  }
  const killUntil = Date.now() + 5_000;
  for (;;) {
    pids = await confirmedProcesses(selector);
    if (pids.length === 0 || Date.now() >= killUntil) break;
    for (const pid of pids) stopped.add(pid);
    signalEach(pids, 'SIGKILL');
    await sleep(20);
  }
  return stopped.size;
}

/** The start time (ticks since boot) of a process, for `notBefore`. */
export function startTicks(pid: number): number | undefined {
  return statOf(pid)?.start;
}

/** `processIdentity`'s start-time part, for records that hold an identity string. */
export function ticksOfIdentity(identity: string | null | undefined): number | undefined {
  if (!identity) return undefined;
  const ticks = Number(identity.slice(identity.lastIndexOf(':') + 1));
  return Number.isInteger(ticks) && ticks >= 0 ? ticks : undefined;
}

/** Whether an identity was taken during this boot (start times of another boot mean nothing now). */
export function identityOfThisBoot(identity: string | null | undefined): boolean {
  if (!identity) return false;
  const own = processIdentity(process.pid);
  return own !== undefined && own.slice(0, own.lastIndexOf(':')) === identity.slice(0, identity.lastIndexOf(':'));
}
