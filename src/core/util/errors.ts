/** Base of the errors the engine reports to a user: the message says what happened and what to do. */
export class TappsError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'TappsError';
    this.code = code;
  }
  static is(value: unknown): value is TappsError {
    return value instanceof TappsError;
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
  constructor(issues: readonly WorkflowIssue[]) {
    super('workflow-invalid', formatIssues(issues));
    this.name = 'WorkflowError';
    this.issues = issues;
  }
  static override is(value: unknown): value is WorkflowError {
    return value instanceof WorkflowError;
  }
}

export function formatIssue(issue: WorkflowIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}`;
}

function formatIssues(issues: readonly WorkflowIssue[]): string {
  const head = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
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
    return value instanceof GitError;
  }
}

/** The message of any thrown value, for logs and step errors. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
