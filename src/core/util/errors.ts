/**
 * Marks the engine's errors. The extension loads the engine as a bundle of its own, with its own
 * copy of these classes, so `instanceof` across that boundary fails: `is()` reads this brand.
 */
const BRAND = Symbol.for('tapps-flow.error');

function branded(value: unknown, name?: string): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    (name === undefined || (value as Error).name === name)
  );
}

/** Base of the errors the engine reports to a user: the message says what happened and what to do. */
export class TappsError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'TappsError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
  static is(value: unknown): value is TappsError {
    return value instanceof TappsError || branded(value);
  }
}

/** One problem found in a workflow file, with its position (1-based line and column). */
export interface WorkflowIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** A workflow file that cannot be run: every problem found in it, in file order. */
export class WorkflowError extends TappsError {
  readonly issues: readonly WorkflowIssue[];
  /** How many problems the file has; `issues` may list only the first ones. */
  readonly total: number;
  /** `total` counts every problem found, when `issues` lists only the first ones. */
  constructor(issues: readonly WorkflowIssue[], total = issues.length) {
    super('workflow-invalid', formatIssues(issues, total));
    this.total = total;
    this.name = 'WorkflowError';
    this.issues = issues;
  }
  static override is(value: unknown): value is WorkflowError {
    return value instanceof WorkflowError || branded(value, 'WorkflowError');
  }
}

export function formatIssue(issue: WorkflowIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}`;
}

function formatIssues(issues: readonly WorkflowIssue[], total: number): string {
  const head = total === 1 ? '1 problem' : `${total} problems`;
  return `The workflow file has ${head}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`;
}

/** A git command that failed: the command line and git's own stderr. */
export class GitError extends TappsError {
  readonly args: readonly string[];
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(args: readonly string[], exitCode: number | null, stderr: string, hint?: string) {
    const detail = stderr.trim() || `exit code ${String(exitCode)}`;
    super('git-failed', `git ${args.join(' ')} failed: ${detail}${hint ? `\n${hint}` : ''}`);
    this.name = 'GitError';
    this.args = args;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
  static override is(value: unknown): value is GitError {
    return value instanceof GitError || branded(value, 'GitError');
  }
}

/** The message of any thrown value, for logs and step errors. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
