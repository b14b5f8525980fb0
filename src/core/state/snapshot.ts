import type { SubmoduleWrite } from '../git/submoduleWrites';
import { reduceCheckEvent, type Candidate, type CheckRun, type Culprit } from './checkRuns';
export type { Candidate, CheckRun, Culprit } from './checkRuns';
import type { Conflict, Escape, Finding, RunEvent, RunStatus, StepStatus, WaitingReason } from './events';

export const SNAPSHOT_VERSION = 2;

export interface StepSnapshot {
  readonly id: string;
  readonly status: StepStatus;
  readonly dependencies: readonly string[];
  /** The step result commit, once it succeeded. */
  readonly result: string | null;
  readonly tree: string | null;
  readonly error: string | null;
  readonly exitCode: number | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** The log file, relative to the run's state folder. */
  readonly log: string;
  readonly worktree: string | null;
  readonly pid: number | null;
  /** Who the step's process is beyond its pid (see processIdentity); null where unknown. */
  readonly identity: string | null;
  /** The commit the step's worktree started from. */
  readonly base: string | null;
  readonly progress: { readonly percent: number; readonly message: string } | null;
  readonly changed: readonly string[];
  /** Changed paths outside the step's declared `creates`. */
  readonly undeclared: readonly string[];
  readonly lastLines: readonly string[];
  /** Problems that did not fail the step. */
  readonly warnings: readonly string[];
  /** Files it wrote inside submodules' folders, which its result cannot hold; absent in older states. */
  readonly submoduleWrites?: readonly SubmoduleWrite[];
  /** The first port of the block it leased while it ran (`TAPPS_PORT`); absent in older states. */
  readonly port?: number | null;
  /** What a queued step waits for before it starts (load-aware start); null or absent otherwise. */
  readonly waiting?: WaitingReason | null;
  /** The worker it ran on, for a step run through the queue; absent otherwise. */
  readonly worker?: string | null;
  /** How many times it was queued again after a worker stopped answering; absent when never. */
  readonly retries?: number;
  /** A candidate step's attempts (best-of-N), by number; absent for a step that makes one. */
  readonly candidates?: readonly Candidate[];
  /** The candidate whose result is the step's; null or absent until one is picked. */
  readonly picked?: number | null;
}

/** `state.json`: everything known about a run, derived from its events alone. */
export interface RunSnapshot {
  readonly version: typeof SNAPSHOT_VERSION;
  readonly runId: string;
  readonly workflow: { readonly file: string; readonly id: string; readonly name: string };
  readonly repo: string;
  readonly status: RunStatus;
  readonly base: { readonly commit: string; readonly tree: string; readonly head: string; readonly time: number };
  readonly settings: Readonly<Record<string, unknown>> & { readonly maxParallel: number; readonly sequential: boolean };
  readonly owner: { readonly pid: number; readonly host: string; readonly startedAt: string };
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly steps: readonly StepSnapshot[];
  readonly aggregate: { readonly commit: string; readonly tree: string; readonly partial: boolean } | null;
  readonly conflicts: readonly Conflict[];
  /** What the aggregate's report lists for the user's eye (see `FindingSchema`), sorted; a resolve keeps them. */
  readonly findings: readonly Finding[];
  /** A write outside the steps' worktrees was detected (see src/core/escape/); it stays set through resume and restore. */
  readonly escaped: boolean;
  /** The escapes found, one per kind and path (the latest; `before` is the first one's), in the order found. */
  readonly escapes: readonly EscapeRecord[];
  /** Escapes found beyond those listed in `escapes` (each event lists at most MAX_ESCAPES_LISTED). */
  readonly escapesUnlisted: number;
  readonly cancelRequested: boolean;
  /** The conflicts resolved since the aggregate was made, in the order they were resolved. */
  readonly resolutions: readonly Resolved[];
  /** Time the run spent running before `activeSince` (an interrupted run's pause is not counted). */
  readonly activeMs: number;
  /** When the run last started or resumed running; null once it finished or was interrupted. */
  readonly activeSince: string | null;
  /** The time of the latest event: where an interrupted run's running time ends. */
  readonly lastEventAt: string;
  readonly lastSeq: number;
  /** Every check run of this attempt of the run, by number (see `CheckRun`). */
  readonly checks: readonly CheckRun[];
  /** What each culprit search found, in the order the checks are declared. */
  readonly culprits: readonly Culprit[];
  /** The passing aggregate that leaves out the fewest steps, when the aggregate failed a check; null otherwise. */
  readonly alternative: { readonly commit: string; readonly tree: string; readonly leftOut: readonly string[] } | null;
}

/** A conflict the user resolved: its path and how (`take <step>`, or `merged by hand`). */
export interface Resolved {
  readonly path: string;
  readonly resolution: string;
}

