/**
 * The places where the hostile test suite kills the engine (`kill -9` of itself) to prove that a
 * run survives a crash there: `TAPPS_TEST_CRASH_AT=<name>` in the environment of a test's CLI
 * process. Nothing else sets it; without it this is a comparison and nothing more.
 */
export type CrashPoint =
  /** The base's objects are written; `run_started` is not. */
  | 'base-captured'
  /** A step's result is recorded; others may be running or queued. */
  | 'step-recorded'
  /** Every step ended; the aggregate is not made. */
  | 'steps-done'
  /** The aggregate commit and ref exist; its reports and events do not. */
  | 'aggregate-written'
  /** A candidate's end is on disk; the step's other candidates may still run, none is picked. */
  | 'candidate-finished'
  /** A check run's end is on disk; the run's other checks (or its culprit search) go on. */
  | 'check-finished'
  /** `run_finished` is on disk; removed worktrees are not deleted yet. */
  | 'run-finished'
  /** A resolve made the new aggregate and its refs; its events are not recorded. */
  | 'resolve-ref-written'
  /** A resolve recorded its new aggregate; the conflict is not recorded as resolved yet. */
  | 'resolve-aggregate-recorded'
  /** A run being deleted has its state folder renamed aside; its files are not deleted yet. */
  | 'run-state-aside'
  /** A pooled worktree is moved to a step's folder; git's record of it still names the pool. */
  | 'pool-taken-moved'
  /** A worktree is moved into the pool; its pool record is not written. */
  | 'pool-parked-moved';

export function crashPoint(name: CrashPoint): void {
  if (process.env.TAPPS_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}

/**
 * `crashPoint` once `settle` is done (what the crash must come after, such as the state reaching
 * the disk); `settle` runs only when the point is armed, so a run outside the tests pays nothing.
 */
export async function crashPointAfter(name: CrashPoint, settle: () => Promise<unknown>): Promise<void> {
  if (process.env.TAPPS_TEST_CRASH_AT !== name) return;
  await settle();
  crashPoint(name);
}
