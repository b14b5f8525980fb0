import type { CheckRunStatus, CheckRunTarget, RunEvent } from './events';
import type { RunSnapshot } from './snapshot';

/** One run of a check on one commit: the aggregate, the base, a fold of some steps, the alternative, or a step's result. */
export interface CheckRun {
  readonly n: number;
  readonly check: string;
  readonly target: CheckRunTarget;
  /** For target `step`: the step whose result it checked. */
  readonly step: string | null;
  /** The steps folded into the commit checked, in fold order. */
  readonly steps: readonly string[];
  readonly commit: string;
  readonly tree: string;
  readonly status: 'running' | CheckRunStatus;
  readonly exitCode: number | null;
  readonly durationMs: number | null;
  readonly lastLines: readonly string[];
  readonly detail: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** The check run's log, relative to the run's state folder. */
  readonly log: string;
  readonly worktree: string;
  readonly pid: number | null;
  readonly identity: string | null;
}

/** What the search for the steps that broke a check found (see `findCulprits`). */
export interface Culprit {
  readonly check: string;
  readonly outcome: 'found' | 'base-fails' | 'not-reproduced';
  readonly steps: readonly string[];
  readonly runs: number;
  /** The tree whose check run's log shows `steps` failing together. */
  readonly evidence: string | null;
}

/** The name of a check run's worktree and process tag: never a step id (those start with a letter or digit). */
export function checkWorktreeKey(n: number): string {
  return `@check-${n}`;
}

/**
 * The log of check `check` on `tree`, relative to the run's state folder: named by what was
 * checked, not by when, so that a report naming it is the same whatever order the runs went in.
 */
export function checkLogPathOf(check: string, tree: string): string {
  return `checks/${check}/${tree}.log`;
}

type CheckEvent = Extract<RunEvent, { type: 'check_started' | 'check_finished' | 'culprit_found' | 'alternative_made' }>;

/** Applies one event of the checks to a snapshot (see `reduce`). */
export function reduceCheckEvent(next: RunSnapshot, event: CheckEvent): RunSnapshot {
  const checkRun = (n: number, patch: Partial<CheckRun>): RunSnapshot => ({
    ...next,
    checks: next.checks.map((c) => (c.n === n ? { ...c, ...patch } : c)),
  });
  switch (event.type) {
    case 'check_started': {
      const was = next.checks.find((c) => c.n === event.n);
      if (was) return checkRun(event.n, { pid: event.pid, identity: event.identity ?? null, worktree: event.worktree });
      return {
        ...next,
        checks: [
          ...next.checks,
          {
            n: event.n,
            check: event.check,
            target: event.target,
            step: event.step ?? null,
            steps: event.steps,
            commit: event.commit,
            tree: event.tree,
            status: 'running',
            exitCode: null,
            durationMs: null,
            lastLines: [],
            detail: null,
            startedAt: event.time,
            finishedAt: null,
            log: checkLogPathOf(event.check, event.tree),
            worktree: event.worktree,
            pid: event.pid,
            identity: event.identity ?? null,
          },
        ],
      };
    }
    case 'check_finished':
      return checkRun(event.n, {
        status: event.status,
        exitCode: event.exitCode,
        durationMs: event.durationMs,
        lastLines: event.lastLines,
        detail: event.detail ?? null,
        finishedAt: event.time,
        pid: null,
      });
    case 'culprit_found':
      return {
        ...next,
        culprits: [
          ...next.culprits.filter((c) => c.check !== event.check),
          { check: event.check, outcome: event.outcome, steps: event.steps, runs: event.runs, evidence: event.evidence },
        ],
      };
    case 'alternative_made':
      return { ...next, alternative: event.alternative };
  }
}
