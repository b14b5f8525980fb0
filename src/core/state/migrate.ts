import * as z from 'zod/mini';
import { newStep, SNAPSHOT_VERSION, type RunSnapshot, type StepSnapshot } from './snapshot';
import { IdSchema, RUN_STATUSES, STEP_STATUSES } from './events';

/** The first `state.json` shape: flat strings for workflow and base, few step fields. */
const SnapshotV1Schema = z.object({
  version: z.literal(1),
  runId: IdSchema,
  workflow: z.string(),
  status: z.enum(RUN_STATUSES),
  base: z.string(),
  startedAt: z.string(),
  finishedAt: z.optional(z.nullable(z.string())),
  steps: z.array(
    z.object({
      id: IdSchema,
      status: z.enum(STEP_STATUSES),
      result: z.optional(z.nullable(z.string())),
      error: z.optional(z.nullable(z.string())),
      startedAt: z.optional(z.nullable(z.string())),
      finishedAt: z.optional(z.nullable(z.string())),
    }),
  ),
});

/** Loads a `state.json` of any known version as the current snapshot shape. */
export function migrateSnapshot(raw: unknown, repo: string): RunSnapshot {
  const version = (raw as { version?: unknown } | null)?.version;
  // A current snapshot is derived from events.jsonl; without them it is not trusted on its own.
  if (version === SNAPSHOT_VERSION) throw new Error('events.jsonl is missing, and state.json alone is not trusted');
  if (version !== 1) throw new Error(`unknown state.json version ${JSON.stringify(version)}; expected 1`);
  const v1 = SnapshotV1Schema.parse(raw);
  const steps: StepSnapshot[] = v1.steps.map((s) => ({
    ...newStep(s.id, []),
    status: s.status,
    result: s.result ?? null,
    error: s.error ?? null,
    startedAt: s.startedAt ?? null,
    finishedAt: s.finishedAt ?? null,
  }));
  const name = v1.workflow.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
  return {
    version: SNAPSHOT_VERSION,
    runId: v1.runId,
    workflow: { file: v1.workflow, id: name, name },
    repo,
    status: v1.status,
    base: { commit: v1.base, tree: '', head: v1.base, time: 0 },
    settings: { maxParallel: 8, sequential: false },
    owner: { pid: 0, host: '', startedAt: v1.startedAt },
    startedAt: v1.startedAt,
    finishedAt: v1.finishedAt ?? null,
    steps,
    aggregate: null,
    conflicts: [],
    findings: [],
    escaped: false,
    escapes: [],
    escapesUnlisted: 0,
    cancelRequested: false,
    resolutions: [],
    activeMs: v1.finishedAt ? Math.max(0, Date.parse(v1.finishedAt) - Date.parse(v1.startedAt)) || 0 : 0,
    activeSince: null,
    lastEventAt: v1.finishedAt ?? v1.startedAt,
    lastSeq: -1,
    checks: [],
    culprits: [],
    alternative: null,
  };
}
