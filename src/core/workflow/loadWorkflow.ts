import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type * as z from 'zod/mini';
import { didYouMean } from '../util/didYouMean';
import { TappsError, WorkflowError, type WorkflowIssue } from '../util/errors';
import { knownAgents, SHELL_AGENT, unknownPlaceholders } from './agents';
import { describeIssue } from './describeIssue';
import { readableParts } from './lenientWorkflow';
import { buildGraph, type StepGraph } from './graph';
import { AgentSchema, MergeRuleSchema, SettingsSchema, StepSchema, WorkflowFileSchema, WorkflowSchema, type Workflow } from './schema';
import { YamlPositions } from './yamlPositions';

/** A workflow that passed every check, with its dependency graph. */
export interface LoadedWorkflow {
  /** The file as the user named it (used in messages). */
  readonly file: string;
  readonly workflow: Workflow;
  readonly graph: StepGraph;
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

/** Reads and validates a workflow file; throws `WorkflowError` listing every problem found. */
export async function loadWorkflowFile(file: string, options: LoadOptions = {}): Promise<LoadedWorkflow> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TappsError(
      'workflow-unreadable',
      code === 'ENOENT'
        ? `Workflow file not found: ${file}. Expected the path of a YAML workflow file.`
        : `Cannot read the workflow file ${file}: ${String(error)}`,
    );
  }
  return parseWorkflow(text, file, options);
}

/** Validates workflow YAML text; `file` names it in messages. */
export function parseWorkflow(text: string, file: string, options: LoadOptions = {}): LoadedWorkflow {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const positions = new YamlPositions(doc, lines);
  const issue = (at: { line: number; column: number }, message: string): WorkflowIssue => ({
    file,
    line: at.line,
    column: at.column,
    message,
  });

  if (doc.errors.length > 0) {
    throw new WorkflowError(doc.errors.map((e) => issue(positions.at(e.pos[0]), `invalid YAML: ${e.message.split('\n')[0]}`)));
  }
  const data: unknown = doc.toJS();
  const parsed = WorkflowFileSchema.safeParse(data);
  const problems: WorkflowIssue[] = parsed.success ? [] : parsed.error.issues.flatMap((zi) => schemaIssues(zi, data, positions, issue));
  // The graph and agent checks run even when the schema rejected the file, on what can be read
  // of it, so that one pass reports every problem of the file rather than the first kind found.
  const readable = parsed.success ? undefined : readableParts(data);
  const workflow = parsed.success ? parsed.data.workflow : readable;
  if (!workflow) throw new WorkflowError(sortIssues(problems));
  const stepAt = (i: number, ...rest: PropertyKey[]) => positions.valueAt(['workflow', 'steps', readable?.stepIndexes?.[i] ?? i, ...rest]);

  const { graph, problems: graphProblems } = buildGraph(workflow.steps, options.baseContains ?? (() => true));
  for (const p of graphProblems) {
    const at =
      p.field === 'id' ? stepAt(p.stepIndex, 'id') : stepAt(p.stepIndex, p.field, ...(p.itemIndex === undefined ? [] : [p.itemIndex]));
    problems.push(issue(at, `step "${workflow.steps[p.stepIndex].id}": ${p.message}`));
  }

  const agents = knownAgents(workflow, options.configuredAgents);
  workflow.steps.forEach((step, i) => {
    if (step.agent === '') return; // unreadable: the schema reported it
    if (!agents.includes(step.agent)) {
      problems.push(
        issue(
          stepAt(i, 'agent'),
          `step "${step.id}": unknown agent "${step.agent}"${didYouMean(step.agent, agents)}; expected "shell" or an agent defined under "agents:"`,
        ),
      );
    }
    if (step.agent === SHELL_AGENT && (step.run === undefined || step.run.trim() === '')) {
      problems.push(
        issue(stepAt(i, 'agent'), `step "${step.id}": the shell agent needs a command; expected a "run:" key with the command to run`),
      );
    }
    if (step.agent !== SHELL_AGENT && step.run !== undefined) {
      problems.push(
        issue(
          stepAt(i, 'run'),
          `step "${step.id}": "run:" is only for the shell agent; expected "prompt:" for agent "${step.agent}", or agent: shell`,
        ),
      );
    }
  });
  for (const [name, agent] of Object.entries(workflow.agents)) {
    agent.command?.forEach((arg, a) => {
      for (const unknown of unknownPlaceholders(arg)) {
        problems.push(
          issue(
            positions.valueAt(['workflow', 'agents', name, 'command', a]),
            `agent "${name}": unknown placeholder {${unknown}}; expected one of {prompt}, {step}, {worktree}, {run}, {action}, {agent}`,
          ),
        );
      }
    });
  }
  if (!parsed.success || problems.length > 0) throw new WorkflowError(sortIssues(problems));
  return { file, workflow: parsed.data.workflow, graph };
}

function sortIssues(issues: WorkflowIssue[]): WorkflowIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column || a.message.localeCompare(b.message));
}

function schemaIssues(
  zi: z.core.$ZodIssue,
  data: unknown,
  positions: YamlPositions,
  issue: (at: { line: number; column: number }, message: string) => WorkflowIssue,
): WorkflowIssue[] {
  const where = zi.path.length > 0 ? `${formatPath(zi.path)}: ` : '';
  if (zi.code === 'invalid_union' && zi.errors.length > 0) {
    // The branch that got furthest into the value (a list whose item is wrong, say) explains best.
    const depth = (branch: readonly z.core.$ZodIssue[]) => Math.max(...branch.map((b) => b.path.length));
    const best = [...zi.errors].sort((a, b) => depth(b) - depth(a))[0];
    if (depth(best) > 0) return best.flatMap((b) => schemaIssues({ ...b, path: [...zi.path, ...b.path] }, data, positions, issue));
  }
  if (zi.code === 'unrecognized_keys') {
    const allowed = keysAt(zi.path);
    return zi.keys.map((key) =>
      issue(
        positions.keyAt(zi.path, key),
        `${where}unknown key "${key}"${didYouMean(key, allowed)}; expected one of: ${allowed.join(', ')}`,
      ),
    );
  }
  return [issue(positions.valueAt(zi.path), `${where}${describeIssue(zi, valueAt(data, zi.path))}`)];
}

/** The keys allowed in the mapping at `path`, for "unknown key" messages. */
function keysAt(path: readonly PropertyKey[]): string[] {
  const p = path.map(String);
  const shape =
    p.length === 0
      ? WorkflowFileSchema.shape
      : p.length === 1
        ? WorkflowSchema.shape
        : p[1] === 'settings'
          ? SettingsSchema.shape
          : p[1] === 'steps'
            ? StepSchema.shape
            : p[1] === 'merge'
              ? MergeRuleSchema.shape
              : p[1] === 'agents'
                ? AgentSchema.shape
                : {};
  return Object.keys(shape);
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** `workflow.steps[2].creates[0]`, the way a user reads a path into their file. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join('');
}
