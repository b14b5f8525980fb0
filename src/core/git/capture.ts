import { fixedIdentityEnv } from './identity';
import type { Git } from './git';

/** What a step changed, captured as a commit on top of its base. */
export interface Capture {
  readonly commit: string;
  readonly tree: string;
  /** Paths changed against the step's base, sorted. */
  readonly changed: readonly string[];
}

/**
 * Captures everything in the worktree (untracked included, ignored excluded) as one commit whose
 * parent is the step's base, whether or not the step made commits of its own.
 */
export async function captureWorktree(worktree: Git, step: string, base: { commit: string; tree: string; time: number }): Promise<Capture> {
  await worktree.run(['add', '--all', '--', '.']);
  const tree = await worktree.line(['write-tree']);
  const message = `Tapps Flow step ${step}`;
  const commit = await worktree.line(['commit-tree', tree, '-p', base.commit, '-m', message], { env: fixedIdentityEnv(base.time) });
  return { commit, tree, changed: await changedPaths(worktree, base.tree, tree) };
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
