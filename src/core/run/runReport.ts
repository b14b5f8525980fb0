import path from 'node:path';
import { runElapsedMs, type RunSnapshot } from '../state/snapshot';

/** The shape `run --json` and `status --json` print: the CLI contract scripts rely on. */
export interface RunReport {
  readonly runId: string;
  readonly workflow: string;
  readonly status: RunSnapshot['status'];
  readonly base: string;
  readonly steps: ReadonlyArray<{
    readonly id: string;
    readonly status: string;
    readonly result: string | null;
    readonly error: string | null;
    readonly startedAt: string | null;
    readonly finishedAt: string | null;
    readonly log: string;
    /** The first port of the block it holds while it runs or is set up (`TAPPS_PORT`), else null. */
    readonly port: number | null;
    /** The worker it ran on (or runs on), for a step run through the queue (`queue` runner); else null. */
    readonly worker: string | null;
  }>;
  readonly aggregate: { readonly commit: string; readonly tree: string; readonly partial: boolean } | null;
  readonly conflicts: ReadonlyArray<{ readonly path: string; readonly kind: string; readonly steps: readonly string[] }>;
  /** The conflicts resolved since the aggregate was made, in order: `take <step>` or `merged by hand`. */
  readonly resolutions: ReadonlyArray<{ readonly path: string; readonly resolution: string }>;
  /** Steps whose results the aggregate lacks (they did not succeed), in workflow order; empty when it is whole. */
  readonly missing: readonly string[];
  /** Time spent running, in ms; the time an interrupted run lay waiting for resume is not counted. */
  readonly elapsedMs: number;
  /** What the conflict report lists for the user's eye (links out, submodule writes, executables, escapes), sorted. */
  readonly findings: ReadonlyArray<{
    readonly kind: string;
    readonly path: string;
    readonly steps: readonly string[];
    readonly detail: string;
  }>;
  /** A write outside the steps' worktrees was detected (`escape_detected`); the CLI then exits 4. */
  readonly escaped: boolean;
  /** What was written, by kind then path; `restore` puts back the files. */
  readonly escapes: ReadonlyArray<{
    readonly kind: string;
    readonly path: string;
    readonly change: string;
    readonly steps: readonly string[];
    readonly restored: boolean;
    readonly detail: string;
  }>;
  /** Every check run, by number: what it checked (the steps folded in), how it ended, its log. */
  readonly checks: ReadonlyArray<{
    readonly n: number;
    readonly check: string;
    readonly target: string;
    readonly step: string | null;
    readonly steps: readonly string[];
    readonly commit: string;
    readonly status: string;
    readonly exitCode: number | null;
    readonly durationMs: number | null;
    readonly log: string;
  }>;
  /** For each check the aggregate failed: the steps that broke it (`found`), or why none can be named. */
  readonly culprits: ReadonlyArray<{
    readonly check: string;
    readonly outcome: string;
    readonly steps: readonly string[];
    readonly runs: number;
  }>;
  /** Every attempt of the candidate steps (best-of-N), by step then number, and which one each step picked. */
  readonly candidates: ReadonlyArray<{
    readonly step: string;
    readonly candidate: number;
    readonly agent: string;
    readonly status: string;
    readonly result: string | null;
    readonly checksPassed: number;
    readonly checksRun: number;
    readonly score: number | null;
    readonly diffSize: number | null;
    readonly picked: boolean;
    readonly log: string;
  }>;
  /** The passing aggregate without the fewest steps, when the aggregate failed a check and one passes. */
  readonly alternative: { readonly commit: string; readonly tree: string; readonly leftOut: readonly string[] } | null;
}

