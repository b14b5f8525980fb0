// zod/mini: the same validation as classic zod at a twentieth of the bundle size.
import * as z from 'zod/mini';
import path from 'node:path';

/** Names of the built-in agent presets; see `agents.ts` for their command templates. */
export const AGENT_PRESETS = ['claude-code', 'codex', 'gemini', 'aider', 'cursor-agent', 'tapps-agents'] as const;
export const MERGE_POLICIES = ['text', 'json', 'markdown', 'union', 'first', 'last', 'fail'] as const;
export type MergePolicyName = (typeof MERGE_POLICIES)[number];
export const KEEP_WORKTREES = ['never', 'on_failure', 'always'] as const;
export type KeepWorktrees = (typeof KEEP_WORKTREES)[number];

export const StepIdSchema = z
  .string()
  .check(
    z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a step id of letters, digits, ".", "_" or "-", starting with a letter or digit'),
  );

/**
 * A path inside the repository, POSIX-style and relative; a trailing `/` names a folder.
 * Absolute paths and paths that leave the repository are rejected.
 */
export const RepoPathSchema = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = repoPathProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }),
);

export function repoPathProblem(value: string): string | undefined {
  if (value.trim() === '') return 'expected a path inside the repository, got an empty string';
  if (value.startsWith('/') || /^[A-Za-z]:[\\/]/.test(value) || value.startsWith('\\')) {
    return `expected a path relative to the repository root, got the absolute path "${value}"`;
  }
  if (value.includes('\\')) return `expected "/" as the path separator, got "${value}"`;
  const normal = path.posix.normalize(value);
  if (normal === '..' || normal.startsWith('../')) return `expected a path inside the repository, got "${value}", which leaves it`;
  if (normal === '.git' || normal.startsWith('.git/')) return `expected a path outside the .git folder, got "${value}"`;
  return undefined;
}

const Seconds = z.number().check(z.positive('expected a number of seconds greater than 0'));
const PARALLEL = 'expected a whole number from 1 to 8';

/** Run settings. The TappsCodingAgents keys are accepted so their files load as they are. */
export const SettingsSchema = z.strictObject({
  max_parallel: z.optional(z.int(PARALLEL).check(z.gte(1, PARALLEL), z.lte(8, `${PARALLEL} (at most 8 steps run at once)`))),
  timeout_seconds: z.optional(Seconds),
  kill_grace_seconds: z.optional(z.number().check(z.gte(0, 'expected 0 or more seconds'))),
  keep_worktrees: z.optional(z.enum(KEEP_WORKTREES)),
  fail_on_undeclared_changes: z.optional(z.boolean()),
  log_max_bytes: z.optional(z.int().check(z.positive('expected a number of bytes greater than 0'))),
  quality_gates: z.optional(z.boolean()),
  code_scoring: z.optional(z.boolean()),
  context_tier_default: z.optional(z.number()),
});
export type Settings = z.infer<typeof SettingsSchema>;

export const AgentSchema = z
  .strictObject({
    preset: z.optional(z.enum(AGENT_PRESETS)),
    command: z.optional(z.array(z.string()).check(z.minLength(1, 'expected a command of at least one argument'))),
    env: z.optional(z.record(z.string(), z.string())),
  })
  .check(z.refine((a) => (a.preset === undefined) !== (a.command === undefined), 'expected exactly one of "preset" or "command"'));
export type AgentDefinition = z.infer<typeof AgentSchema>;

export const MergeRuleSchema = z.strictObject({
  paths: z.array(z.string().check(z.minLength(1, 'expected a path pattern'))).check(z.minLength(1, 'expected at least one path pattern')),
  policy: z.enum(MERGE_POLICIES),
});
export type MergeRule = z.infer<typeof MergeRuleSchema>;

const StringList = z.pipe(
  z.union([z.string(), z.array(z.string())], 'expected a step id or a list of them'),
  z.transform((v: string | string[]) => (typeof v === 'string' ? [v] : v)),
);
const PathList = z._default(z.array(RepoPathSchema), []);

export const StepSchema = z.strictObject({
  id: StepIdSchema,
  name: z.optional(z.string()),
  description: z.optional(z.string()),
  agent: z.string().check(z.minLength(1, 'expected the name of an agent')),
  action: z.optional(z.string()),
  prompt: z.optional(z.string()),
  run: z.optional(z.string()),
  requires: PathList,
  creates: PathList,
  needs: z._default(z.array(StepIdSchema), []),
  next: z._default(z.pipe(StringList, z.array(StepIdSchema)), []),
  timeout_seconds: z.optional(Seconds),
  env: z.optional(z.record(z.string(), z.string())),
  // TappsCodingAgents keys: accepted, not acted on by Tapps Flow.
  context_tier: z.optional(z.number()),
  condition: z.optional(z.string()),
  scoring: z.optional(z.unknown()),
  gate: z.optional(z.unknown()),
  notes: z.optional(z.string()),
});
export type Step = z.infer<typeof StepSchema>;

export const WorkflowSchema = z.strictObject({
  id: z.string().check(z.minLength(1, 'expected a workflow id')),
  name: z.optional(z.string()),
  description: z.optional(z.string()),
  version: z.optional(z.union([z.string(), z.number()], 'expected a version string or number')),
  type: z.optional(z.string()),
  auto_detect: z.optional(z.boolean()),
  settings: z._default(SettingsSchema, {}),
  agents: z._default(z.record(z.string(), AgentSchema), {}),
  merge: z._default(z.array(MergeRuleSchema), []),
  steps: z.array(StepSchema).check(z.minLength(1, 'expected at least one step')),
});
export type Workflow = z.infer<typeof WorkflowSchema>;

export const WorkflowFileSchema = z.strictObject({ workflow: WorkflowSchema });
export type WorkflowFile = z.infer<typeof WorkflowFileSchema>;
