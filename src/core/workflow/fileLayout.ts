import { quoted } from './describeIssue';
import { SettingsSchema, StepSchema, WorkflowSchema } from './schema';
import { typoOfKey } from './schemaIssues';

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
  /**
   * Keys that are kept but not used: those beside `workflow:`, the workflow's own unknown keys,
   * and under `settings` a mapping of the unknown keys of its `settings:`.
   */
  readonly workflowExtra?: Record<string, unknown>;
  /** Unknown keys of steps (and keys of `sequence:` steps that are kept but not used), by step index. */
  readonly stepExtras: ReadonlyMap<number, Record<string, unknown>>;
  /** Warnings, at paths of the file. */
  readonly warnings: readonly LayoutNote[];
  /** Errors, at paths of the file. */
  readonly problems: readonly LayoutNote[];
}

/** The keys of one level of a workflow (the workflow, a step, its settings), as the schema knows them. */
interface Level {
  readonly keys: readonly string[];
  readonly known: ReadonlySet<string>;
  /** The characters of each key, lowercased, by key. */
  readonly characters: ReadonlyMap<string, ReadonlySet<string>>;
}
function level(shape: object): Level {
  const keys = Object.keys(shape);
  return { keys, known: new Set(keys), characters: new Map(keys.map((k) => [k, new Set(k.toLowerCase())])) };
}
const WORKFLOW_LEVEL = level(WorkflowSchema.shape);
const STEP_LEVEL = level(StepSchema.shape);
const SETTINGS_LEVEL = level(SettingsSchema.shape);

/**
 * What a key of a mapping at `at` is: known there; a setting (a key of `settings:`) out of its
 * place; a likely typo of a key known there; or unknown. A setting out of place and a typo are
 * errors (the user meant it to change the run); an unknown key is kept, with a warning.
 */
function keyKind(key: string, at: Level): 'known' | 'setting' | 'typo' | 'unknown' {
  if (at.known.has(key)) return 'known';
  if (at !== SETTINGS_LEVEL && SETTINGS_LEVEL.known.has(key)) return 'setting';
  // A typo is within max(1, ⌊length / 3⌋) edits of its key (see `typoOfKey`). Each character of the
  // key that a candidate lacks takes an edit, so the candidates that lack more are left out first,
  // cheaply: 50,000 unknown keys would otherwise take a second.
  const word = [...key.toLowerCase()];
  const limit = Math.max(1, Math.floor(key.length / 3));
  const near = at.keys.filter((candidate) => {
    const has = at.characters.get(candidate)!;
    let lacking = 0;
    for (const c of word) if (!has.has(c) && ++lacking > limit) return false;
    return true;
  });
  return near.length === 0 || typoOfKey(key, near) === undefined ? 'unknown' : 'typo';
}

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
 * (`workflowExtra`), each with a warning. Unknown keys of the workflow, of its steps and of its
 * `settings:` are kept too, with a warning (see `setAsideUnknownKeys`). A file that is none of these
 * is passed on as it is, for the schema to say what it expected. Keys are copied as plain
 * properties: `readYaml` has refused a `__proto__` key already.
 */
