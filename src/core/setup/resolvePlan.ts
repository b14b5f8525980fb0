import { constants as fsConstants } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Repository } from '../git/repository';
import { secretValues } from '../process/mask';
import type { SetupDefinition, SetupMode } from '../workflow/schema';
import { DEFAULT_DEPENDENCY_FOLDERS } from './dependencies';
import { ignoredPathsMatching } from './includeFiles';
import {
  DEFAULT_SETUP_TIMEOUT_SECONDS,
  looksSecret,
  patternSyntax,
  type SetupCommand,
  type SetupNote,
  type SetupPath,
  type SetupPlan,
  type SourcePart,
} from './plan';
import { readSetupSources } from './sources';
import { openNoFollow } from '../util/openNoFollow';

/** What decides a run's setup besides the repository's files. */
export interface SetupInputs {
  readonly mode: SetupMode;
  /** The workflow's own `setup:`. */
  readonly workflow?: SetupDefinition;
  /** The editor's `git.worktreeIncludeFiles`. */
  readonly editorIncludeFiles?: readonly string[];
}

/** A plan, and the values its secrets hold (kept in memory only, to mask them). */
export interface ResolvedSetup {
  readonly plan: SetupPlan;
  readonly secretValues: readonly string[];
}

const EMPTY = {
  commands: [],
  copy: [],
  symlink: [],
  env: {},
  timeoutSeconds: DEFAULT_SETUP_TIMEOUT_SECONDS,
  dependencies: { folders: [], keyFiles: [] },
} as const;

/**
 * The setup every step of a run gets: commands from the first source in precedence that has any
 * (the workflow's own, then `.cursor/worktrees.json`, Conductor's, the Codex app's), and the ignored
 * files of every source, resolved once against the main checkout.
 */
export async function resolveSetup(repo: Repository, inputs: SetupInputs): Promise<ResolvedSetup> {
  if (inputs.mode === 'none')
    return {
      plan: { ...EMPTY, notes: [{ origin: 'workflow setup', message: 'setup is "none": worktrees are used as checked out' }] },
      secretValues: [],
    };
  const found = await readSetupSources(repo.git, repo.root, { editorIncludeFiles: inputs.editorIncludeFiles });
  const own: SourcePart | undefined = inputs.workflow && {
    origin: 'workflow setup',
    commands: inputs.workflow.commands ?? [],
    copyPatterns: inputs.workflow.copy ?? [],
    symlinks: inputs.workflow.symlink ?? [],
    secrets: inputs.workflow.secrets ?? [],
    env: inputs.workflow.env ?? {},
  };
  const parts = own ? [own, ...found] : found;
  const notes: SetupNote[] = parts.flatMap((p) => (p.notes ?? []).map((message) => ({ origin: p.origin, message })));

  const runner = parts.find((p) => (p.commands ?? []).length > 0);
  const commands: SetupCommand[] = runner ? runner.commands!.map((command) => ({ command, origin: runner.origin })) : [];
  for (const p of parts)
    if (p !== runner && (p.commands ?? []).length > 0)
      notes.push({ origin: p.origin, message: `its setup commands are not run: those of ${runner!.origin} come first` });

  const secretPatterns = parts.flatMap((p) => p.secrets ?? []);
  const isSecret = secretMatcher(secretPatterns);
  const taken = new Set<string>();
  const bring = async (part: SourcePart, patterns: readonly string[]): Promise<SetupPath[]> => {
    if (patterns.length === 0) return [];
    const paths = await ignoredPathsMatching(repo.git, repo.root, patterns, patternSyntax(part.origin));
    if (paths.length === 0) notes.push({ origin: part.origin, message: `${patterns.join(', ')}: no ignored file matches` });
    return paths.filter((p) => !taken.has(p) && taken.add(p)).map((p) => ({ path: p, origin: part.origin, secret: isSecret(p) }));
  };
  const symlink: SetupPath[] = [];
  for (const p of parts) symlink.push(...(await bring(p, p.symlinks ?? [])));
  const copy: SetupPath[] = [];
  for (const p of parts) copy.push(...(await bring(p, p.copyPatterns ?? [])));

  const env = Object.assign({}, ...[...parts].reverse().map((p) => p.env ?? {})) as Record<string, string>;
  const plan: SetupPlan = {
    commands,
    copy,
    symlink,
    env,
    timeoutSeconds: inputs.workflow?.timeout_seconds ?? DEFAULT_SETUP_TIMEOUT_SECONDS,
    dependencies: {
      folders: inputs.workflow?.dependencies ?? [...DEFAULT_DEPENDENCY_FOLDERS],
      keyFiles: inputs.workflow?.key_files ?? [],
    },
    notes,
  };
  return { plan, secretValues: await secretValuesOf(repo.root, plan) };
}

/** The values the plan's secret files hold in the checkout `root`, to mask them (kept in memory only). */
export async function secretValuesOf(root: string, plan: Pick<SetupPlan, 'copy' | 'symlink'>): Promise<string[]> {
  const values: string[] = [];
  for (const entry of [...plan.copy, ...plan.symlink])
    if (entry.secret) values.push(...(await valuesOf(path.join(root, ...entry.path.split('/')))));
  return [...new Set(values)];
}

/**
 * Whether a path is a secret: named like one (`.env*`), or matched by a pattern a setup marks as
 * secret (gitignore-like: a pattern without `/` matches the name at any depth).
 */
function secretMatcher(patterns: readonly string[]): (p: string) => boolean {
  const matchers = patterns.map((pattern) => {
    const anchored = pattern.replace(/^\//, '').replace(/\/$/, '');
    const match = picomatch(pattern.includes('/') ? anchored : `**/${anchored}`, { dot: true });
    return (p: string) => match(p) || p.split('/').some((_, i, all) => match(all.slice(0, i + 1).join('/')));
  });
  return (p) => looksSecret(p) || matchers.some((m) => m(p));
}

/** The values a secret file holds; nothing for a folder, a link or a file over 1 MiB. */
async function valuesOf(file: string): Promise<string[]> {
  const handle = await openNoFollow(file, fsConstants.O_RDONLY).catch(() => undefined);
  if (!handle) return [];
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > 1024 * 1024) return [];
    return secretValues(await handle.readFile('utf8'));
  } finally {
    await handle.close();
  }
}
