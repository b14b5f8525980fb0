import type { RunStatus } from '../state/events';
import type { StepSnapshot } from '../state/snapshot';

/**
 * The one terminal state of a run, from how its steps ended: cancelled when the run was
 * cancelled, failed when a step failed or timed out, cancelled when a step was cancelled or
 * skipped, else conflicted or succeeded by the aggregate's conflicts.
 */
export function terminalStatus(steps: readonly StepSnapshot[], runCancelled: boolean, conflicts: number): RunStatus {
  const statuses = steps.map((s) => s.status);
  if (runCancelled) return 'cancelled';
  if (statuses.some((s) => s === 'failed' || s === 'timed_out' || s === 'interrupted')) return 'failed';
  if (statuses.some((s) => s === 'cancelled' || s === 'skipped')) return 'cancelled';
  return conflicts > 0 ? 'conflicted' : 'succeeded';
}

/** Why a step was skipped, naming the dependency and how it ended. */
export function skipReason(dependency: string, status: StepSnapshot['status']): string {
  const how: Partial<Record<StepSnapshot['status'], string>> = {
    skipped: 'was skipped',
    cancelled: 'was cancelled',
    timed_out: 'timed out',
    interrupted: 'was interrupted',
  };
  return `skipped: it depends on "${dependency}", which ${how[status] ?? 'failed'}`;
}
