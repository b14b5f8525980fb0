import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentOs, performStop, processStopActions, treeStopActions, type Os, type StopStage } from './platform';
import { environmentReader, processTable, readProcessTable, type EnvironmentReader, type ProcessEntry } from './processTable';

/**
 * Finding and stopping every process of one step, wherever it went.
 *
 * A step's processes are found four ways, in the process table of the OS (see `processTable`):
 * - its process group (POSIX: what a plain `kill(-pgid)` reaches);
 * - its descent from the step's first process (every OS; on Windows, which has neither groups
 *   nor readable environments, the only way, and the one `taskkill /T` takes);
 * - its PID namespace, when it runs under bubblewrap: the kernel keeps every descendant in it,
 *   whatever it does to its session, group or environment;
 * - its tag: the environment token `TAPPS_STEP_TOKEN` (random per step start) with the run and
 *   step ids, inherited by every descendant that keeps its environment. This is what finds the
 *   processes of a step whose engine died, and what remains where there is no bubblewrap
 *   (Linux and macOS, where other processes' environments can be read).
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

/** The PID namespace of a process (`pid:[inode]`, Linux), or undefined. */
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
  /** The process group of the step's command (its leader's pid; POSIX). */
  readonly group?: number;
  /**
   * The step's first process (its pid): it and its descendants are the step's, unless the pid
   * now names a process started at another time than `notBefore` (a reused pid). Needs
   * `notBefore`.
   */
  readonly leader?: number;
  /** The PID namespace the step's command runs in, when under bubblewrap. */
  readonly namespace?: string;
  /**
   * The step's leader's start time, in the process table's unit (see `processIdentity`): a
   * process started before it cannot be the step's, whatever its environment says (a planted or
   * copied token). On macOS `ps` gives it to the second only.
   */
  readonly notBefore?: number;
  /**
   * Processes that hold the namespace (bubblewrap and its init): spared the polite signal, since
   * their end kills every other process of the namespace at once, without its grace period.
   */
  readonly holders?: readonly number[];
}

/** Every living process of the step, found by group, descent, namespace or tag. */
export async function stepProcesses(selector: StepProcessSelector, os: Os = currentOs()): Promise<number[]> {
  const table = await readProcessTable(os);
  const env = environmentReader(os);
  const descendants = descendantsOf(table, selector);
  const hostNamespace = os === 'linux' ? pidNamespaceOf(process.pid) : undefined;
  const found: number[] = [];
  for (const entry of table) {
    const pid = entry.pid;
    if (pid === process.pid || entry.zombie) continue;
    if (selector.notBefore !== undefined && entry.start < selector.notBefore) continue;
    if (
      (selector.group !== undefined && entry.pgid === selector.group) ||
      descendants.has(pid) ||
      (selector.namespace !== undefined && selector.namespace !== hostNamespace && pidNamespaceOf(pid) === selector.namespace) ||
      isTagged(pid, selector.tag, env)
    )
      found.push(pid);
  }
  return found;
}

/** The leader and every process whose parents lead back to it, unless the leader's pid was reused. */
function descendantsOf(table: readonly ProcessEntry[], selector: StepProcessSelector): Set<number> {
  const out = new Set<number>();
  const leader = selector.leader;
  // Without the leader's start time a reused pid could not be told from the step's.
  if (leader === undefined || selector.notBefore === undefined) return out;
  const now = table.find((e) => e.pid === leader);
  if (now && now.start !== selector.notBefore) return out;
  if (now) out.add(leader);
  const children = new Map<number, ProcessEntry[]>();
  for (const e of table) if (e.pid !== e.ppid) children.set(e.ppid, [...(children.get(e.ppid) ?? []), e]);
  const queue = [leader];
  while (queue.length > 0) {
    const parent = queue.pop()!;
    for (const child of children.get(parent) ?? []) {
      if (out.has(child.pid) || child.pid === process.pid) continue;
      out.add(child.pid);
      queue.push(child.pid);
    }
  }
  return out;
}

/** This machine's tagged processes (any run, any repository): their pids and tags. None on Windows. */
export function taggedProcesses(os: Os = currentOs()): Array<StepTag & { readonly pid: number }> {
  if (os === 'win32') return [];
  const env = environmentReader(os);
  const tagged: Array<StepTag & { readonly pid: number }> = [];
  for (const entry of processTable(os)) {
    if (entry.pid === process.pid || entry.zombie) continue;
    const vars = env(entry.pid);
    const token = vars?.get(TAG_VARIABLES.token);
    const runId = vars?.get(TAG_VARIABLES.run);
    const stepId = vars?.get(TAG_VARIABLES.step);
    if (token && runId && stepId) tagged.push({ pid: entry.pid, runId, stepId, token });
  }
  return tagged;
}

/** Whether the process carries exactly this step start's tag. */
export function isTagged(pid: number, tag: StepTag, env: EnvironmentReader = environmentReader(currentOs())): boolean {
  const vars = env(pid);
  return (
    vars !== undefined &&
    vars.get(TAG_VARIABLES.token) === tag.token &&
    vars.get(TAG_VARIABLES.run) === tag.runId &&
    vars.get(TAG_VARIABLES.step) === tag.stepId
  );
}

function signalEach(pids: readonly number[], stage: StopStage): Promise<void> {
  return performStop(processStopActions(currentOs(), pids, stage));
}

/**
 * `stepProcesses`, looked at twice when the first look finds none and only tags tell the step's
 * processes: a process caught in the middle of its `exec` (one a command detached just before it
 * exited) shows no environment for a moment. Under bubblewrap the namespace holds it anyway.
 */
async function confirmedProcesses(selector: StepProcessSelector): Promise<number[]> {
  const pids = await stepProcesses(selector);
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
  await signalEach(polite(pids), 'polite');
  const graceUntil = Date.now() + graceMs;
  while (Date.now() < graceUntil) {
    await sleep(Math.min(50, Math.max(1, graceUntil - Date.now())));
    pids = await stepProcesses(selector);
    if (polite(pids).length === 0) break;
    const fresh = polite(pids).filter((pid) => !stopped.has(pid));
    for (const pid of fresh) stopped.add(pid);
    await signalEach(fresh, 'polite');
  }
  const killUntil = Date.now() + 5_000;
  for (;;) {
    pids = await confirmedProcesses(selector);
    if (pids.length === 0 || Date.now() >= killUntil) break;
    for (const pid of pids) stopped.add(pid);
    await signalEach(pids, 'forced');
    await sleep(20);
  }
  return stopped.size;
}

/** `processIdentity`'s start-time part, for records that hold an identity string. */
export function ticksOfIdentity(identity: string | null | undefined): number | undefined {
  if (!identity) return undefined;
  const ticks = Number(identity.slice(identity.lastIndexOf(':') + 1));
  return Number.isInteger(ticks) && ticks >= 0 ? ticks : undefined;
}

/**
 * The polite stop, at once and without waiting, for processes and for the trees these leaders
 * lead: for a window that is closing and cannot wait out a grace period.
 */
export function stopPolitely(pids: readonly number[], leaders: readonly number[]): void {
  const os = currentOs();
  void performStop([...processStopActions(os, pids, 'polite'), ...leaders.flatMap((leader) => treeStopActions(os, leader, 'polite'))]);
}

/**
 * Whether steps of a dead engine may have left processes on this machine: cheap where tags can
 * be read (one pass over the process table); on Windows, which cannot read them, always.
 */
export function orphansPossible(os: Os = currentOs()): boolean {
  return os === 'win32' || taggedProcesses(os).length > 0;
}
