// zod/mini: the same validation as classic zod at a twentieth of the bundle size.
import * as z from 'zod/mini';
import { globProblem } from '../merge/mergeRules';
import { idSchema } from '../util/ids';
import { hasControlCharacter, quoted } from './describeIssue';
import { MAX_STEPS } from './limits';
import { RepoPathSchema } from './repoPath';

/** Names of the built-in agent presets; see `agents.ts` for their command templates. */
export const AGENT_PRESETS = ['claude-code', 'codex', 'gemini', 'aider', 'cursor-agent', 'tapps-agents'] as const;
export const MERGE_POLICIES = ['text', 'json', 'markdown', 'union', 'first', 'last', 'fail'] as const;
export type MergePolicyName = (typeof MERGE_POLICIES)[number];
export const KEEP_WORKTREES = ['never', 'on_failure', 'always'] as const;
export type KeepWorktrees = (typeof KEEP_WORKTREES)[number];
/** How a step is kept from writing outside its worktree: enforced, reported, or neither. */
export const ISOLATION_MODES = ['sandbox', 'detect', 'off'] as const;
/** Where steps run: here, or on workers that take them from a queue (see core/remote). */
export const RUNNERS = ['local', 'queue'] as const;
export type Runner = (typeof RUNNERS)[number];
export type Isolation = (typeof ISOLATION_MODES)[number];

/** Whether a step's worktree is set up before its agent runs: from every source found, or not at all. */
export const SETUP_MODES = ['auto', 'none'] as const;
/** How ignored dependency folders are shared between worktrees (see src/core/setup/dependencies.ts). */
export const DEPENDENCY_SHARING = ['auto', 'reflink', 'copy', 'hardlink', 'symlink', 'none'] as const;
export type DependencySharing = (typeof DEPENDENCY_SHARING)[number];
export type SetupMode = (typeof SETUP_MODES)[number];

/** The longest timeout of a step: 7 days, far inside what a Node timer can wait (2^31-1 ms, 24.8 days). */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 60 * 60;
/** The longest grace period between the polite stop signal and the kill. */
export const MAX_KILL_GRACE_SECONDS = 60 * 60;
/** The bounds of a step log's size cap. */
export const MIN_LOG_BYTES = 1024;
export const MAX_LOG_BYTES = 1024 * 1024 * 1024;

export const StepIdSchema = idSchema('step');

function refined(problem: (value: string) => string | undefined) {
  return z.string().check(
    z.superRefine((value, ctx) => {
      const message = problem(value);
      if (message) ctx.addIssue({ code: 'custom', message, input: value });
    }),
  );
}

/** Text that becomes a program argument or an environment value: spawn refuses a NUL in either. */
const ArgText = refined((value) => {
  const at = value.indexOf('\0');
  return at < 0 ? undefined : `expected text without NUL characters, which no program can receive (found one at character ${at + 1})`;
});

/** Text shown on one line (terminal, editor): control characters would garble it or drive the terminal. */
const LineText = refined((value) =>
  hasControlCharacter(value) ? 'expected text without control characters, because it is shown on one line' : undefined,
);

/**
 * A folder a sandboxed step may write besides its worktree (an agent's configuration), as a
 * workflow names it: inside the home folder (`~/.codex`), since a workflow comes with a repository
 * and must not open the whole machine to its steps. The editor's setting may name any folder.
 */
