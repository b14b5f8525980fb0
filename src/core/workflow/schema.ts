import { z } from 'zod';
import path from 'node:path';

/** Names of the built-in agent presets; see `agents.ts` for their command templates. */
export const AGENT_PRESETS = ['claude-code', 'codex', 'gemini', 'aider', 'cursor-agent', 'tapps-agents'] as const;
export const MERGE_POLICIES = ['text', 'json', 'markdown', 'union', 'first', 'last', 'fail'] as const;
export type MergePolicyName = (typeof MERGE_POLICIES)[number];
export const KEEP_WORKTREES = ['never', 'on_failure', 'always'] as const;
export type KeepWorktrees = (typeof KEEP_WORKTREES)[number];

export const StepIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a step id of letters, digits, ".", "_" or "-", starting with a letter or digit');

/**
 * A path inside the repository, POSIX-style and relative; a trailing `/` names a folder.
 * Absolute paths and paths that leave the repository are rejected.
 */
export const RepoPathSchema = z.string().superRefine((value, ctx) => {
  const problem = repoPathProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

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

const Seconds = z.number().positive('expected a number of seconds greater than 0');

/** Run settings. The TappsCodingAgents keys are accepted so their files load as they are. */
export const SettingsSchema = z.strictObject({
  max_parallel: z.int('expected a whole number from 1 to 8').min(1, 'expected a whole number from 1 to 8').max(8, 'expected a whole number from 1 to 8 (at most 8 steps run at once)').optional(),
  timeout_seconds: Seconds.optional(),
  kill_grace_seconds: z.number().min(0, 'expected 0 or more seconds').optional(),
  keep_worktrees: z.enum(KEEP_WORKTREES).optional(),
  fail_on_undeclared_changes: z.boolean().optional(),
  log_max_bytes: z.int().positive().optional(),
  quality_gates: z.boolean().optional(),
  code_scoring: z.boolean().optional(),
  context_tier_default: z.number().optional(),
});
export type Settings = z.infer<typeof SettingsSchema>;

export const AgentSchema = z
  .strictObject({
    preset: z.enum(AGENT_PRESETS).optional(),
    command: z.array(z.string()).min(1, 'expected a command of at least one argument').optional(),
    env: z.record(z.string(), z.string()).optional(),
  })
  .refine((a) => (a.preset === undefined) !== (a.command === undefined), {
    message: 'expected exactly one of "preset" or "command"',
  });
export type AgentDefinition = z.infer<typeof AgentSchema>;

export const MergeRuleSchema = z.strictObject({
  paths: z.array(z.string().min(1)).min(1, 'expected at least one path pattern'),
  policy: z.enum(MERGE_POLICIES),
});
export type MergeRule = z.infer<typeof MergeRuleSchema>;

const StringList = z.union([z.string(), z.array(z.string())]).transform((v) => (typeof v === 'string' ? [v] : v));
const PathList = z.array(RepoPathSchema).default([]);

export const StepSchema = z.strictObject({
  id: StepIdSchema,
  name: z.string().optional(),
  description: z.string().optional(),
  agent: z.string().min(1, 'expected the name of an agent'),
  action: z.string().optional(),
  prompt: z.string().optional(),
  run: z.string().optional(),
  requires: PathList,
  creates: PathList,
  needs: z.array(StepIdSchema).default([]),
  next: StringList.pipe(z.array(StepIdSchema)).default([]),
  timeout_seconds: Seconds.optional(),
  env: z.record(z.string(), z.string()).optional(),
  // TappsCodingAgents keys: accepted, not acted on by Tapps Flow.
  context_tier: z.number().optional(),
  condition: z.string().optional(),
  scoring: z.unknown().optional(),
  gate: z.unknown().optional(),
  notes: z.string().optional(),
});
export type Step = z.infer<typeof StepSchema>;

export const WorkflowSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().optional(),
  description: z.string().optional(),
  version: z.union([z.string(), z.number()]).optional(),
  type: z.string().optional(),
  auto_detect: z.boolean().optional(),
  settings: SettingsSchema.default({}),
  agents: z.record(z.string(), AgentSchema).default({}),
  merge: z.array(MergeRuleSchema).default([]),
  steps: z.array(StepSchema).min(1, 'expected at least one step'),
});
export type Workflow = z.infer<typeof WorkflowSchema>;

export const WorkflowFileSchema = z.strictObject({ workflow: WorkflowSchema });
export type WorkflowFile = z.infer<typeof WorkflowFileSchema>;
