import { open } from 'node:fs/promises';
import { TappsError, WorkflowError, type WorkflowIssue } from '../util/errors';
import { fileLayout, type LayoutNote } from './fileLayout';
import { buildGraph, type StepGraph } from './graph';
import { issuesOf, reportedIssues, workflowError, type IssueAt } from './issues';
import { readableParts } from './lenientWorkflow';
import { MAX_STEPS, MAX_WORKFLOW_BYTES } from './limits';
import { readYaml, sizeIssue } from './readYaml';
import { WorkflowFileSchema, type Workflow } from './schema';
import { schemaIssues } from './schemaIssues';
import { tappsMeaning } from './tappsMeaning';
import { agentProblems } from './workflowChecks';
import { remapped, type Positions } from './yamlPositions';

/** A workflow that passed every check, with its dependency graph. */
export interface LoadedWorkflow {
  /** The file as the user named it (used in messages). */
  readonly file: string;
  readonly workflow: Workflow;
  readonly graph: StepGraph;
  /**
   * What loads but is not honoured, in file order, each with its file, line and column like an
   * error: keys kept but not used, gates and conditions Tapps Flow cannot act on, steps that would
   * fail for want of an agent command. Show them as warnings; the workflow runs as it is.
   */
  readonly warnings: readonly WorkflowIssue[];
}

export interface LoadOptions {
  /**
   * Whether the run's base holds a path (a folder when it ends in `/`). Used to accept a `requires`
   * that no step creates. Without it, such a `requires` is accepted.
   */
  readonly baseContains?: (path: string) => boolean;
  /** Agents configured by the host (settings): name -> command template. */
  readonly configuredAgents?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Reads and validates a workflow file; throws `WorkflowError` listing the problems found, or
 * `TappsError` when the file cannot be read. A file over `MAX_WORKFLOW_BYTES` is refused
 * before it is read whole.
 */
export async function loadWorkflowFile(file: string, options: LoadOptions = {}): Promise<LoadedWorkflow> {
  return parseWorkflow(await readWorkflowText(file), file, options);
}

/** The file's text, read only up to one byte past the limit: a FIFO or a device has no size to check first. */
async function readWorkflowText(file: string): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_WORKFLOW_BYTES) throw workflowError([sizeIssue(file, size)]);
      const chunks: Buffer[] = [];
      let length = 0;
      while (length <= MAX_WORKFLOW_BYTES) {
        const { bytesRead, buffer } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null);
        if (bytesRead === 0) break;
        chunks.push(buffer.subarray(0, bytesRead));
        length += bytesRead;
      }
      if (length > MAX_WORKFLOW_BYTES) throw workflowError([sizeIssue(file, size > length ? size : undefined)]);
      return Buffer.concat(chunks, length).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (WorkflowError.is(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new TappsError(
      'workflow-unreadable',
      code === 'ENOENT'
        ? `Workflow file not found: ${file}. Expected the path of a YAML workflow file.`
        : `Cannot read the workflow file ${file}: ${String(error)}`,
    );
  }
}

/**
 * Validates workflow YAML text; `file` names it in messages. Throws `WorkflowError` listing the
 * problems found. Every layout of TappsCodingAgents files loads (see `fileLayout`), as the same
 * workflow as its `workflow:` form.
 */
export function parseWorkflow(text: string, file: string, options: LoadOptions = {}): LoadedWorkflow {
  const { data: raw, positions: inFile } = readYaml(text, file);
  const issue = issuesOf(file);
  const layout = fileLayout(raw);
  const data = layout.data;
  // Paths below are of the canonical layout (`workflow.steps[…]`); these positions take them to the file.
  const positions = remapped(inFile, layout.pathInFile);
  const parsed = WorkflowFileSchema.safeParse(data);
  const problems = layout.problems.map((n) => noted(n, inFile, issue));
  if (!parsed.success) for (const zi of parsed.error.issues) problems.push(...schemaIssues(zi, data, positions, issue, layout.pathInFile));
  // The graph and agent checks run even when the schema rejected the file, on what can be read
  // of it, so that one pass reports every problem of the file rather than the first kind found.
  const readable = parsed.success ? undefined : readableParts(data);
  const meaning = parsed.success
    ? tappsMeaning(parsed.data.workflow, layout.stepExtras, layout.workflowExtra, options.configuredAgents)
    : undefined;
  const workflow = meaning?.workflow ?? readable;
  // Past MAX_STEPS the schema has said so; the checks of each step would only add to the noise.
  if (!workflow || workflow.steps.length > MAX_STEPS) throw workflowError(problems);
  const stepAt = (i: number, ...rest: PropertyKey[]) => positions.valueAt(['workflow', 'steps', readable?.stepIndexes?.[i] ?? i, ...rest]);

  const { graph, problems: graphProblems } = buildGraph(workflow.steps, options.baseContains ?? (() => true));
  for (const p of graphProblems) {
    const at =
      p.field === 'id' ? stepAt(p.stepIndex, 'id') : stepAt(p.stepIndex, p.field, ...(p.itemIndex === undefined ? [] : [p.itemIndex]));
    problems.push(issue(at, `step "${workflow.steps[p.stepIndex].id}": ${p.message}`));
  }
  for (const p of agentProblems(workflow, options.configuredAgents, stepAt, positions, issue)) problems.push(p);
  for (const n of meaning?.problems ?? []) problems.push(noted(n, positions, issue));
  if (!meaning || problems.length > 0) throw workflowError(problems);
  const warnings = [...layout.warnings.map((n) => noted(n, inFile, issue)), ...meaning.warnings.map((n) => noted(n, positions, issue))];
  return { file, workflow: meaning.workflow, graph, warnings: reportedIssues(warnings, warnings.length, 'warning') };
}

/** A note of the layout or of the TappsCodingAgents keys as an issue: at its key, or at its value. */
function noted(note: LayoutNote, positions: Positions, issue: IssueAt): WorkflowIssue {
  return issue(note.key === undefined ? positions.valueAt(note.path) : positions.keyAt(note.path, note.key), note.message);
}
