import * as z from 'zod/mini';
import { WorkerName } from '../state/events';
import { idSchema } from '../util/ids';
import { SETUP_ORIGINS } from '../setup/plan';
import { AgentSchema } from '../workflow/schema';

/**
 * What travels through the queue for one attempt of a step, and back. A job carries the step's
 * definition, the run, the commit the step starts from (by id, and the ref of the team remote it
 * was pushed to) and the setup plan: never a secret (the queue's address, a copied file's values,
 * a remote's credentials). Both ends check what they read: a worker takes jobs from anyone who can
 * write the queue, and the run trusts nothing a worker says without checking it against git.
 */

/** The BullMQ queue every run and worker of a Redis database shares. */
export const QUEUE_NAME = 'tapps-flow-steps';
/** Where cancel requests are published; each is also kept under `cancelKey` for a worker that looks later. */
export const CANCEL_CHANNEL = 'tapps-flow:cancel';
export const JOB_VERSION = 1;

export function cancelKey(jobId: string): string {
  return `tapps-flow:cancel:${jobId}`;
}

/** One attempt's job id: unique to this engine's attempt, so that a resumed run never takes an old job's result. */
export function jobIdOf(runId: string, key: string, nonce: string, attempt: number): string {
  return `${runId}.${key}.${nonce}.${attempt}`;
}

const Sha = z.string().check(z.regex(/^[0-9a-f]{40}$|^[0-9a-f]{64}$/, 'expected a commit id'));
const Text = (max: number) => z.string().check(z.maxLength(max));
/** A step's worktree key: its id, or a candidate's `<step>@<n>`. */
const WorktreeKey = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}(@[1-8])?$/, 'expected a step id'));
const RemoteRef = z
  .string()
  .check(z.regex(/^refs\/tapps-flow\/runs\/[A-Za-z0-9][A-Za-z0-9._-]{0,79}\/(base|bases\/[A-Za-z0-9][A-Za-z0-9._@-]{0,90})$/));
/** A file a setup copies or links: a path inside the checkout, never out of it. */
const InsidePath = Text(4096).check(
  z.refine(
    (p) => p !== '' && !p.startsWith('/') && !/^[A-Za-z]:/.test(p) && !p.split(/[\\/]/).includes('..'),
    'expected a path inside the repository',
  ),
);
const SetupPathSchema = z.object({ path: InsidePath, origin: z.enum(SETUP_ORIGINS), secret: z.boolean() });

export const StepJobSchema = z.object({
  version: z.literal(JOB_VERSION),
  runId: idSchema('run'),
  key: WorktreeKey,
  attempt: z.int().check(z.gte(1), z.lte(10)),
  workflow: z.object({ id: Text(200), agents: z.record(z.string(), AgentSchema) }),
  /** The step as the run's engine read it from the workflow (see `Step`); checked for what running it uses. */
  step: z.looseObject({
    id: idSchema('step'),
    agent: Text(200),
    creates: z.array(Text(4096)).check(z.maxLength(10_000)),
    requires: z.array(Text(4096)).check(z.maxLength(10_000)),
  }),
  base: z.object({ commit: Sha, tree: Sha, time: z.int(), ref: RemoteRef }),
  setup: z.object({
    commands: z.array(z.object({ command: Text(10_000), origin: z.enum(SETUP_ORIGINS) })).check(z.maxLength(100)),
    copy: z.array(SetupPathSchema).check(z.maxLength(10_000)),
    symlink: z.array(SetupPathSchema).check(z.maxLength(10_000)),
    env: z.record(z.string(), Text(10_000)),
    timeoutSeconds: z.number().check(z.gt(0), z.lte(7 * 24 * 3600)),
    dependencies: z.object({ folders: z.array(Text(4096)).check(z.maxLength(100)), keyFiles: z.array(Text(4096)).check(z.maxLength(100)) }),
    notes: z.array(z.object({ origin: z.enum(SETUP_ORIGINS), message: Text(2000) })).check(z.maxLength(200)),
  }),
  /** The run's settings; the worker puts its own folders (worktrees, sandbox) in place of the run's machine's. */
  settings: z.looseObject({}),
  configuredAgents: z.record(z.string(), z.array(Text(10_000)).check(z.maxLength(1000))),
});
export type StepJob = z.infer<typeof StepJobSchema>;

/**
 * What a worker says while it runs a step, as one value it replaces (a job's progress): what
 * happened so far, counted, so that a reader that missed an update still records every step of it.
 */
export const JobProgressSchema = z.object({
  worker: WorkerName,
  worktree: Text(4096),
  /** Setup phases and commands begun so far, and the last one. */
  setup: z.optional(z.object({ count: z.int().check(z.gte(1)), command: z.optional(Text(10_000)), origin: z.optional(Text(200)) })),
  started: z.optional(z.object({ confinement: z.enum(['sandbox', 'namespace', 'tag']) })),
  progress: z.optional(z.object({ count: z.int().check(z.gte(1)), percent: z.number(), message: Text(2000) })),
});
export type JobProgress = z.infer<typeof JobProgressSchema>;

const SubmoduleWrite = z.object({ submodule: Text(4096), files: z.array(Text(4096)).check(z.maxLength(1000)), count: z.int() });
const Lines = z.array(Text(10_000)).check(z.maxLength(100));

/** How the step ended on the worker: the result's commit and tree when it succeeded (pushed to the remote first). */
export const JobResultSchema = z.object({
  worker: WorkerName,
  outcome: z.discriminatedUnion('status', [
    z.object({
      status: z.literal('succeeded'),
      commit: Sha,
      tree: Sha,
      warnings: z.array(Text(2000)).check(z.maxLength(100)),
      submoduleWrites: z.array(SubmoduleWrite).check(z.maxLength(1000)),
    }),
    z.object({ status: z.literal('failed'), error: Text(10_000), exitCode: z.nullable(z.int()), lastLines: Lines }),
    z.object({ status: z.literal('timed_out'), error: Text(10_000), lastLines: Lines }),
    z.object({ status: z.literal('cancelled'), reason: Text(2000) }),
  ]),
});
export type JobResult = z.infer<typeof JobResultSchema>;

/** A cancel request, as published. */
export const CancelMessageSchema = z.object({ jobId: Text(300), reason: z.enum(['run', 'step', 'gate', 'lost', 'timeout']) });
