import type { NewRunEvent, RunStatus } from '../state/events';
import type { Step } from '../workflow/schema';
import type { StepOutcome } from './stepRunner';
import type { StepSnapshot } from '../state/snapshot';

/**
 * The one terminal state of a run, from how its steps ended: cancelled when the run was
 * cancelled, failed when a step that is not optional failed or timed out or when a gate stopped
 * the run, else conflicted or succeeded by the aggregate's conflicts. Cancelling one step does not
 * cancel the run: the steps it leaves out (it, and those skipped after it) only make the
 * aggregate partial; a run where no step succeeded is cancelled (a step was) or failed.
 */
export function terminalStatus(
  steps: readonly StepSnapshot[],
  runCancelled: boolean,
  conflicts: number,
  how: { readonly optional?: ReadonlySet<string>; readonly gateStopped?: boolean } = {},
): RunStatus {
  if (runCancelled) return 'cancelled';
  const broke = (s: StepSnapshot) => s.status === 'failed' || s.status === 'timed_out' || s.status === 'interrupted';
  if (how.gateStopped || steps.some((s) => broke(s) && !how.optional?.has(s.id))) return 'failed';
  // Nothing to fold: a run whose every step was cancelled (or skipped after one) has no result to offer.
  if (!steps.some((s) => s.status === 'succeeded')) return steps.some((s) => s.status === 'cancelled') ? 'cancelled' : 'failed';
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
  return `it depends on "${dependency}", which ${how[status] ?? 'failed'}`;
}

/** A step whose failure does not fail the run: optional, or gated on its failure (`X.status == "failed"`). */
export function mayFail(step: Step): boolean {
  return step.optional || step.continueIf.some((g) => g.status === 'failed');
}

/**
 * Whether the steps after a step may go on: it succeeded, or its failure is allowed (see
 * `mayFail`) and it ended otherwise, in which case they start without its result.
 */
export function goesOn(step: Step, status: StepSnapshot['status']): boolean {
  return status === 'succeeded' || (mayFail(step) && (status === 'failed' || status === 'timed_out' || status === 'cancelled'));
}

/** The event that records how a step ended. */
export function outcomeEvent(step: string, outcome: StepOutcome): NewRunEvent {
  switch (outcome.status) {
    case 'succeeded':
      return {
        type: 'step_succeeded',
        step,
        result: outcome.capture.commit,
        tree: outcome.capture.tree,
        changed: [...outcome.capture.changed],
        undeclared: [...outcome.undeclared],
        ...(outcome.warnings.length > 0 ? { warnings: [...outcome.warnings] } : {}),
        ...(outcome.capture.submoduleWrites.length > 0
          ? { submoduleWrites: outcome.capture.submoduleWrites.map((w) => ({ ...w, files: [...w.files] })) }
          : {}),
      };
    case 'failed':
      return { type: 'step_failed', step, error: outcome.error, exitCode: outcome.exitCode, lastLines: [...outcome.lastLines] };
    case 'timed_out':
      return { type: 'step_timed_out', step, error: outcome.error, lastLines: [...outcome.lastLines] };
    case 'cancelled':
      return { type: 'step_cancelled', step, reason: outcome.reason };
  }
}
