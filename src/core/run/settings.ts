import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as z from 'zod/mini';
import { TappsError } from '../util/errors';
import {
  DEPENDENCY_SHARING,
  ISOLATION_MODES,
  KEEP_WORKTREES,
  RUNNERS,
  SETUP_MODES,
  type Isolation,
  type Runner,
  type Settings,
  type SetupMode,
} from '../workflow/schema';
import { sandboxSupport, type SandboxSupport } from '../process/sandbox';
import { shellChoice } from '../process/shell';
import type { RunDefaults } from './options';
import { DEFAULT_LOAD_LIMITS } from './loadGate';

/** A step's time limit is at most a week: longer would overflow Node's timers (2^31 - 1 ms, about 24.8 days) long before it matters. */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
export const MAX_KILL_GRACE_SECONDS = 3600;
export const MIN_LOG_BYTES = 1024;
export const MAX_LOG_BYTES = 1024 * 1024 * 1024;
/** The disk the warm pool and the shared dependencies keep by default: 10 GiB. */
export const DEFAULT_POOL_MAX_MB = 10_240;
/** How many times a step run through the queue is tried in all when its worker stops answering. */
export const DEFAULT_QUEUE_ATTEMPTS = 3;

const within = (min: number, max: number) =>
  z.refine<number>((value) => value >= min && value <= max, `expected a value from ${min} to ${max}`);

/**
 * The effective settings of one run, as recorded in its `run_started` event and read back by
 * resume: bounded, so that a setting read from disk cannot overflow a timer or fill the disk.
 */
export const EffectiveSettingsSchema = z.object({
  maxParallel: z.int('expected a whole number from 1 to 8').check(within(1, 8)),
  sequential: z.boolean(),
  timeoutSeconds: z
    .number('expected a number of seconds')
    .check(z.gt(0, 'expected more than 0 seconds'), z.lte(MAX_TIMEOUT_SECONDS, `expected at most ${MAX_TIMEOUT_SECONDS} seconds (7 days)`)),
  killGraceSeconds: z.number('expected a number of seconds').check(within(0, MAX_KILL_GRACE_SECONDS)),
  keepWorktrees: z.enum(KEEP_WORKTREES),
  logMaxBytes: z.int('expected a whole number of bytes').check(within(MIN_LOG_BYTES, MAX_LOG_BYTES)),
  failOnUndeclaredChanges: z.boolean(),
  /** The absolute folder the run's worktrees are made under. */
  worktreeRoot: z.string().check(z.refine((p) => path.isAbsolute(p), 'expected an absolute path')),
  /** `sandbox`, `detect` or `off`; runs recorded before the setting existed read as `detect`. */
  isolation: z._default(z.enum(ISOLATION_MODES), 'detect'),
  /** Set when `sandbox` was asked for and this machine has none: why, said once when the run starts. */
  isolationFallback: z.optional(z.string().check(z.maxLength(1000))),
  /** How many finished steps' worktrees wait, cleaned, for later steps (the warm pool); older runs read as 0. */
  poolSize: z._default(z.int('expected a whole number of worktrees').check(within(0, 8)), 0),
  /** How set-up dependency folders are shared between worktrees (see dependencies.ts); older runs read as `none`. */
  dependencySharing: z._default(z.enum(DEPENDENCY_SHARING), 'none'),
  /** Disk (MiB) the warm pool and the shared dependencies keep between runs; 0 is no cap. */
  poolMaxMb: z._default(z.int('expected a whole number of MiB').check(within(0, 16_777_216)), DEFAULT_POOL_MAX_MB),
  /** How many ports each running step leases (its first in `TAPPS_PORT`); older runs read as 10. */
  portsPerStep: z._default(z.int('expected a whole number of ports').check(within(1, 100)), 10),
  /** Load-aware start (see loadGate.ts): memory to keep available (MiB) and the load per CPU not to pass; 0 is no limit. */
  minFreeMemoryMb: z._default(z.int('expected a whole number of MiB').check(within(0, 1_048_576)), DEFAULT_LOAD_LIMITS.minFreeMemoryMb),
  maxLoadPerCpu: z._default(z.number('expected a load per CPU').check(within(0, 1000)), DEFAULT_LOAD_LIMITS.maxLoadPerCpu),
  /** Whether step worktrees are set up (`auto`) or used as checked out (`none`); older runs read as `auto`. */
  setup: z._default(z.enum(SETUP_MODES), 'auto'),
  /** Absolute folders a sandboxed step may write besides its worktree (agents' configuration). */
  sandboxWritable: z._default(
    z.array(z.string().check(z.refine((p) => path.isAbsolute(p), 'expected absolute folders'))).check(z.maxLength(64)),
    [],
  ),
  /** Where the steps run: `local`, or `queue` (workers); older runs read as `local`. */
  runner: z._default(z.enum(RUNNERS), 'local'),
  /** How many times a step run through the queue is queued in all when its worker stops answering. */
  queueAttempts: z._default(z.int('expected a whole number of attempts').check(within(1, 10)), DEFAULT_QUEUE_ATTEMPTS),
  /** The git remote results travel through (a remote's name or a URL without credentials), for `queue`. */
  queueRemote: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))),
});
export type EffectiveSettings = z.infer<typeof EffectiveSettingsSchema>;

