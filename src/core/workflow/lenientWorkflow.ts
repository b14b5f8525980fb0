import { asRecord } from './fileLayout';
import { StepSchema, AgentSchema, type AgentDefinition, type Step, type Workflow } from './schema';

/** The parts of a workflow that the checks after the schema (graph, agents) look at. */
export type CheckedParts = Pick<Workflow, 'steps' | 'agents'> & {
  /** Where each of `steps` is in the file's `steps` list, when some could not be read at all. */
  readonly stepIndexes?: readonly number[];
};

function field<K extends keyof typeof StepSchema.shape>(key: K, raw: Record<string, unknown>): Step[K] | undefined {
  const result = StepSchema.shape[key].safeParse(raw[key]);
  return result.success ? (result.data as Step[K]) : undefined;
}

/**
 * What can be read of a workflow that the schema rejected, so that the graph and agent checks
 * still run and one pass reports every problem of the file. Each field that does not parse is
 * left out (its problem is already reported by the schema), with one exception: the valid
 * entries of a `creates` list are kept, so that a bad entry next to them does not make every
 * `requires` of them look unmet. Dropping edges can hide a cycle until the next pass, never
 * invent one. A step without a readable id is left out (`stepIndexes` maps the others back to
 * their place in the file). `undefined` when there are no steps to check. `data` is in the
 * canonical layout (see `fileLayout`).
 */
export function readableParts(data: unknown): CheckedParts | undefined {
  const workflow = asRecord(asRecord(data)?.workflow);
  const rawSteps = workflow?.steps;
  if (!Array.isArray(rawSteps)) return undefined;
  const stepIndexes: number[] = [];
  const steps = rawSteps.flatMap((item, i): Step[] => {
    const raw = asRecord(item) ?? {};
    const id = field('id', raw);
    if (id === undefined) return [];
    stepIndexes.push(i);
    const creates =
      field('creates', raw) ??
      (Array.isArray(raw.creates) ? (raw.creates.filter((c) => field('creates', { creates: [c] }) !== undefined) as string[]) : []);
    return [
      {
        id,
        // '' marks an agent the schema already rejected: no agent check for it.
        agent: field('agent', raw) ?? '',
        // A `run` of the wrong type is reported by the schema; it still counts as given.
        run: field('run', raw) ?? (raw.run === undefined ? undefined : '(invalid)'),
        requires: field('requires', raw) ?? [],
        creates,
        needs: field('needs', raw) ?? [],
        next: field('next', raw) ?? [],
        optional: false,
        continueIf: [],
      },
    ];
  });
  const agents: Record<string, AgentDefinition> = {};
  for (const [name, definition] of Object.entries(asRecord(workflow?.agents) ?? {})) {
    // A defined name is known even when its definition is invalid; only valid commands are checked further.
    const parsed = AgentSchema.safeParse(definition);
    agents[name] = parsed.success ? parsed.data : { preset: 'tapps-agents' };
  }
  return { steps, agents, stepIndexes };
}
