import path from 'node:path';
import * as z from 'zod/mini';
import { idSchema } from '../util/ids';
import { isGitFolderName } from '../workflow/repoPath';

export const STEP_STATUSES = [
  'pending',
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
  'interrupted',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
/** A step in one of these states will not change again in this attempt of the run. */
export const TERMINAL_STEP_STATUSES: readonly StepStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'interrupted'];

export const RUN_STATUSES = ['running', 'succeeded', 'conflicted', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const Sha = z.string().check(z.regex(/^[0-9a-f]{40,64}$/, 'expected a git object id'));

/** A step id as read back from disk: the same rule as in a workflow file (a valid ref component). */
export const IdSchema = idSchema('step');

/**
 * Whether a path read back from disk could be a path of a git tree: relative, no empty, `.` or
 * `..` component, no `.git` component, no NUL. Anything else (a planted `../../outside`) is
 * refused before it is joined to a folder.
 */
export function isTreePath(value: string): boolean {
  if (value === '' || value.includes('\0') || value.startsWith('/')) return false;
  return value.split('/').every((c) => c !== '' && c !== '.' && c !== '..' && !isGitFolderName(c));
}

const RepoRelativePath = z.string().check(z.refine(isTreePath, 'expected a path inside the repository'));
/** A workflow file: by its repository path when inside the repository, else by its absolute path. */
const WorkflowFilePath = z.string().check(z.refine((p) => isTreePath(p) || path.isAbsolute(p), 'expected the path of a workflow file'));

export const ConflictSchema = z.object({
  path: RepoRelativePath,
  kind: z.enum(['content', 'add/add', 'modify/delete', 'rename', 'binary', 'json-key', 'markdown-section', 'policy-fail']),
  /** The two steps involved, earlier first in workflow order. */
  steps: z.tuple([IdSchema, IdSchema]),
  policy: z.string(),
  /** Blob ids; null where the file is absent in that version. */
  base: z.nullable(Sha),
  ours: z.nullable(Sha),
  theirs: z.nullable(Sha),
  /** JSON key path or Markdown heading, for the structural policies. */
  location: z.optional(z.string()),
  detail: z.string(),
});
export type Conflict = z.infer<typeof ConflictSchema>;

/**
 * Something in a run's results or around it that needs the user's eye without being a conflict
 * between two steps: a result symlink that leaves the repository, files written into a
 * submodule's folder (git cannot capture them), a file made executable outside the step's
 * `creates`, a write outside the steps' worktrees (`escape`, with what was written: a file, the
 * repository's config, a ref or a hook).
 */
export const FINDING_KINDS = ['symlink_out', 'submodule_write', 'mode_change', 'escape'] as const;
export const ESCAPE_KINDS = ['file', 'config', 'ref', 'hook'] as const;
export const FindingSchema = z.object({
  kind: z.enum(FINDING_KINDS),
  /** A repository path; for an escape, the path in the main checkout, the ref, or the git file changed. */
  path: z.string().check(z.maxLength(4096)),
  /** For an escape: what was written. */
  escape: z.optional(z.enum(ESCAPE_KINDS)),
  /** The steps concerned: the step whose result holds it, or the steps running when the write happened. */
  steps: z.array(IdSchema),
  detail: z.string(),
});
export type Finding = z.infer<typeof FindingSchema>;

const common = { seq: z.int().check(z.nonnegative()), time: z.string() };
const step = { ...common, step: IdSchema };
const Owner = z.object({ pid: z.int(), host: z.string(), startedAt: z.string() });

/** One line of `events.jsonl`. The event log is the source of truth of a run. */
export const RunEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...common,
    type: z.literal('run_started'),
    runId: idSchema('run'),
    workflow: z.object({ file: WorkflowFilePath, id: z.string(), name: z.string() }),
    repo: z.string(),
    base: z.object({ commit: Sha, tree: Sha, head: Sha, time: z.number() }),
    settings: z.looseObject({ maxParallel: z.int(), sequential: z.boolean() }),
    steps: z.array(z.object({ id: IdSchema, dependencies: z.array(IdSchema) })),
    owner: Owner,
  }),
  z.object({ ...step, type: z.literal('step_queued') }),
  z.object({
    ...step,
    type: z.literal('step_started'),
    worktree: z.string(),
    pid: z.nullable(z.int()),
    /** Who the step's process is beyond its pid (see processIdentity), to tell it from a reused pid. */
    identity: z.optional(z.nullable(z.string())),
    base: Sha,
  }),
  z.object({ ...step, type: z.literal('step_progress'), percent: z.number(), message: z.string() }),
  z.object({
    ...step,
    type: z.literal('step_succeeded'),
    result: Sha,
    tree: Sha,
    changed: z.array(z.string()),
    undeclared: z.array(z.string()),
    /** Problems that did not fail the step (its log could not be written, say). */
    warnings: z.optional(z.array(z.string())),
  }),
  z.object({ ...step, type: z.literal('step_failed'), error: z.string(), exitCode: z.nullable(z.int()), lastLines: z.array(z.string()) }),
  z.object({ ...step, type: z.literal('step_timed_out'), error: z.string(), lastLines: z.array(z.string()) }),
  z.object({ ...step, type: z.literal('step_cancelled'), reason: z.string() }),
  z.object({ ...step, type: z.literal('step_skipped'), reason: z.string() }),
  z.object({
    ...common,
    type: z.literal('aggregate_made'),
    commit: Sha,
    tree: Sha,
    partial: z.boolean(),
    conflicts: z.int().check(z.nonnegative()),
  }),
  z.object({ ...common, type: z.literal('conflict_detected'), conflict: ConflictSchema }),
  z.object({ ...common, type: z.literal('conflict_resolved'), path: RepoRelativePath, resolution: z.string(), blob: z.nullable(Sha) }),
  z.object({ ...common, type: z.literal('applied'), mode: z.enum(['apply', 'branch']), target: z.string() }),
  z.object({ ...common, type: z.literal('cancel_requested'), step: z.optional(IdSchema) }),
  z.object({ ...common, type: z.literal('run_finished'), status: z.enum(RUN_STATUSES) }),
  /** Another process found the run `running` with its owner gone. */
  z.object({ ...common, type: z.literal('run_interrupted'), reason: z.string() }),
  /** `resume` took the run over: steps that had not succeeded run again. */
  z.object({ ...common, type: z.literal('run_resumed'), owner: Owner }),
]);
export type RunEvent = z.infer<typeof RunEventSchema>;

/** An event before the store has numbered and timed it. */
export type NewRunEvent = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'seq' | 'time'> : never) : never;