export function fileLayout(data: unknown): Layout {
  const top = asRecord(data);
  const none = { workflowExtra: undefined, stepExtras: new Map<number, Record<string, unknown>>(), warnings: [], problems: [] };
  if (!top) return { data, pathInFile: (p) => p, ...none };
  if (!Object.hasOwn(top, 'workflow') && (Object.hasOwn(top, 'id') || Object.hasOwn(top, 'steps'))) {
    return setAsideUnknownKeys({ data: { workflow: top }, pathInFile: (p) => (p[0] === 'workflow' ? p.slice(1) : p), ...none });
  }
  return setAsideUnknownKeys(wrapped(top));
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
      // A likely typo or a setting stays for `setAsideUnknownKeys` to report as an error.
      else if (keyKind(key, STEP_LEVEL) !== 'unknown') step[key] = value;
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

/** A mapping's keys split: what the schema checks (known keys and likely typos), unknown keys, settings out of place. */
interface SplitKeys {
  readonly checked: Record<string, unknown>;
  readonly unknown: Record<string, unknown>;
  readonly settings: readonly string[];
}

function splitKeys(map: Record<string, unknown>, at: Level): SplitKeys {
  const checked: Record<string, unknown> = {};
  const unknown: Record<string, unknown> = {};
  const settings: string[] = [];
  for (const [key, value] of Object.entries(map)) {
    const kind = keyKind(key, at);
    if (kind === 'unknown') unknown[key] = value;
    else if (kind === 'setting') settings.push(key);
    else checked[key] = value;
  }
  return { checked, unknown, settings };
}

const KEPT = 'is not used by Tapps Flow; it is kept as it is';

/**
 * Sets aside the unknown keys of the workflow, of its steps and of its `settings:` (TappsCodingAgents
 * files carry keys of their own): each is kept, the workflow's in `workflowExtra`, the settings' in
 * `workflowExtra.settings`, a step's in its extras, with a warning at the key (for steps, one per
 * key, at its first use). A likely typo of a known key stays for the schema, which rejects it and
 * names the key meant; a setting out of its place is an error here. Paths of `layout` are canonical.
 */
function setAsideUnknownKeys(layout: Layout): Layout {
  const workflow = asRecord(asRecord(layout.data)?.workflow);
  if (!workflow) return layout;
  const warnings = [...layout.warnings];
  const problems = [...layout.problems];
  const note = (list: LayoutNote[], path: DataPath, key: string, message: string) =>
    list.push({ path: layout.pathInFile(path), key, message });
  const own = splitKeys(workflow, WORKFLOW_LEVEL);
  for (const key of own.settings)
    note(problems, ['workflow'], key, `${quoted(key)} is a setting: Tapps Flow reads it only under "settings:"; move it there`);
  const copy = own.checked;
  const extra: Record<string, unknown> = { ...layout.workflowExtra };
  // The warnings of keys beside "workflow:", by key: looked up once per key kept, not searched each time (50,000 keys).
  const besideAt = new Map<string, number>();
  layout.warnings.forEach((n, i) => {
    if (n.path.length === 0 && n.key !== undefined && !besideAt.has(n.key)) besideAt.set(n.key, i);
  });
  const keep = (key: string, value: unknown, notKept: string) => {
    const beside = besideAt.get(key);
    if (Object.hasOwn(extra, key) && beside !== undefined) warnings[beside] = { ...warnings[beside], message: notKept };
    extra[key] = value;
  };
  for (const [key, value] of Object.entries(own.unknown)) {
    note(warnings, ['workflow'], key, `key ${quoted(key)} ${KEPT}`);
    keep(
      key,
      value,
      `${quoted(key)} beside "workflow:" is not kept, because the key of the same name under "workflow:" is; remove one of them`,
    );
  }
  const settings = asRecord(copy.settings);
  if (settings) {
    const split = splitKeys(settings, SETTINGS_LEVEL);
    copy.settings = split.checked;
    for (const key of Object.keys(split.unknown)) note(warnings, ['workflow', 'settings'], key, `settings: key ${quoted(key)} ${KEPT}`);
    if (Object.keys(split.unknown).length > 0)
      keep(
        'settings',
        split.unknown,
        '"settings" beside "workflow:" is not kept, because the unknown keys of the workflow\'s "settings:" are kept under that name; move what it holds under "workflow:"',
      );
  }
  const stepExtras = new Map(layout.stepExtras);
  if (Array.isArray(copy.steps)) copy.steps = stepsWithoutUnknownKeys(copy.steps, stepExtras, warnings, problems, note);
  return {
    ...layout,
    data: { workflow: copy },
    workflowExtra: Object.keys(extra).length > 0 ? extra : undefined,
    stepExtras,
    warnings,
    problems,
  };
}

/** The steps without their unknown keys, which go to `extras`; see `setAsideUnknownKeys`. */
function stepsWithoutUnknownKeys(
  steps: readonly unknown[],
  extras: Map<number, Record<string, unknown>>,
  warnings: LayoutNote[],
  problems: LayoutNote[],
  note: (list: LayoutNote[], path: DataPath, key: string, message: string) => void,
): unknown[] {
  const firstUse = new Map<string, { index: number; who: string; count: number }>();
  const result = steps.map((item, index) => {
    const found = asRecord(item);
    if (!found) return item;
    const raw = withFirstAgent(found);
    const split = splitKeys(raw, STEP_LEVEL);
    const who = typeof raw.id === 'string' ? `step ${quoted(raw.id)}: ` : '';
    for (const key of split.settings)
      note(
        problems,
        ['workflow', 'steps', index],
        key,
        `${who}${quoted(key)} is a setting of the whole run, not of a step; move it under the workflow's "settings:"`,
      );
    const unknown = Object.keys(split.unknown);
    if (unknown.length === 0) return split.settings.length === 0 ? raw : split.checked;
    for (const key of unknown) {
      const seen = firstUse.get(key);
      if (seen) seen.count++;
      else firstUse.set(key, { index, who, count: 1 });
    }
    const before = extras.get(index);
    extras.set(index, before ? { ...before, ...split.unknown } : split.unknown);
    return split.checked;
  });
  for (const [key, { index, who, count }] of firstUse) {
    const others = count > 1 ? ` (${count - 1} more step${count > 2 ? 's have' : ' has'} it)` : '';
    note(warnings, ['workflow', 'steps', index], key, `${who}key ${quoted(key)} ${KEPT}${others}`);
  }
  return result;
}

/** A step that names its candidates' agents (`agents:`) and no `agent:` has the first of them as its agent. */
function withFirstAgent(step: Record<string, unknown>): Record<string, unknown> {
  if (Object.hasOwn(step, 'agent') || !Array.isArray(step.agents) || typeof step.agents[0] !== 'string') return step;
  return { ...step, agent: step.agents[0] };
}

/** The id a `sequence:` item gives its step (`id`, else `step`), as a list of none or one. */
function stepName(item: Record<string, unknown> | undefined): string[] {
  const name = item?.id ?? item?.step;
  return typeof name === 'string' ? [name] : [];
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
