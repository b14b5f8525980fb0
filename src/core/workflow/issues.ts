import { WorkflowError, type WorkflowIssue } from '../util/errors';
import { MAX_REPORTED_ISSUES } from './limits';

/** A 1-based line and column in a file. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Makes the issues of one file. */
export type IssueAt = (at: Position, message: string) => WorkflowIssue;

/** The issue maker of `file`. */
export function issuesOf(file: string): IssueAt {
  return (at, message) => ({ file, line: at.line, column: at.column, message });
}

function byPosition(a: WorkflowIssue, b: WorkflowIssue): number {
  // Code-unit order for ties, not localeCompare: the same file gives the same report on every machine.
  return a.line - b.line || a.column - b.column || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/**
 * The issues to report, in file order: the first `MAX_REPORTED_ISSUES`, then, when there are more,
 * one issue that counts the rest, placed at the first one left out. A file of 50,000 unknown keys
 * gives a message a reader can still use. `total` counts problems that `issues` leaves out (it
 * must hold the first ones in file order); by default it is the number of `issues`.
 */
export function reportedIssues(issues: readonly WorkflowIssue[], total = issues.length, noun = 'problem'): WorkflowIssue[] {
  return counted(issues, total, noun).reported;
}

function counted(issues: readonly WorkflowIssue[], total: number, noun = 'problem'): { reported: WorkflowIssue[]; total: number } {
  // Two checks can find the same problem (a number past both zod's safe range and our bound): say it once.
  const sorted = [...issues].sort(byPosition).filter((issue, i, all) => i === 0 || byPosition(all[i - 1], issue) !== 0);
  total -= issues.length - sorted.length;
  if (total <= MAX_REPORTED_ISSUES) return { reported: sorted, total };
  const first = sorted[MAX_REPORTED_ISSUES];
  const rest = total - MAX_REPORTED_ISSUES;
  return {
    reported: [...sorted.slice(0, MAX_REPORTED_ISSUES), { ...first, message: `… and ${rest} more ${noun}${rest === 1 ? '' : 's'}` }],
    total,
  };
}

/** The error listing `issues` as `reportedIssues` does; its message counts every problem, listed or not. */
export function workflowError(issues: readonly WorkflowIssue[], total = issues.length): WorkflowError {
  const c = counted(issues, total);
  return new WorkflowError(c.reported, c.total);
}