const SandboxPathSchema = refined((value) => {
  if (!value.startsWith('~/')) return `invalid folder ${quoted(value)}; expected a folder inside the home folder, written as ~/name`;
  const rest = value.slice(2).replace(/\/+$/, '');
  if (
    rest === '' ||
    rest.split('/').some((part) => part === '' || part === '.' || part === '..') ||
    hasControlCharacter(rest) ||
    rest.includes('\0')
  )
    return `invalid folder ${quoted(value)}; expected a folder inside the home folder without "." or ".." parts, like ~/.codex`;
  return undefined;
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Environment variables by name: a name a process environment can hold, a value a program can receive. */
const EnvSchema = z.record(
  refined((name) =>
    ENV_NAME.test(name)
      ? undefined
      : `invalid name ${quoted(name)}; expected an environment variable name of letters, digits and "_", not starting with a digit`,
  ).register(z.globalRegistry, { pattern: ENV_NAME.source }),
  ArgText,
);

const AgentNameSchema = refined((name) => {
  if (name === 'shell') return '"shell" is the built-in agent that runs "run:" commands; expected another name for an agent of your own';
  if (name.trim() === '') return 'expected an agent name, got an empty text';
  return hasControlCharacter(name) ? `invalid agent name ${quoted(name)}; expected a name without control characters` : undefined;
});

const SECONDS = `expected a number of seconds greater than 0 and at most ${MAX_TIMEOUT_SECONDS} (7 days)`;
const Seconds = z.number(SECONDS).check(z.positive(SECONDS), z.lte(MAX_TIMEOUT_SECONDS, SECONDS));
const GRACE = `expected a number of seconds from 0 to ${MAX_KILL_GRACE_SECONDS} (1 hour)`;
const LOG_BYTES = `expected a whole number of bytes from ${MIN_LOG_BYTES} to ${MAX_LOG_BYTES} (1 GiB)`;
const PARALLEL = 'expected a whole number from 1 to 8';
const PORTS = 'expected a whole number of ports from 1 to 100';
const POOL = 'expected a whole number of worktrees from 0 (no pool) to 8';
const POOL_DISK = 'expected a whole number of MiB (0: no cap)';
const MEMORY = 'expected a whole number of MiB from 0 (no limit) to 1048576';
const LOAD = 'expected a load per CPU from 0 (no limit) to 1000';
/** A number the format accepts without acting on it (TappsCodingAgents keys): any, as long as it is finite. */
const FiniteNumber = z.number('expected a finite number');
const TIER = 'expected a context tier: a finite number, or text like "TIER2" or "2"';
/** A context tier as TappsCodingAgents reads one: a number, `TIER<n>` or `<n>` (not acted on). */
const ContextTier = z.union([FiniteNumber, z.string().check(z.regex(/^\s*(?:[Tt][Ii][Ee][Rr])?\d+\s*$/, TIER))], TIER);
/** A mapping of anything, kept as it is (TappsCodingAgents `metadata`). */
const AnyMapping = z.record(z.string(), z.unknown(), 'expected a mapping');

const COMMANDS = 'expected a command, or a list of commands run one after another';
/** gitignore-style patterns of ignored files, as `.worktreeinclude` holds them. */
const IgnoredPatterns = z
  .array(ArgText.check(z.minLength(1, 'expected a pattern, got an empty text')), 'expected a list of paths or patterns')
  .check(z.maxLength(1000, 'expected at most 1000 entries'));

/**
 * The workflow's own setup of each step's worktree: it comes first, before the files other tools
 * keep for the same purpose (`.worktreeinclude`, `.cursor/worktrees.json`, …; see `src/core/setup`).
 */
export const SetupSchema = z.strictObject({
  commands: z.optional(
    z.pipe(
      z.union([ArgText, z.array(ArgText).check(z.maxLength(100, 'expected at most 100 commands'))], COMMANDS),
      z.transform((v: string | string[]) => (typeof v === 'string' ? [v] : v)),
    ),
  ),
  copy: z.optional(IgnoredPatterns),
  symlink: z.optional(IgnoredPatterns),
  secrets: z.optional(IgnoredPatterns),
  timeout_seconds: z.optional(Seconds),
  env: z.optional(EnvSchema),
  /** Ignored folders the commands install, shared between worktrees (names, or paths from the root). */
  dependencies: z.optional(IgnoredPatterns.check(z.maxLength(64, 'expected at most 64 folders'))),
  /** Tracked files (globs) that change what the commands produce, besides lockfiles and manifests. */
  key_files: z.optional(IgnoredPatterns.check(z.maxLength(64, 'expected at most 64 patterns'))),
});
export type SetupDefinition = z.infer<typeof SetupSchema>;

/** Where a check runs: on the aggregate (the default), on each step's result, or both. */
export const CHECK_TARGETS = ['aggregate', 'steps', 'both'] as const;
export type CheckTarget = (typeof CHECK_TARGETS)[number];
/** At most this many checks in a workflow. */
export const MAX_CHECKS = 32;

/**
 * A check of the results (tests, lint, a type check): a command run by `sh -c` in a worktree of the
 * commit checked, set up like a step's. Exit code 0 passes.
 */
export const CheckSchema = z.strictObject({
  name: idSchema('check'),
  run: ArgText.check(z.refine((v) => v.trim() !== '', 'expected a command to run, got an empty text')),
  timeout_seconds: z.optional(Seconds),
  on: z._default(z.enum(CHECK_TARGETS, `expected one of ${CHECK_TARGETS.join(', ')}`), 'aggregate'),
  env: z.optional(EnvSchema),
});
export type Check = z.infer<typeof CheckSchema>;

/** Run settings. The TappsCodingAgents keys are accepted so their files load as they are. */
const ATTEMPTS = 'expected a whole number of attempts from 1 to 10';

export const SettingsSchema = z.strictObject({
  max_parallel: z.optional(z.int(PARALLEL).check(z.gte(1, PARALLEL), z.lte(8, `${PARALLEL} (at most 8 steps run at once)`))),
  timeout_seconds: z.optional(Seconds),
  kill_grace_seconds: z.optional(z.number(GRACE).check(z.gte(0, GRACE), z.lte(MAX_KILL_GRACE_SECONDS, GRACE))),
  keep_worktrees: z.optional(z.enum(KEEP_WORKTREES)),
  fail_on_undeclared_changes: z.optional(z.boolean()),
  log_max_bytes: z.optional(z.int(LOG_BYTES).check(z.gte(MIN_LOG_BYTES, LOG_BYTES), z.lte(MAX_LOG_BYTES, LOG_BYTES))),
  isolation: z.optional(z.enum(ISOLATION_MODES, `expected one of ${ISOLATION_MODES.join(', ')}`)),
  sandbox_writable: z.optional(
    z.array(SandboxPathSchema, 'expected a list of folders').check(z.maxLength(64, 'expected at most 64 folders')),
  ),
  setup: z.optional(z.enum(SETUP_MODES, `expected one of ${SETUP_MODES.join(', ')}`)),
  pool_size: z.optional(z.int(POOL).check(z.gte(0, POOL), z.lte(8, POOL))),
  ports_per_step: z.optional(z.int(PORTS).check(z.gte(1, PORTS), z.lte(100, PORTS))),
  dependency_sharing: z.optional(z.enum(DEPENDENCY_SHARING, `expected one of ${DEPENDENCY_SHARING.join(', ')}`)),
  pool_max_mb: z.optional(z.int(POOL_DISK).check(z.gte(0, POOL_DISK), z.lte(16_777_216, POOL_DISK))),
  min_free_memory_mb: z.optional(z.int(MEMORY).check(z.gte(0, MEMORY), z.lte(1_048_576, MEMORY))),
  max_load_per_cpu: z.optional(z.number(LOAD).check(z.gte(0, LOAD), z.lte(1000, LOAD))),
  runner: z.optional(z.enum(RUNNERS, `expected one of ${RUNNERS.join(', ')}`)),
  queue_attempts: z.optional(z.int(ATTEMPTS).check(z.gte(1, ATTEMPTS), z.lte(10, ATTEMPTS))),
  quality_gates: z.optional(z.boolean()),
  code_scoring: z.optional(z.boolean()),
  context_tier_default: z.optional(FiniteNumber),
  auto_detect: z.optional(z.boolean()),
});
export type Settings = z.infer<typeof SettingsSchema>;

export const AgentSchema = z
  .strictObject({
    preset: z.optional(z.enum(AGENT_PRESETS)),
    command: z.optional(z.array(ArgText).check(z.minLength(1, 'expected a command of at least one argument'))),
    env: z.optional(EnvSchema),
  })
  .check(z.refine((a) => (a.preset === undefined) !== (a.command === undefined), 'expected exactly one of "preset" or "command"'));
export type AgentDefinition = z.infer<typeof AgentSchema>;

/** A merge pattern, checked as `globProblem` says (compiled, bounded, inside the repository). */
const PatternSchema = refined(globProblem).register(z.globalRegistry, { minLength: 1 });

export const MergeRuleSchema = z.strictObject({
  paths: z.array(PatternSchema).check(z.minLength(1, 'expected at least one path pattern')),
  policy: z.enum(MERGE_POLICIES),
});
export type MergeRule = z.infer<typeof MergeRuleSchema>;

const StringList = z.pipe(
  z.union([z.string(), z.array(z.string())], 'expected a step id or a list of them'),
  z.transform((v: string | string[]) => (typeof v === 'string' ? [v] : v)),
);
const PathList = z._default(z.array(RepoPathSchema), []);

/**
 * A step's quality gate, as TappsCodingAgents writes one: its agent's verdict (`condition`) and
 * where its own engine goes next. Tapps Flow runs each step once, so it honours only what its
 * agent's exit code says (see `tappsMeaning.ts`).
 */
export const StepGateSchema = z.strictObject({
  condition: z.optional(z.string()),
  on_pass: z.optional(z.string()),
  on_fail: z.optional(z.string()),
});
export type StepGate = z.infer<typeof StepGateSchema>;

/** At most this many candidates of one step (each is an attempt in a worktree of its own, within the bound of 8). */
export const MAX_CANDIDATES = 8;
const CANDIDATES = `expected a whole number of attempts from 1 to ${MAX_CANDIDATES}`;

/**
 * How a candidate step's attempts are told apart after their step-level checks: a command run on
 * each result that prints a number (its last number printed counts), higher better unless
 * `better: lower`. Without one, the smaller change wins (lines added and removed).
 */
export const ScoreSchema = z.union(
  [
    ArgText.check(z.refine((v) => v.trim() !== '', 'expected a command that prints a number')),
    z.strictObject({
      run: ArgText.check(z.refine((v) => v.trim() !== '', 'expected a command that prints a number')),
      better: z._default(z.enum(['higher', 'lower'], 'expected "higher" or "lower"'), 'higher'),
    }),
  ],
  'expected a command that prints a number, or { run: <command>, better: higher | lower }',
);
export type Score = z.infer<typeof ScoreSchema>;

export const StepSchema = z.strictObject({
  id: StepIdSchema,
  name: z.optional(LineText),
  description: z.optional(z.string()),
  agent: z.string().check(z.minLength(1, 'expected the name of an agent')),
  action: z.optional(ArgText),
  prompt: z.optional(ArgText),
  run: z.optional(ArgText),
  requires: PathList,
  creates: PathList,
  needs: z._default(z.array(StepIdSchema), []),
  next: z._default(z.pipe(StringList, z.array(StepIdSchema)), []),
  timeout_seconds: z.optional(Seconds),
  env: z.optional(EnvSchema),
  /** Best-of-N: this many attempts of the step's agent, or one attempt per agent of `agents`. */
  candidates: z.optional(z.int(CANDIDATES).check(z.gte(1, CANDIDATES), z.lte(MAX_CANDIDATES, CANDIDATES))),
  agents: z.optional(
    z
      .array(z.string().check(z.minLength(1, 'expected the name of an agent')), 'expected a list of agent names')
      .check(
        z.minLength(1, 'expected at least one agent'),
        z.maxLength(MAX_CANDIDATES, `expected at most ${MAX_CANDIDATES} agents (one attempt each)`),
      ),
  ),
  score: z.optional(ScoreSchema),
  // TappsCodingAgents keys. `condition` and `gate` have a meaning here (see `tappsMeaning.ts`); the
  // others are accepted and kept, not acted on by Tapps Flow.
  context_tier: z.optional(ContextTier),
  condition: z.optional(z.string()),
  scoring: z.optional(z.unknown()),
  gate: z.optional(StepGateSchema),
  notes: z.optional(z.string()),
  consults: z.optional(z.array(z.string())),
  optional_steps: z.optional(z.array(StepIdSchema)),
  repeats: z.optional(z.boolean()),
  metadata: z.optional(AnyMapping),
});

/**
 * A workflow gate that Tapps Flow honours: the run goes on past its step only when the step ends
 * in `status` (TappsCodingAgents' `<step>.status == "success"`).
 */
export interface OutcomeGate {
  /** The gate's name in the file, or its condition when it has none. */
  readonly name: string;
  /** What the step must end in for the run to go on. */
  readonly status: 'succeeded' | 'failed';
  /** What to tell the user when the gate stops the run. */
  readonly message: string;
}

/** A step as the scheduler sees it: the keys of the file, and what Tapps Flow derives from them. */
export type Step = z.infer<typeof StepSchema> & {
  /**
   * `condition: optional`: the step's failure (failed, timed out) must not skip the steps that
   * depend on it; they run on without its result. False for every other condition, and for a step
   * that a gate in `continueIf` needs.
   */
  readonly optional: boolean;
  /** The workflow gates on this step's outcome: the run goes on only if the step ends as each says. */
  readonly continueIf: readonly OutcomeGate[];
  /** Keys of the file that Tapps Flow keeps but does not use (a `sequence:` step's `parameters`, …). */
  readonly extra?: Readonly<Record<string, unknown>>;
};

/**
 * A workflow gate (`gates:`, beside `workflow:` in TappsCodingAgents files): a condition the run
 * must meet to go on. Keys besides these are kept, with a warning.
 */
export const WorkflowGateSchema = z.looseObject({
  name: z.optional(LineText),
  condition: z.optional(z.string('expected a condition, like: discovery.status == "success"')),
  message: z.optional(z.string()),
});
export type WorkflowGate = z.infer<typeof WorkflowGateSchema>;

export const SCHEMA_VERSIONS = ['1.0', '2.0'] as const;

export const WorkflowSchema = z.strictObject({
  id: LineText.check(z.minLength(1, 'expected a workflow id')),
  name: z.optional(LineText),
  description: z.optional(z.string()),
  version: z.optional(z.union([z.string(), z.number()], 'expected a version string or a finite number')),
  type: z.optional(z.string()),
  auto_detect: z.optional(z.boolean()),
  schema_version: z.optional(z.enum(SCHEMA_VERSIONS, `expected a schema version: ${SCHEMA_VERSIONS.map((v) => `"${v}"`).join(' or ')}`)),
  metadata: z.optional(AnyMapping),
  settings: z._default(SettingsSchema, {}),
  agents: z._default(z.record(AgentNameSchema, AgentSchema), {}),
  merge: z._default(z.array(MergeRuleSchema), []),
  setup: z.optional(SetupSchema),
  checks: z._default(
    z.array(CheckSchema, 'expected a list of checks, each with a name and a run command').check(
      z.maxLength(MAX_CHECKS, `expected at most ${MAX_CHECKS} checks`),
      z.superRefine((checks, ctx) => {
        const seen = new Set<string>();
        checks.forEach((c, i) => {
          const key = c.name.toLowerCase();
          if (seen.has(key))
            ctx.addIssue({
              code: 'custom',
              message: `duplicate check name "${c.name}"; expected each check named once (names are compared without case)`,
              input: c.name,
              path: [i, 'name'],
            });
          seen.add(key);
        });
      }),
    ),
    [],
  ),
  steps: z
    .array(StepSchema)
    .check(z.minLength(1, 'expected at least one step'), z.maxLength(MAX_STEPS, `expected at most ${MAX_STEPS} steps`)),
  gates: z.optional(z.array(WorkflowGateSchema)),
});

/** A workflow as the engine uses it: the keys of the file, its steps with what Tapps Flow derives. */
export type Workflow = Omit<z.infer<typeof WorkflowSchema>, 'steps'> & {
  readonly steps: Step[];
  /** Keys beside `workflow:` that Tapps Flow keeps but does not use (`outputs`, …). */
  readonly extra?: Readonly<Record<string, unknown>>;
};

/**
 * A workflow file as the schema checks it, in its canonical layout: `workflow:` holding
 * everything. `fileLayout.ts` brings the other layouts of TappsCodingAgents files to this one.
 */
export const WorkflowFileSchema = z.strictObject({ workflow: WorkflowSchema });