/** What a host or the CLI may override. */
export interface SettingsOverrides {
  readonly maxParallel?: number;
  readonly sequential?: boolean;
  readonly isolation?: Isolation;
  readonly setup?: SetupMode;
  readonly runner?: Runner;
}

/**
 * The settings of a run: the command line's overrides, then the workflow's own settings, then the
 * host's defaults (CLI flags, editor settings), then the built-in defaults. A default from a host
 * out of bounds is refused with a message naming the setting, never clamped silently.
 */
export function effectiveSettings(
  workflow: Settings,
  defaults: RunDefaults,
  overrides: SettingsOverrides,
  defaultWorktreeRoot: string,
): EffectiveSettings {
  shellChoice(); // a wrong TAPPS_SHELL stops the run before anything starts, not each step
  const maxParallel = overrides.sequential ? 1 : (overrides.maxParallel ?? workflow.max_parallel ?? defaults.maxParallel ?? 8);
  const settings = {
    maxParallel,
    sequential: maxParallel === 1,
    timeoutSeconds: workflow.timeout_seconds ?? defaults.timeoutSeconds ?? 900,
    killGraceSeconds: workflow.kill_grace_seconds ?? defaults.killGraceSeconds ?? 5,
    keepWorktrees: workflow.keep_worktrees ?? defaults.keepWorktrees ?? 'on_failure',
    logMaxBytes: workflow.log_max_bytes ?? defaults.logMaxBytes ?? 10 * 1024 * 1024,
    failOnUndeclaredChanges: workflow.fail_on_undeclared_changes ?? defaults.failOnUndeclaredChanges ?? false,
    worktreeRoot: defaults.worktreeRoot ?? defaultWorktreeRoot,
    isolation: overrides.isolation ?? workflow.isolation ?? defaults.isolation ?? 'detect',
    setup: overrides.setup ?? workflow.setup ?? defaults.setup ?? 'auto',
    portsPerStep: workflow.ports_per_step ?? defaults.portsPerStep ?? 10,
    poolSize: workflow.pool_size ?? defaults.poolSize ?? maxParallel,
    poolMaxMb: workflow.pool_max_mb ?? defaults.poolMaxMb ?? DEFAULT_POOL_MAX_MB,
    dependencySharing: workflow.dependency_sharing ?? defaults.dependencySharing ?? 'auto',
    minFreeMemoryMb: workflow.min_free_memory_mb ?? defaults.minFreeMemoryMb ?? DEFAULT_LOAD_LIMITS.minFreeMemoryMb,
    maxLoadPerCpu: workflow.max_load_per_cpu ?? defaults.maxLoadPerCpu ?? DEFAULT_LOAD_LIMITS.maxLoadPerCpu,
    sandboxWritable: sandboxFolders(workflow.sandbox_writable ?? defaults.sandboxWritable ?? DEFAULT_SANDBOX_WRITABLE, defaults.homeDir),
    runner: overrides.runner ?? workflow.runner ?? defaults.runner ?? 'local',
    queueAttempts: workflow.queue_attempts ?? defaults.queueAttempts ?? DEFAULT_QUEUE_ATTEMPTS,
  };
  const parsed = EffectiveSettingsSchema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? 'a setting');
    const value = JSON.stringify((settings as Record<string, unknown>)[key]);
    throw new TappsError(
      'invalid-setting',
      `The setting ${SETTING_NAMES[key] ?? key} is ${value}: ${issue?.message ?? 'out of range'}. ${
        Object.hasOwn(SETTING_OPTIONS, key)
          ? `Change it, or give ${SETTING_OPTIONS[key]} a valid value, and try again.`
          : 'Change it and try again.'
      }`,
    );
  }
  return parsed.data;
}

