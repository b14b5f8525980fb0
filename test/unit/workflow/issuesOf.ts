import { strict as assert } from 'node:assert';
import { WorkflowError, type WorkflowIssue } from '../../../src/core/util/errors';
import { parseWorkflow, type LoadOptions } from '../../../src/core/workflow/loadWorkflow';

/** The problems found in a workflow text; fails the test when it loads or throws anything else. */
export function issuesOf(text: string, options: LoadOptions = {}): WorkflowIssue[] {
  try {
    parseWorkflow(text, 'wf.yaml', options);
  } catch (error) {
    assert.ok(WorkflowError.is(error), `expected a WorkflowError, got ${error instanceof Error ? error.stack : String(error)}`);
    return [...error.issues];
  }
  assert.fail('the workflow loaded, but it should have been rejected');
}

/** Each issue as `line:column message`, the way a test reads them best. */
export function described(text: string, options: LoadOptions = {}): string[] {
  return issuesOf(text, options).map((i) => `${i.line}:${i.column} ${i.message}`);
}

/** A shell step as YAML list item lines, indented for `doc`. */
export const shellStep = (id: string, extra = ''): string => `    - id: ${id}\n      agent: shell\n      run: echo\n${extra}`;

/** A workflow document with `steps` (list item lines) and optional lines before them under `workflow:`. */
export const workflowDoc = (steps: string, head = ''): string => `workflow:\n  id: w\n${head}  steps:\n${steps}`;

/** The text at a 1-based line and column, to check that an issue points at the right token. */
export function textAt(text: string, line: number, column: number): string {
  return text.split(/\r?\n/)[line - 1]?.slice(column - 1) ?? '';
}
