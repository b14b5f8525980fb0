import type { CheckRunStatus, CheckRunTarget, RunEvent } from './events';
import type { RunSnapshot } from './snapshot';

/** One run of a check on one commit: the aggregate, the base, a fold of some steps, the alternative, or a step's result. */
export interface CheckRun {
  readonly n: number;
  readonly check: string;
  readonly target: CheckRunTarget;
  /** For target `step`: the step whose result it checked. */
  readonly step: string | null;
  /** For a check of a candidate's result: the candidate's number. */
  readonly candidate: number | null;
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

/** The name the score command of a candidate step runs under, as a check (no check of a file can be named so). */
export const SCORE_CHECK = '@score';

/** The name of a check run's worktree and process tag: never a step id (those start with a letter or digit). */
export function checkWorktreeKey(n: number): string {
  return `@check-${n}`;
}

/**
 * The log of check `check` on `tree`, relative to the run's state folder: named by what was
 * checked, not by when, so that a report naming it is the same whatever order the runs went in.
 * A step's (or candidate's) result and a fold of the same tree are checked apart (see Verifier).
 */
export function checkLogPathOf(check: string, tree: string, target: CheckRunTarget = 'aggregate'): string {
  return `checks/${check}/${tree}${target === 'step' ? '.step' : ''}.log`;
}

/** One attempt of a candidate step (best-of-N), and what it is ranked by. */
export interface Candidate {
  readonly n: number;
  readonly agent: string;
  readonly status: 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
  readonly result: string | null;
  readonly tree: string | null;
  readonly changed: readonly string[];
  readonly undeclared: readonly string[];
  readonly error: string | null;
  readonly checksPassed: number;
  readonly checksRun: number;
  readonly score: number | null;
  readonly diffSize: number | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly worktree: string;
  readonly pid: number | null;
  readonly identity: string | null;
  /** Its log, relative to the run's state folder. */
  readonly log: string;
}

/** The log of candidate `n` of a step, relative to the run's state folder. */
export function candidateLogPathOf(step: string, n: number): string {
  return `steps/${step}/candidates/${n}/log.txt`;
}

/** The name of a candidate's worktree and process tag: never a step id (`@` is not in one). */
export function candidateWorktreeKey(step: string, n: number): string {
  return `${step}@${n}`;
}

type CheckEvent = Extract<
  RunEvent,
  {
    type:
      | 'check_started'
      | 'check_finished'
      | 'culprit_found'
      | 'alternative_made'
      | 'candidate_started'
      | 'candidate_finished'
      | 'candidate_picked';
  }
>;

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
      const started: CheckRun = {
        n: event.n,
        check: event.check,
        target: event.target,
        step: event.step ?? null,
        candidate: event.candidate ?? null,
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
        log: checkLogPathOf(event.check, event.tree, event.target),
        worktree: event.worktree,
        pid: event.pid,
        identity: event.identity ?? null,
      };
      // By number: runs started together record their starts in any order.
      return { ...next, checks: [...next.checks, started].sort((a, b) => a.n - b.n) };
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
    case 'candidate_started':
    case 'candidate_finished':
      return withCandidate(next, event);
    case 'candidate_picked': {
      const steps = next.steps.map((s) => (s.id === event.step ? { ...s, picked: event.candidate } : s));
      if (event.by === 'ranking') return { ...next, steps };
      // The user chose another candidate: the aggregate is folded again, and what was found of the
      // old one (its conflicts, resolutions, findings, checks) goes with it.
      return {
        ...next,
        steps,
        aggregate: null,
        conflicts: [],
        findings: [],
        resolutions: [],
        checks: next.checks.filter((c) => c.target === 'step'),
        culprits: [],
        alternative: null,
      };
    }
  }
}

/** A snapshot with a candidate begun or ended; a step whose first candidate begins is running. */
function withCandidate(next: RunSnapshot, event: Extract<RunEvent, { type: 'candidate_started' | 'candidate_finished' }>): RunSnapshot {
  return {
    ...next,
    steps: next.steps.map((s) => {
      if (s.id !== event.step) return s;
      const list = s.candidates ?? [];
      const was = list.find((c) => c.n === event.candidate);
      let record: Candidate;
      if (event.type === 'candidate_started') {
        record = was
          ? { ...was, pid: event.pid, identity: event.identity ?? null, worktree: event.worktree }
          : {
              ...newCandidate(event.step, event.candidate, event.agent, event.time),
              worktree: event.worktree,
              pid: event.pid,
              identity: event.identity ?? null,
            };
      } else {
        // A candidate that ended before anything of it started (its agent was not found) is recorded by its end alone.
        const begun = was ?? newCandidate(event.step, event.candidate, event.agent, event.time);
        record = {
          ...begun,
          status: event.status,
          result: event.result,
          tree: event.tree,
          changed: event.changed,
          undeclared: event.undeclared,
          error: event.error,
          checksPassed: event.checksPassed,
          checksRun: event.checksRun,
          score: event.score,
          diffSize: event.diffSize,
          finishedAt: event.time,
          pid: null,
        };
      }
      const candidates = [...list.filter((c) => c.n !== event.candidate), record].sort((a, b) => a.n - b.n);
      const begins = event.type === 'candidate_started' && (s.status === 'pending' || s.status === 'queued');
      return {
        ...s,
        candidates,
        ...(begins ? { status: 'running' as const, startedAt: s.startedAt ?? event.time, base: event.base, waiting: null } : {}),
      };
    }),
  };
}

/** A candidate that has just begun. */
function newCandidate(step: string, n: number, agent: string, time: string): Candidate {
  return {
    n,
    agent,
    status: 'running',
    result: null,
    tree: null,
    changed: [],
    undeclared: [],
    error: null,
    checksPassed: 0,
    checksRun: 0,
    score: null,
    diffSize: null,
    startedAt: time,
    finishedAt: null,
    worktree: '',
    pid: null,
    identity: null,
    log: candidateLogPathOf(step, n),
  };
}
