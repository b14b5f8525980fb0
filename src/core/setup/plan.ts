import type { DependencySpec } from './dependencies';

/**
 * A step's setup: what makes a fresh worktree able to run, read from what the repository already
 * has for other tools (see `sources.ts`) and from the workflow's own `setup:`. The plan is made
 * once per run, before any step starts, and each step's worktree runs it.
 */

/** Where a part of the plan came from, as the user knows it. */
export const SETUP_ORIGINS = [
  'workflow setup',
  '.worktreeinclude',
  '.cursor/worktrees.json',
  '.conductor/settings.toml',
  'conductor.json',
  '.codex/environments/environment.toml',
  'git.worktreeIncludeFiles',
] as const;
export type SetupOrigin = (typeof SETUP_ORIGINS)[number];

/** One setup command: shell text run with `sh -c` in the step's worktree. */
export interface SetupCommand {
  readonly command: string;
  readonly origin: SetupOrigin;
}

/** An ignored file or folder of the main checkout to bring into each worktree. */
export interface SetupPath {
  /** Relative to the repository root, with `/` separators, never leaving it. */
  readonly path: string;
  readonly origin: SetupOrigin;
  /** Whether its contents are a secret: never captured, its values masked in step logs. */
  readonly secret: boolean;
}

/** Something a source holds that the plan does not use, and why (shown by `setup --explain`). */
export interface SetupNote {
  readonly origin: SetupOrigin;
  readonly message: string;
}

export interface SetupPlan {
  /** Run one after another; all from one source, the first in precedence that has any. */
  readonly commands: readonly SetupCommand[];
  /** Copied from the main checkout (files, or folders copied whole). */
  readonly copy: readonly SetupPath[];
  /** Linked to the main checkout's own file or folder. */
  readonly symlink: readonly SetupPath[];
  /** Environment variables the sources ask for (Conductor's), besides the ones every setup gets. */
  readonly env: Readonly<Record<string, string>>;
  /** The setup's own time limit, in seconds. */
  readonly timeoutSeconds: number;
  /** Which ignored folders the setup installs, shared between worktrees with the same key (see `dependencies.ts`). */
  readonly dependencies: DependencySpec;
  /** What was found and not used. */
  readonly notes: readonly SetupNote[];
}

/** What one source contributes before precedence is applied (`sources.ts` reads them). */
export interface SourcePart {
  readonly origin: SetupOrigin;
  /** The file it was read from, relative to the repository root (absent for the editor setting). */
  readonly file?: string;
  readonly commands?: readonly string[];
  /** gitignore-style patterns (or exact paths) of ignored files to copy. */
  readonly copyPatterns?: readonly string[];
  readonly symlinks?: readonly string[];
  readonly secrets?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Things read and not acted on (a `run` script, `[[actions]]`, a Windows-only command). */
  readonly notes?: readonly string[];
}

/** The default time limit of a setup: installs are slow, but a hung one must end. */
export const DEFAULT_SETUP_TIMEOUT_SECONDS = 900;

/** Copied files whose name says they hold secrets, whatever the source says. */
export function looksSecret(relativePath: string): boolean {
  const name = relativePath.split('/').pop() ?? '';
  return /^\.env(\..*)?$/.test(name) || name.startsWith('.env');
}

/**
 * How a source's `copyPatterns` are matched (`includeFiles.ts`): the editor's setting holds glob
 * patterns; `.worktreeinclude` and Conductor's `file_include_globs` hold `.gitignore` lines.
 */
export function patternSyntax(origin: SetupOrigin): 'gitignore' | 'glob' {
  return origin === 'git.worktreeIncludeFiles' ? 'glob' : 'gitignore';
}
