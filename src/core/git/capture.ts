import path from 'node:path';
import { Git } from './git';
import { fixedIdentityEnv } from './identity';
import { keepOut, type KeptOut } from './keepOut';
import type { Repository } from './repository';
import { scratchPath } from './scratch';
import { findSubmoduleWrites, gitlinksOf, type SubmoduleWrite } from './submoduleWrites';
import { stageAll } from './workingIndex';
import { removeRetrying } from '../util/paths';

/** What a step changed, captured as a commit on top of its base. */
export interface Capture {
  readonly commit: string;
  readonly tree: string;
  /** Paths changed against the step's base, sorted. */
  readonly changed: readonly string[];
  /** Files the step wrote inside submodules' folders, which the commit cannot hold (see `findSubmoduleWrites`). */
  readonly submoduleWrites: readonly SubmoduleWrite[];
}

/**
 * The tree of everything in a worktree folder (untracked included, ignored excluded), written
 * through the repository's own git directory and a temporary index: never through the folder's
 * `.git` file, which the step that worked there can point at the user's repository (git would
 * then stage into the user's index). The worktree's index, when given, only seeds the temporary
 * one so that unchanged files are not hashed again; if it is unreadable, every file is hashed.
 */
export async function writeWorktreeTree(
  repo: Repository,
  dir: string,
  seed: { index?: string; tree?: string },
  env: Readonly<Record<string, string>> = {},
): Promise<string> {
  const git = new Git(dir, { gitDir: repo.commonDir, workTree: dir, worktreeSettings: true });
  const index = await scratchPath(repo, 'index-capture');
  try {
    return await stageAll(git, index, seed.index, seed.tree, env);
  } finally {
    await removeRetrying(index, { force: true });
    await removeRetrying(`${index}.lock`, { force: true });
  }
}

/**
 * Captures everything in the step's worktree as one commit whose parent is the step's base,
 * whether or not the step made commits of its own.
 */
export async function captureWorktree(
  repo: Repository,
  wt: { readonly dir: string; readonly entry: string },
  step: string,
  base: { commit: string; tree: string; time: number },
  options: {
    readonly seedIndex?: boolean;
    /**
     * The step's tag: git may start programs the worktree names (a clean filter of its
     * `.gitattributes`), which then carry it and are stopped with the step's own processes.
     */
    readonly env?: Readonly<Record<string, string>>;
    /** What the step's setup brought in or changed, left out of its result. */
    readonly keepOut?: KeptOut;
  } = {},
): Promise<Capture> {
  const [written, gitlinks] = await Promise.all([
    writeWorktreeTree(
      repo,
      wt.dir,
      { ...(options.seedIndex === false ? {} : { index: path.join(wt.entry, 'index') }), tree: base.tree },
      options.env,
    ),
    gitlinksOf(repo.git, repo.commonDir, base.tree),
  ]);
  const tree = options.keepOut ? await keepOut(repo, written, base.tree, options.keepOut) : written;
  const message = `Tapps Flow step ${step}`;
  const [commit, changed, submoduleWrites] = await Promise.all([
    repo.git.line(['commit-tree', tree, '-p', base.commit, '-m', message], { env: fixedIdentityEnv(base.time) }),
    changedPaths(repo.git, base.tree, tree),
    gitlinks.length === 0 ? [] : findSubmoduleWrites(repo.git, wt.dir, gitlinks, tree),
  ]);
  return { commit, tree, changed, submoduleWrites };
}

/** Paths that differ between two trees, sorted (no rename detection: a rename is a delete and an add). */
export async function changedPaths(git: Git, from: string, to: string): Promise<string[]> {
  if (from === to) return [];
  const out = await git.run(['diff-tree', '-r', '--no-renames', '--name-only', '-z', from, to]);
  return out
    .split('\0')
    .filter((p) => p !== '')
    .sort();
}

/** Whether a tree contains a path (a folder when it ends in `/`). */
export async function treeContains(git: Git, tree: string, entry: string): Promise<boolean> {
  const target = entry.replace(/\/+$/, '');
  const out = await git.run(['ls-tree', '--name-only', '-z', tree, '--', target]);
  return out.split('\0').includes(target);
}