/** How long a run has been running, in ms, at `now`: the time it lay interrupted is not counted. */
export function runElapsedMs(snapshot: RunSnapshot, now: number = Date.now()): number {
  const since = snapshot.activeSince === null ? 0 : Math.max(0, now - Date.parse(snapshot.activeSince));
  return snapshot.activeMs + since;
}

/** Time between two ISO times in ms (0 when either is unreadable or they are out of order). */
function msBetween(from: string | null, to: string): number {
  const ms = from === null ? 0 : Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

export function logPathOf(stepId: string): string {
  return `steps/${stepId}/log.txt`;
}

/** A step that has not run yet. */
export function newStep(id: string, dependencies: readonly string[]): StepSnapshot {
  return {
    id,
    status: 'pending',
    dependencies,
    result: null,
    tree: null,
    error: null,
    exitCode: null,
    startedAt: null,
    finishedAt: null,
    log: logPathOf(id),
    worktree: null,
    pid: null,
    identity: null,
    base: null,
    progress: null,
    changed: [],
    undeclared: [],
    lastLines: [],
    warnings: [],
  };
}

/** What a step that begins (its setup, or its agent) starts from: its process, its worktree, its port, nothing of before. */
function begun(event: Extract<RunEvent, { type: 'step_setting_up' | 'step_started' }>): Partial<StepSnapshot> {
  return {
    waiting: null,
    port: event.port ?? null,
    worktree: event.worktree,
    pid: event.pid,
    identity: event.identity ?? null,
    ...(event.worker === undefined ? {} : { worker: event.worker }),
    progress: null,
    error: null,
    exitCode: null,
    result: null,
    tree: null,
    finishedAt: null,
  };
}

/** Applies one event to a snapshot. Pure: the same events always give the same snapshot. */
export function reduce(snapshot: RunSnapshot | undefined, event: RunEvent): RunSnapshot {
  if (event.type === 'run_started') {
    return {
      version: SNAPSHOT_VERSION,
      runId: event.runId,
      workflow: event.workflow,
      repo: event.repo,
      status: 'running',
      base: event.base,
      settings: event.settings,
      owner: event.owner,
      startedAt: event.time,
      finishedAt: null,
      steps: event.steps.map((s) => newStep(s.id, s.dependencies)),
      aggregate: null,
      conflicts: [],
      findings: [],
      escaped: false,
      escapes: [],
      escapesUnlisted: 0,
      cancelRequested: false,
      resolutions: [],
      activeMs: 0,
      activeSince: event.time,
      lastEventAt: event.time,
      lastSeq: event.seq,
      checks: [],
      culprits: [],
      alternative: null,
    };
  }
  if (!snapshot) throw new Error(`event ${event.seq} (${event.type}) comes before run_started`);
  const next = { ...snapshot, lastSeq: event.seq, lastEventAt: event.time };
  const step = (id: string, patch: Partial<StepSnapshot>): RunSnapshot => ({
    ...next,
    steps: next.steps.map((s) => (s.id === id ? { ...s, ...patch } : s)),
  });
  const ended = { finishedAt: event.time, pid: null, waiting: null };
  switch (event.type) {
    case 'check_started':
    case 'check_finished':
    case 'culprit_found':
    case 'alternative_made':
    case 'candidate_started':
    case 'candidate_finished':
    case 'candidate_picked':
      return reduceCheckEvent(next, event);
    case 'step_queued':
      return step(event.step, { status: 'queued', waiting: null });
    case 'step_waiting':
      return step(event.step, { waiting: event.reason });
    case 'step_retried': {
      const retries = (next.steps.find((s) => s.id === event.step)?.retries ?? 0) + 1;
      return step(event.step, { status: 'queued', waiting: null, pid: null, progress: null, worker: null, retries });
    }
    case 'step_setting_up': {
      const current = next.steps.find((s) => s.id === event.step);
      if (current?.status === 'setting_up')
        return step(event.step, { pid: event.pid, identity: event.identity ?? null, worktree: event.worktree });
      return step(event.step, {
        ...begun(event),
        status: 'setting_up',
        startedAt: event.time,
      });
    }
    case 'step_started':
      return step(event.step, {
        ...begun(event),
        status: 'running',
        // A step's time counts from its setup, when it had one.
        ...(next.steps.find((s) => s.id === event.step)?.status === 'setting_up' ? {} : { startedAt: event.time }),
        base: event.base,
      });
    case 'step_progress':
      return step(event.step, { progress: { percent: event.percent, message: event.message } });
    case 'step_succeeded':
      return step(event.step, {
        ...ended,
        status: 'succeeded',
        result: event.result,
        tree: event.tree,
        changed: event.changed,
        undeclared: event.undeclared,
        warnings: event.warnings ?? [],
        submoduleWrites: event.submoduleWrites ?? [],
      });
    case 'step_failed':
      return step(event.step, { ...ended, status: 'failed', error: event.error, exitCode: event.exitCode, lastLines: event.lastLines });
    case 'step_timed_out':
      return step(event.step, { ...ended, status: 'timed_out', error: event.error, lastLines: event.lastLines });
    case 'step_cancelled':
      return step(event.step, { ...ended, status: 'cancelled', error: event.reason });
    case 'step_skipped':
      return step(event.step, { ...ended, status: 'skipped', error: event.reason });
    case 'aggregate_made':
      return { ...next, aggregate: { commit: event.commit, tree: event.tree, partial: event.partial } };
    case 'conflict_detected':
      return { ...next, conflicts: [...next.conflicts, event.conflict] };
    case 'finding_detected':
      return { ...next, findings: [...next.findings, event.finding] };
    case 'conflict_resolved': {
      const conflicts = next.conflicts.filter((c) => c.path !== event.path);
      // The last conflict resolved: the run's result is whole again, and the run is done.
      const status = next.status === 'conflicted' && conflicts.length === 0 ? 'succeeded' : next.status;
      return { ...next, status, conflicts, resolutions: [...next.resolutions, { path: event.path, resolution: event.resolution }] };
    }
    case 'cancel_requested':
      return event.step === undefined ? { ...next, cancelRequested: true } : next;
    case 'applied':
      return next;
    case 'escape_detected':
      return { ...next, ...withEscapes(next, event.escapes, event.count) };
    case 'escape_restored': {
      const restored = new Set(event.paths);
      return { ...next, escapes: next.escapes.map((e) => (e.kind === 'file' && restored.has(e.path) ? { ...e, restored: true } : e)) };
    }
    case 'run_finished':
      return {
        ...next,
        status: event.status,
        finishedAt: event.time,
        activeMs: next.activeMs + msBetween(next.activeSince, event.time),
        activeSince: null,
      };
    case 'run_interrupted':
      return {
        ...next,
        status: 'interrupted',
        finishedAt: event.time,
        // Found after the engine died: its running time ends with the last thing it recorded.
        activeMs: next.activeMs + msBetween(next.activeSince, snapshot.lastEventAt),
        activeSince: null,
        checks: next.checks.map((c) =>
          c.status === 'running' ? { ...c, status: 'error', pid: null, finishedAt: event.time, detail: event.reason } : c,
        ),
        // A step that was running is interrupted (its work was never captured); one that was only
        // queued never started, and is pending again.
        steps: next.steps.map((s) =>
          s.status === 'running' || s.status === 'setting_up'
            ? { ...s, status: 'interrupted', pid: null, progress: null, finishedAt: event.time, error: event.reason }
            : s.status === 'queued'
              ? { ...s, status: 'pending', waiting: null }
              : s,
        ),
      };
    case 'run_resumed':
      return {
        ...next,
        status: 'running',
        finishedAt: null,
        owner: event.owner,
        aggregate: null,
        conflicts: [],
        findings: [],
        resolutions: [],
        checks: [],
        culprits: [],
        alternative: null,
        activeSince: event.time,
        cancelRequested: false,
        steps: next.steps.map((s) => (s.status === 'succeeded' ? s : { ...newStep(s.id, s.dependencies) })),
      };
  }
}

/** Orders runs newest first (by start time, then id): the order of every list of runs. */
export function newestFirst(a: { readonly snapshot: RunSnapshot }, b: { readonly snapshot: RunSnapshot }): number {
  const [x, y] = [a.snapshot, b.snapshot];
  return x.startedAt < y.startedAt ? 1 : x.startedAt > y.startedAt ? -1 : x.runId < y.runId ? 1 : x.runId > y.runId ? -1 : 0;
}

/** An escape as the snapshot keeps it: whether `restore` has put it back. */
export interface EscapeRecord extends Escape {
  readonly restored: boolean;
}

/** At most this many escapes are kept in a snapshot; the rest are counted in `escapesUnlisted`. */
export const MAX_ESCAPES_KEPT = 1000;

/**
 * The snapshot's escapes with one check's added: a path found again keeps its first `before`
 * (what restore puts back) and gains the steps named now.
 */
function withEscapes(
  snapshot: RunSnapshot,
  found: readonly Escape[],
  count: number,
): Pick<RunSnapshot, 'escaped' | 'escapes' | 'escapesUnlisted'> {
  const escapes = [...snapshot.escapes];
  let unlisted = snapshot.escapesUnlisted + Math.max(0, count - found.length);
  for (const e of found) {
    const at = escapes.findIndex((x) => x.kind === e.kind && x.path === e.path);
    if (at >= 0) {
      const was = escapes[at];
      const steps = [...new Set([...was.steps, ...e.steps])];
      escapes[at] = { ...e, steps, ...(was.before !== undefined ? { before: was.before } : {}), restored: false };
    } else if (escapes.length < MAX_ESCAPES_KEPT) escapes.push({ ...e, restored: false });
    else unlisted += 1;
  }
  return { escaped: true, escapes, escapesUnlisted: unlisted };
}
