import { quoted } from './describeIssue';
import { StepSchema, WorkflowSchema } from './schema';

/** A path into parsed YAML data: mapping keys and list indexes. */
export type DataPath = readonly PropertyKey[];

/** Something to tell the user about a place in the file: at a key of the mapping at `path`, or at the value at `path`. */
export interface LayoutNote {
  readonly path: DataPath;
  readonly key?: string;
  readonly message: string;
}

/** A workflow file brought to its canonical layout, with the way back to the file's own. */
export interface Layout {
  /** The file's data as `{ workflow: { …, steps } }`, whatever its layout: what the schema checks. */
  readonly data: unknown;
  /** Where a path of `data` is in the file. */
  readonly pathInFile: (path: DataPath) => DataPath;
  /** Keys beside `workflow:` that are kept but not used. */
  readonly workflowExtra?: Record<string, unknown>;
  /** Keys of `sequence:` steps that are kept but not used, by step index. */
  readonly stepExtras: ReadonlyMap<number, Record<string, unknown>>;
  /** Warnings, at paths of the file. */
  readonly warnings: readonly LayoutNote[];
  /** Errors, at paths of the file. */
  readonly problems: readonly LayoutNote[];
}

const STEP_KEYS = new Set(Object.keys(StepSchema.shape));

/**
 * Brings the layouts of TappsCodingAgents workflow files to the canonical one:
 * - `workflow:` holding the workflow (the canonical layout);
 * - the older layout, the workflow's keys at the top (`id`, `steps`, …), which their parser
 *   still reads: loaded as the same workflow;
 * - `sequence:` beside `workflow:` (their brownfield analysis file), a list of steps named by
 *   `step:` whose `requires` name the steps they wait for: they become the workflow's steps, the
 *   step names in `requires` becoming `needs`;
 * - `gates:` beside `workflow:`: the workflow's gates.
 * Their parser reads only `workflow:` and ignores every other key beside it; here they are kept
 * (`workflowExtra`), each with a warning. A file that is none of these is passed on as it is, for
 * the schema to say what it expected. Keys are copied as plain properties: `readYaml` has refused
 * a `__proto__` key already.
 */
export function fileLayout(data: unknown): Layout {
  const top = asRecord(data);
  const none = { workflowExtra: undefined, stepExtras: new Map<number, Record<string, unknown>>(), warnings: [], problems: [] };
  if (!top) return { data, pathInFile: (p) => p, ...none };
  if (!Object.hasOwn(top, 'workflow') && (Object.hasOwn(top, 'id') || Object.hasOwn(top, 'steps'))) {
    return { data: { workflow: top }, pathInFile: (p) => (p[0] === 'workflow' ? p.slice(1) : p), ...none };
  }
  return wrapped(top);
}

function wrapped(top: Record<string, unknown>): Layout {
  const warnings: LayoutNote[] = [];
  const problems: LayoutNote[] = [];
  const workflowExtra: Record<string, unknown> = {};
  const inner = asRecord(top.workflow);
  const copy: Record<string, unknown> | undefined = inner ? { ...inner } : undefined;
  let fromSequence: SequenceSteps | undefined;
  let gatesBeside = false;
  for (const [key, value] of Object.entries(top)) {
    if (key === 'workflow') continue;
    if (key === 'sequence' && copy && copy.steps === undefined) {
      fromSequence = sequenceSteps(value, warnings);
      copy.steps = fromSequence.steps;
    } else if (key === 'gates' && copy && copy.gates === undefined && Array.isArray(value)) {
      gatesBeside = true;
      copy.gates = value;
    } else if (key === 'gates' && copy && Array.isArray(value)) {
      problems.push({ path: [], key, message: 'the gates are given twice, beside "workflow:" and under it; expected one list of gates' });
    } else {
      workflowExtra[key] = value;
      warnings.push({ path: [], key, message: besideWorkflow(key) });
    }
  }
  const pathInFile = (p: DataPath): DataPath => {
    if (p[0] !== 'workflow') return p;
    if (gatesBeside && p[1] === 'gates') return p.slice(1);
    if (fromSequence && p[1] === 'steps') {
      if (p.length === 2) return ['sequence'];
      return ['sequence', p[2], ...fromSequence.pathInStep(p[2], p.slice(3))];
    }
    return p;
  };
  return {
    data: { workflow: copy ?? top.workflow },
    pathInFile,
    workflowExtra: Object.keys(workflowExtra).length > 0 ? workflowExtra : undefined,
    stepExtras: fromSequence?.extras ?? new Map(),
    warnings,
    problems,
  };
}

/** Why a key beside `workflow:` is not used, and what to do. */
function besideWorkflow(key: string): string {
  const ignored = 'TappsCodingAgents ignores it too: it reads only "workflow:"';
  if (key === 'outputs')
    return `"outputs" is kept but not used: Tapps Flow does not check the files it lists (${ignored}); list a file a step must make under that step's "creates"`;
  if (key === 'gates')
    return `"gates" is kept but not used: expected a list of gates, each with a "condition" like: <step>.status == "success" (${ignored})`;
  if (key === 'sequence')
    return `"sequence" is kept but not used, because "workflow:" has "steps" of its own (${ignored}); keep one list of steps`;
  if (Object.hasOwn(WorkflowSchema.shape, key))
    return `"${key}" beside "workflow:" is kept but not used (${ignored}); to make it the workflow's, move it under "workflow:"`;
  return `unknown key ${quoted(key)} beside "workflow:" is kept but not used (${ignored}); expected "workflow", "sequence" or "gates"`;
}

