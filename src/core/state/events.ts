import path from 'node:path';
import * as z from 'zod/mini';
import { SUBMODULE_WRITE_LIMITS } from '../git/submoduleWrites';
import { idSchema } from '../util/ids';
import { isGitFolderName } from '../workflow/repoPath';
import { SCORE_CHECK } from './checkRuns';
export { SCORE_CHECK } from './checkRuns';

export const STEP_STATUSES = [
  'pending',
  'queued',
  'setting_up',
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

export const RUN_STATUSES = ['running', 'succeeded', 'conflicted', 'checks_failed', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const Port = z.int().check(z.gte(1), z.lte(65535));
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

/** How an escaped write changed what it wrote (see `EscapeSchema`). */
export const ESCAPE_CHANGES = ['added', 'modified', 'deleted'] as const;
/** At most this many escapes are listed in one `escape_detected` event; its `count` says how many were found. */
export const MAX_ESCAPES_LISTED = 50;
/** At most this many paths are listed in one `escape_restored` event. */
export const MAX_RESTORED_LISTED = 1000;
const FileState = z.object({ mode: z.enum(['100644', '100755', '120000']), oid: Sha });
/** Whether an escape's path has the shape of its kind: a repository path for a file, a ref name for a ref. */
function escapePathFits(e: { kind: (typeof ESCAPE_KINDS)[number]; path: string }): boolean {
  if (e.kind === 'file') return isTreePath(e.path);
  if (e.kind === 'ref') return e.path === 'HEAD' || (/^refs\/[^\s\0\\]+$/.test(e.path) && !e.path.split('/').includes('..'));
  return !e.path.includes('\0');
}
/**
 * A write outside the steps' worktrees (src/core/escape/): a file of the main checkout, the
 * repository's config, a ref (or HEAD), a hook; with the steps that were running when it happened.
 */
export const EscapeSchema = z
  .object({
    kind: z.enum(ESCAPE_KINDS),
    /** file: its path in the main checkout; ref: the ref's name or HEAD; config, hook: the file (`.git/config`). */
    path: z.string().check(z.minLength(1), z.maxLength(4096)),
    change: z.enum(ESCAPE_CHANGES),
    steps: z.array(IdSchema).check(z.maxLength(64)),
    /** file: what was there before (null: nothing); absent where unknown (an ignored file). */
    before: z.optional(z.nullable(FileState)),
    /** file: what the escape left (null: deleted); absent where it was not kept (too large, not a file). */
    after: z.optional(z.nullable(FileState)),
    /** file: ignored by git, so the base does not hold it and restore cannot bring it back. */
    ignored: z.optional(z.boolean()),
    /** What changed, for the user; for config, refs and hooks, how to undo it. */
    detail: z.string().check(z.maxLength(4000)),
  })
  .check(z.refine(escapePathFits, 'expected a path of the shape its kind has (a repository path, a ref name)'));
export type Escape = z.infer<typeof EscapeSchema>;

const BoundedPath = RepoRelativePath.check(z.maxLength(4096));
/** Files a step wrote inside one submodule's folder (see `findSubmoduleWrites`), bounded as it records them. */
const SubmoduleWriteSchema = z
  .object({
    submodule: BoundedPath,
    files: z.array(BoundedPath).check(z.maxLength(SUBMODULE_WRITE_LIMITS.listed)),
    count: z.int().check(z.positive(), z.maximum(SUBMODULE_WRITE_LIMITS.counted)),
  })
  .check(z.refine((w) => w.files.every((f) => f.startsWith(`${w.submodule}/`)), "expected files inside the submodule's folder"));

/** A check's name as read back from disk: the rule of a workflow file, or the score command's. */
export const CheckNameSchema = z.union([idSchema('check'), z.literal(SCORE_CHECK)]);
/**
 * What a check run checked: the aggregate, the base (before a culprit search), a fold of some of
 * the steps (the search), the alternative aggregate, or one step's result.
 */
export const CHECK_RUN_TARGETS = ['aggregate', 'base', 'subset', 'alternative', 'step'] as const;
export type CheckRunTarget = (typeof CHECK_RUN_TARGETS)[number];
export const CHECK_RUN_STATUSES = ['passed', 'failed', 'timed_out', 'cancelled', 'error'] as const;
export type CheckRunStatus = (typeof CHECK_RUN_STATUSES)[number];
/** At most this many check runs in one run (each is a process and a worktree): a bound on planted state too. */
export const MAX_CHECK_RUNS = 10_000;
/** A candidate's number, from 1, in definition order (see MAX_CANDIDATES). */
const CandidateNumber = z.int().check(z.gte(1), z.lte(8));
const Token = z.string().check(z.regex(/^[0-9a-f]{32}$/, 'expected a token of 32 hexadecimal digits'));

/** A worker's name as it gives it (`tapps-flow worker --name`), bounded and printable. */
export const WorkerName = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}$/, 'expected a worker name of letters, digits and ._@:-'));
/** A job of the queue, as a run names it (see jobIdOf). */
export const JobId = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,299}$/, 'expected a job id'));
/** What a queued step waits for: memory or CPU on this machine (load-aware start), or a worker to take it. */
export const WAITING_REASONS = ['memory', 'cpu', 'worker'] as const;
export type WaitingReason = (typeof WAITING_REASONS)[number];

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
    /** The tag every process of this step start carries (`TAPPS_STEP_TOKEN`), by which its orphans are found. */
    token: z.optional(z.string().check(z.regex(/^[0-9a-f]{32}$/, 'expected a token of 32 hexadecimal digits'))),
    /** How the step ran: in a sandbox, or in a PID namespace only, or tagged only. */
    confinement: z.optional(z.enum(['sandbox', 'namespace', 'tag'])),
    /** The first of the ports the step leased (`TAPPS_PORT`). */
    port: z.optional(Port),
    base: Sha,
    /** The worker that runs it, for a step run through the queue (its processes are on that machine). */
    worker: z.optional(WorkerName),
    /** Its job in the queue: a run resumed after its engine died asks that job to stop. */
    job: z.optional(JobId),
  }),
  z.object({
    ...step,
    /**
     * The step's worktree is being set up (files copied, setup commands run). Recorded when the
     * phase starts (no pid), then when each setup command has started, with its process, so that
     * the processes of a setup are found after a crash as a running step's are.
     */
    type: z.literal('step_setting_up'),
    worktree: z.string(),
    pid: z.nullable(z.int()),
    identity: z.optional(z.nullable(z.string())),
    /** Absent for a step run through the queue: its processes are the worker's to find. */
    token: z.optional(Token),
    /** The worker that sets it up, for a step run through the queue. */
    worker: z.optional(WorkerName),
    job: z.optional(JobId),
    /** The command that started, as the user wrote it, and the file it came from. */
    command: z.optional(z.string().check(z.maxLength(10_000))),
    origin: z.optional(z.string().check(z.maxLength(200))),
    /** The first of the ports the step leased (`TAPPS_PORT`). */
    port: z.optional(Port),
  }),
  /** A queued step whose turn came waits for the machine: too little memory, or too much load. */
  z.object({ ...step, type: z.literal('step_waiting'), reason: z.enum(WAITING_REASONS) }),
  /**
   * A step run through the queue whose worker stopped answering (its job stalled) is queued again
   * for another worker: `attempt` is the attempt now queued, from 2.
   */
  z.object({
    ...step,
    type: z.literal('step_retried'),
    attempt: z.int().check(z.gte(2), z.lte(10)),
    reason: z.string().check(z.maxLength(2000)),
    worker: z.optional(WorkerName),
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
    /** Files it wrote inside submodules' folders, which its result cannot hold. */
    submoduleWrites: z.optional(z.array(SubmoduleWriteSchema).check(z.maxLength(SUBMODULE_WRITE_LIMITS.submodules))),
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
  /** One finding of the aggregate just made (see `FindingSchema`): for the user's eye, not a conflict. */
  z.object({ ...common, type: z.literal('finding_detected'), finding: FindingSchema }),
  z.object({ ...common, type: z.literal('conflict_resolved'), path: RepoRelativePath, resolution: z.string(), blob: z.nullable(Sha) }),
  z.object({ ...common, type: z.literal('applied'), mode: z.enum(['apply', 'branch']), target: z.string() }),
  z.object({ ...common, type: z.literal('cancel_requested'), step: z.optional(IdSchema) }),
  z.object({ ...common, type: z.literal('run_finished'), status: z.enum(RUN_STATUSES) }),
  /**
   * A check run started: check `check` on `commit`, which folds `steps` over the base (the step's
   * own result for target `step`), in a worktree of its own; its processes carry `token`. Recorded
   * when it starts (no pid), then again once its command has started, with its process.
   */
  z.object({
    ...common,
    type: z.literal('check_started'),
    n: z.int().check(z.positive(), z.lte(MAX_CHECK_RUNS)),
    check: CheckNameSchema,
    target: z.enum(CHECK_RUN_TARGETS),
    step: z.optional(IdSchema),
    /** For a check of one candidate of a candidate step: its number. */
    candidate: z.optional(CandidateNumber),
    steps: z.array(IdSchema).check(z.maxLength(1000)),
    commit: Sha,
    tree: Sha,
    worktree: z.string(),
    pid: z.nullable(z.int()),
    identity: z.optional(z.nullable(z.string())),
    token: Token,
  }),
  z.object({
    ...common,
    type: z.literal('check_finished'),
    n: z.int().check(z.positive(), z.lte(MAX_CHECK_RUNS)),
    status: z.enum(CHECK_RUN_STATUSES),
    exitCode: z.nullable(z.int()),
    durationMs: z.number().check(z.nonnegative()),
    lastLines: z.array(z.string()).check(z.maxLength(200)),
    /** Why it could not run, or how it was stopped, for the user. */
    detail: z.optional(z.string().check(z.maxLength(4000))),
  }),
  /**
   * What the search for the steps that broke check `check` on the aggregate found: the smallest
   * set whose fold fails it, or that the base fails it too, or that it passed when run again.
   * `runs` counts the check runs the search spent (the base's included).
   */
  z.object({
    ...common,
    type: z.literal('culprit_found'),
    check: CheckNameSchema,
    outcome: z.enum(['found', 'base-fails', 'not-reproduced']),
    steps: z.array(IdSchema).check(z.maxLength(1000)),
    runs: z.int().check(z.nonnegative(), z.lte(MAX_CHECK_RUNS)),
    /** The tree checked by the run whose log shows `steps` failing together (see `checkLogPathOf`). */
    evidence: z.nullable(Sha),
  }),
  /**
   * The aggregate that leaves out the fewest steps (later ones first) and passes every check, kept
   * under the run's `alternative` ref for apply and branch; null when none passes.
   */
  z.object({
    ...common,
    type: z.literal('alternative_made'),
    alternative: z.nullable(z.object({ commit: Sha, tree: Sha, leftOut: z.array(IdSchema).check(z.minLength(1), z.maxLength(1000)) })),
  }),
  /**
   * A candidate of a candidate step (best-of-N) began: its worktree is being set up (no pid), then
   * again once its agent started, with its process; its processes carry `token`.
   */
  z.object({
    ...step,
    type: z.literal('candidate_started'),
    candidate: CandidateNumber,
    agent: z.string().check(z.maxLength(200)),
    worktree: z.string(),
    pid: z.nullable(z.int()),
    identity: z.optional(z.nullable(z.string())),
    /** Absent for a candidate run through the queue (see step_setting_up). */
    token: z.optional(Token),
    worker: z.optional(WorkerName),
    job: z.optional(JobId),
    base: Sha,
  }),
  /** How a candidate ended, and what it is ranked by (see `rankCandidates`). */
  z.object({
    ...step,
    type: z.literal('candidate_finished'),
    candidate: CandidateNumber,
    agent: z.string().check(z.maxLength(200)),
    status: z.enum(['succeeded', 'failed', 'timed_out', 'cancelled']),
    result: z.nullable(Sha),
    tree: z.nullable(Sha),
    changed: z.array(z.string()),
    undeclared: z.array(z.string()),
    error: z.nullable(z.string().check(z.maxLength(10_000))),
    checksPassed: z.int().check(z.nonnegative()),
    checksRun: z.int().check(z.nonnegative()),
    score: z.nullable(z.number()),
    diffSize: z.nullable(z.int().check(z.nonnegative())),
  }),
  /**
   * The candidate whose result is the step's: the best of the ranking (`by: ranking`), or the one
   * the user chose (`by: user`, "Use This Candidate"; the aggregate is then folded again).
   */
  z.object({
    ...step,
    type: z.literal('candidate_picked'),
    candidate: CandidateNumber,
    ranking: z.array(CandidateNumber).check(z.maxLength(8)),
    reason: z.string().check(z.maxLength(1000)),
    by: z.enum(['ranking', 'user']),
  }),
  /** Another process found the run `running` with its owner gone. */
  z.object({ ...common, type: z.literal('run_interrupted'), reason: z.string() }),
  /** `resume` took the run over: steps that had not succeeded run again. */
  z.object({ ...common, type: z.literal('run_resumed'), owner: Owner }),
  /** Writes outside the steps' worktrees that one check found (see src/core/escape/). */
  z.object({
    ...common,
    type: z.literal('escape_detected'),
    escapes: z.array(EscapeSchema).check(z.minLength(1), z.maxLength(MAX_ESCAPES_LISTED)),
    /** How many this check found: more than listed when the list was cut. */
    count: z.int().check(z.positive()),
    /** When: after a step ended, at the end of the run, or when the run was resumed (what happened while no engine watched). */
    check: z.enum(['step', 'end', 'resume']),
  }),
  /** `restore` put escaped files back as they were before the escape (or removed the ones it created). */
  z.object({
    ...common,
    type: z.literal('escape_restored'),
    paths: z.array(RepoRelativePath).check(z.maxLength(MAX_RESTORED_LISTED)),
    count: z.int().check(z.nonnegative()),
  }),
]);
export type RunEvent = z.infer<typeof RunEventSchema>;

/** An event before the store has numbered and timed it. */
export type NewRunEvent = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'seq' | 'time'> : never) : never;
