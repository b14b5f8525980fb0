import type { Finding } from '../state/events';
import type { EscapeRecord } from '../state/snapshot';

/**
 * The run's escapes as findings of its conflict report (one line each under "Needs your eye"):
 * nothing in them depends on time or on the run's id, so that the report stays the same for the
 * same escapes.
 */
export function escapeFindings(escapes: readonly EscapeRecord[]): Finding[] {
  return escapes.map((e) => ({
    kind: 'escape',
    escape: e.kind,
    path: e.path,
    steps: [...e.steps],
    detail: e.detail,
  }));
}