interface SequenceSteps {
  readonly steps: unknown;
  readonly extras: Map<number, Record<string, unknown>>;
  /** Where a path inside canonical step `index` is in the `sequence:` item. */
  readonly pathInStep: (index: PropertyKey, rest: DataPath) => DataPath;
}

/** What a key of a `sequence:` step that Tapps Flow does not use means for the run, for its warning. */
const SEQUENCE_ONLY: Readonly<Record<string, string>> = {
  parameters: 'is kept but not given to the agent, which gets only the step\'s prompt and action; put what it says in the step\'s "prompt"',
  output: 'is kept but not checked; list the files the step must make under "creates"',
};

/**
 * The items of `sequence:` as steps: `step:` is the id, a `requires` entry that names a step of
 * the sequence becomes a `needs` entry (their brownfield file lists the steps a step waits for
 * there), other keys a step does not have are kept in the step's extras, with one warning per key
 * (at its first use; a key used by every step would otherwise repeat the same warning).
 */
function sequenceSteps(sequence: unknown, warnings: LayoutNote[]): SequenceSteps {
  const extras = new Map<number, Record<string, unknown>>();
  if (!Array.isArray(sequence)) return { steps: sequence, extras, pathInStep: (_, rest) => rest };
  const items: readonly unknown[] = sequence;
  const names = new Set(items.flatMap((item) => stepName(asRecord(item))));
  const origins: Array<{ renamed: boolean; needsFrom: number; needsOrigin: number[]; requiresOrigin: number[] } | undefined> = [];
  const unused = new Map<string, { index: number; count: number }>();
  const steps = items.map((item, index) => {
    const raw = asRecord(item);
    if (!raw) return item;
    const step: Record<string, unknown> = {};
    const extra: Record<string, unknown> = {};
    const renamed = !Object.hasOwn(raw, 'id') && Object.hasOwn(raw, 'step');
    for (const [key, value] of Object.entries(raw)) {
      if (renamed && key === 'step') step.id = value;
      else if (STEP_KEYS.has(key)) step[key] = value;
      else {
        extra[key] = value;
        const seen = unused.get(key);
        if (seen) seen.count++;
        else unused.set(key, { index, count: 1 });
      }
    }
    if (Object.keys(extra).length > 0) extras.set(index, extra);
    const origin = { renamed, needsFrom: 0, needsOrigin: [] as number[], requiresOrigin: [] as number[] };
    const needs = step.needs === undefined ? [] : step.needs;
    if (Array.isArray(step.requires) && Array.isArray(needs)) {
      const requires: unknown[] = [];
      const waits: unknown[] = [];
      step.requires.forEach((entry: unknown, r) => {
        if (typeof entry === 'string' && names.has(entry) && entry !== stepName(raw)[0]) {
          waits.push(entry);
          origin.needsOrigin.push(r);
        } else {
          requires.push(entry);
          origin.requiresOrigin.push(r);
        }
      });
      if (waits.length > 0) {
        origin.needsFrom = needs.length;
        step.requires = requires;
        step.needs = [...(needs as unknown[]), ...waits];
      }
    }
    origins[index] = origin;
    return step;
  });
  for (const [key, { index, count }] of unused) {
    const meaning = SEQUENCE_ONLY[key] ?? 'is kept but not used: it is not a key of a step';
    const others = count > 1 ? ` (${count - 1} more step${count > 2 ? 's of "sequence" have' : ' of "sequence" has'} it)` : '';
    warnings.push({ path: ['sequence', index], key, message: `${quoted(key)} ${meaning}${others}` });
  }
  const pathInStep = (index: PropertyKey, rest: DataPath): DataPath => {
    const origin = typeof index === 'number' ? origins[index] : undefined;
    if (!origin) return rest;
    const [key, item, ...deeper] = rest;
    if (key === 'id' && origin.renamed) return ['step', ...rest.slice(1)];
    if (key === 'requires' && typeof item === 'number' && origin.needsOrigin.length > 0)
      return ['requires', origin.requiresOrigin[item] ?? item, ...deeper];
    if (key === 'needs' && typeof item === 'number' && item >= origin.needsFrom && origin.needsOrigin.length > 0)
      return ['requires', origin.needsOrigin[item - origin.needsFrom] ?? item, ...deeper];
    return rest;
  };
  return { steps, extras, pathInStep };
}

/** The id a `sequence:` item gives its step (`id`, else `step`), as a list of none or one. */
function stepName(item: Record<string, unknown> | undefined): string[] {
  const name = item?.id ?? item?.step;
  return typeof name === 'string' ? [name] : [];
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