/** The report of a run, steps in workflow-definition order. */
export function runReport(snapshot: RunSnapshot, stateDir: string): RunReport {
  return {
    runId: snapshot.runId,
    workflow: snapshot.workflow.file,
    status: snapshot.status,
    base: snapshot.base.commit,
    steps: snapshot.steps.map((s) => ({
      id: s.id,
      status: s.status,
      result: s.result,
      error: s.error,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      log: path.join(stateDir, s.log),
      port: (s.status === 'running' || s.status === 'setting_up') && s.port ? s.port : null,
      worker: s.worker ?? null,
    })),
    aggregate: snapshot.aggregate,
    conflicts: snapshot.conflicts.map((c) => ({ path: c.path, kind: c.kind, steps: c.steps })),
    resolutions: snapshot.resolutions.map((r) => ({ path: r.path, resolution: r.resolution })),
    missing: snapshot.aggregate ? snapshot.steps.filter((s) => s.status !== 'succeeded').map((s) => s.id) : [],
    elapsedMs: runElapsedMs(snapshot),
    findings: snapshot.findings.map((f) => ({ kind: f.kind, path: f.path, steps: f.steps, detail: f.detail })),
    escaped: snapshot.escaped,
    escapes: [...snapshot.escapes]
      .sort((a, b) => (a.kind === b.kind ? (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) : a.kind < b.kind ? -1 : 1))
      .map((e) => ({ kind: e.kind, path: e.path, change: e.change, steps: e.steps, restored: e.restored, detail: e.detail })),
    checks: snapshot.checks.map((c) => ({
      n: c.n,
      check: c.check,
      target: c.target,
      step: c.step,
      steps: c.steps,
      commit: c.commit,
      status: c.status,
      exitCode: c.exitCode,
      durationMs: c.durationMs,
      log: path.join(stateDir, c.log),
    })),
    culprits: snapshot.culprits.map((c) => ({ check: c.check, outcome: c.outcome, steps: c.steps, runs: c.runs })),
    alternative: snapshot.alternative,
    candidates: snapshot.steps.flatMap((s) =>
      (s.candidates ?? []).map((c) => ({
        step: s.id,
        candidate: c.n,
        agent: c.agent,
        status: c.status,
        result: c.result,
        checksPassed: c.checksPassed,
        checksRun: c.checksRun,
        score: c.score,
        diffSize: c.diffSize,
        picked: s.picked === c.n,
        log: path.join(stateDir, c.log),
      })),
    ),
  };
}

/** Process exit codes of the CLI. */
export const EXIT = { succeeded: 0, failed: 1, usage: 2, conflicted: 3, escaped: 4, checksFailed: 5, cancelled: 130 } as const;

/**
 * The exit code of a finished run: 4 when something was written outside the steps' worktrees,
 * whatever else happened (it wins over 0, 1, 3 and 5), except that a cancelled run exits 130.
 */
export function exitCodeOf(snapshot: Pick<RunSnapshot, 'status' | 'escaped'>): number {
  const { status } = snapshot;
  if (snapshot.escaped && status !== 'cancelled') return EXIT.escaped;
  switch (status) {
    case 'succeeded':
      return EXIT.succeeded;
    case 'conflicted':
      return EXIT.conflicted;
    case 'checks_failed':
      return EXIT.checksFailed;
    case 'cancelled':
      return EXIT.cancelled;
    default:
      return EXIT.failed;
  }
}

/**
 * Errors that mean the request itself cannot be carried out as given (a bad argument, a missing
 * or damaged input, a run that is busy or not ours): the CLI exits 2 for them. Other errors
 * (git failed, an apply refused because of the user's edits) exit 1.
 */
const USAGE_ERRORS = new Set([
  'usage',
  'queue-not-set',
  'queue-unreachable',
  'remote-unreachable',
  'worker-folder-busy',
  'workflow-invalid',
  'workflow-unreadable',
  'workflow-changed',
  'not-a-repository',
  'bare-repository',
  'unsafe-repository',
  'no-commits',
  'git-too-old',
  'git-not-found',
  'invalid-run-id',
  'invalid-setting',
  'invalid-setup-file',
  'invalid-setup-pattern',
  'invalid-setup-setting',
  'too-many-setup-paths',
  'run-not-found',
  'run-exists',
  'run-busy',
  'run-tracked',
  'unsafe-state-folder',
  'state-mismatch',
  'nothing-to-resume',
  'no-aggregate',
  'no-alternative',
  'unknown-step',
  'unknown-candidate',
  'candidate-failed',
  'candidate-has-dependents',
  'no-such-conflict',
  'not-in-conflict',
  'unresolved-conflicts',
  'bad-branch-name',
  'branch-exists',
  'unknown-escape',
  'symlinks-out',
]);

/** The exit code of a command that ended with an engine error. */
export function exitCodeOfError(error: { readonly code: string }): number {
  return USAGE_ERRORS.has(error.code) ? EXIT.usage : EXIT.failed;
}
