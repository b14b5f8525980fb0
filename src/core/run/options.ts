import type { DependencySharing, Isolation, KeepWorktrees, Runner, SetupMode } from '../workflow/schema';

/** Defaults a host (CLI flags, VS Code settings) supplies; the workflow's own settings win over them. */
export interface RunDefaults {
  /** @default 8 */
  readonly maxParallel?: number;
  /** Per-step timeout. @default 900 */
  readonly timeoutSeconds?: number;
  /** Time between the polite signal and the kill. @default 5 */
  readonly killGraceSeconds?: number;
  /** @default 'on_failure' */
  readonly keepWorktrees?: KeepWorktrees;
  /** @default 10 MiB */
  readonly logMaxBytes?: number;
  /** @default `<git common dir>/tapps-flow/worktrees` */
  readonly worktreeRoot?: string;
  /** How many worktree checkouts run at once. @default 2 */
  readonly worktreeAddConcurrency?: number;
  /** Agents configured outside the workflow: name -> command template. */
  readonly agents?: Readonly<Record<string, readonly string[]>>;
  /** Fail a step that changes paths outside its `creates`. @default false */
  readonly failOnUndeclaredChanges?: boolean;
  /** How steps are kept inside their worktrees. @default 'detect' */
  readonly isolation?: Isolation;
  /** Folders a sandboxed step may write besides its worktree: `~/x` or absolute. @default DEFAULT_SANDBOX_WRITABLE */
  readonly sandboxWritable?: readonly string[];
  /** The home folder `~/` means. @default os.homedir() */
  readonly homeDir?: string;
  /** Memory to keep available before another step starts, in MiB; 0: no limit. @default 512 */
  readonly minFreeMemoryMb?: number;
  /** The 1-minute load per CPU above which no further step starts; 0: no limit. @default 4 */
  readonly maxLoadPerCpu?: number;
  /** How many finished steps' worktrees are kept, cleaned, for later steps. @default max_parallel */
  readonly poolSize?: number;
  /** How set-up dependency folders are shared between worktrees. @default 'auto' */
  readonly dependencySharing?: DependencySharing;
  /** Disk the warm pool and the shared dependencies may keep, in MiB; 0: no cap. @default 10240 */
  readonly poolMaxMb?: number;
  /** How many ports each running step leases. @default 10 */
  readonly portsPerStep?: number;
  /** Whether step worktrees are set up. @default 'auto' */
  readonly setup?: SetupMode;
  /** The editor's `git.worktreeIncludeFiles`: globs of ignored files to copy into each worktree. */
  readonly worktreeIncludeFiles?: readonly string[];
  /** Where steps run. @default 'local' */
  readonly runner?: Runner;
  /**
   * The queue of the `queue` runner (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS).
   * Never recorded: it may hold a password. @default TAPPS_QUEUE_URL
   */
  readonly queueUrl?: string;
  /** The git remote (a name, or a URL) steps' bases and results travel through. @default TAPPS_QUEUE_REMOTE, else 'origin' */
  readonly queueRemote?: string;
  /** How many times a step is tried in all when its worker stops answering. @default 3 */
  readonly queueAttempts?: number;
}

export interface RunOptions {
  readonly workflowFile: string;
  /** A folder inside the repository. @default the workflow file's repository */
  readonly repoDir?: string;
  readonly runId?: string;
  /** Overrides the workflow's `max_parallel`. */
  readonly maxParallel?: number;
  /** Sequential mode: one step at a time, in a stable topological order. */
  readonly sequential?: boolean;
  /** Overrides the workflow's `isolation`. */
  readonly isolation?: Isolation;
  /** Overrides the workflow's `setup`. */
  readonly setup?: SetupMode;
  /** Overrides the workflow's `runner`. */
  readonly runner?: Runner;
  readonly signal?: AbortSignal;
  readonly defaults?: RunDefaults;
  /** The clock for event times. @default () => new Date() */
  readonly now?: () => Date;
}

/** A new run id: sortable by start time, unique enough for one repository. */
export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.floor(Math.random() * 0xffff)
    .toString(16)
    .padStart(4, '0')}`;
}