/**
 * The isolation this machine can give: `sandbox` where there is none becomes `detect`, and the
 * settings say why (the run says so once, when it starts).
 */
export function withSandboxSupport(settings: EffectiveSettings, support: SandboxSupport = sandboxSupport()): EffectiveSettings {
  if (settings.isolation !== 'sandbox' || support.bwrap || (process.platform === 'darwin' && existsSync('/usr/bin/sandbox-exec')))
    return settings;
  return {
    ...settings,
    isolation: 'detect',
    isolationFallback: `no sandbox: ${support.missing ?? 'none on this machine'}; steps run with detection only`,
  };
}

/** How the user knows each setting: its key in a workflow's settings and in the editor. */
const SETTING_NAMES: Record<string, string> = {
  maxParallel: 'max parallel (max_parallel, tappsFlow.maxParallel)',
  timeoutSeconds: 'step timeout (timeout_seconds, tappsFlow.stepTimeoutSeconds)',
  killGraceSeconds: 'kill grace (kill_grace_seconds, tappsFlow.killGraceSeconds)',
  logMaxBytes: 'log size cap (log_max_bytes, tappsFlow.logMaxBytes)',
  keepWorktrees: 'keep worktrees (keep_worktrees, tappsFlow.keepWorktrees)',
  worktreeRoot: 'worktree folder (tappsFlow.worktreeRoot)',
  isolation: 'isolation (isolation, tappsFlow.isolation)',
  sandboxWritable: 'sandbox writable folders (sandbox_writable, tappsFlow.sandboxWritable)',
  setup: 'setup (setup, tappsFlow.setup)',
  portsPerStep: 'ports per step (ports_per_step, tappsFlow.portsPerStep)',
  poolSize: 'worktree pool size (pool_size, tappsFlow.poolSize)',
  poolMaxMb: 'worktree pool disk cap (pool_max_mb, tappsFlow.poolMaxMb)',
  dependencySharing: 'dependency sharing (dependency_sharing, tappsFlow.dependencySharing)',
  minFreeMemoryMb: 'free memory to keep (min_free_memory_mb, tappsFlow.minFreeMemoryMb)',
  maxLoadPerCpu: 'load per CPU (max_load_per_cpu, tappsFlow.maxLoadPerCpu)',
  runner: 'runner (runner, tappsFlow.runner)',
  queueAttempts: 'queue attempts (queue_attempts, tappsFlow.queueAttempts)',
};

/** The command line's option of a setting, where it has one (said in a sentence of its own, which the editor leaves out). */
const SETTING_OPTIONS: Record<string, string> = {
  maxParallel: '--max-parallel',
  isolation: '--isolation',
  setup: '--setup',
  runner: '--runner',
};

/**
 * The folders agents keep their sessions, credentials' refresh and caches in: a sandboxed agent
 * that cannot write them fails to start. Only the ones that exist are made writable.
 */
export const DEFAULT_SANDBOX_WRITABLE: readonly string[] = [
  '~/.claude',
  '~/.claude.json',
  '~/.codex',
  '~/.gemini',
  '~/.cursor',
  '~/.config/cursor',
  '~/.aider',
  '~/.cache',
  '~/.npm',
];

/** `~/x` made absolute against the home folder; absolute paths kept as they are (the editor's setting). */
export function sandboxFolders(list: readonly string[], home = os.homedir()): string[] {
  return [...new Set(list.map((p) => (p.startsWith('~/') ? path.join(home, p.slice(2)) : p)))];
}
