import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { GITLINK_MODE } from './treeDiff';
import { isGitFolderName } from '../workflow/repoPath';
import type { Git } from './git';
import { treeEntries } from './objects';

/** Files a step wrote inside one submodule's folder: git records only the submodule's commit there, so they are not in its result. */
export interface SubmoduleWrite {
  /** The submodule's path (a gitlink of the step's base). */
  readonly submodule: string;
  /** Some of the files, repository paths, sorted: at most `SUBMODULE_WRITE_LIMITS.listed`. */
  readonly files: readonly string[];
  /** How many files were found, up to `SUBMODULE_WRITE_LIMITS.counted` (which then means "at least"). */
  readonly count: number;
}

/**
 * Bounds on what a step's success records about its submodule writes, also enforced when the
 * record is read back: a step that fills a submodule's folder with 100,000 files (a dependency
 * install) costs a bounded walk and a few lines, not a huge event.
 */
export const SUBMODULE_WRITE_LIMITS = { submodules: 50, listed: 10, counted: 1000 } as const;

/** Entries looked at in one worktree's submodule folders, at most. */
const WALK_LIMIT = 20_000;

/** Gitlinks of trees already listed: objects never change, so a tree's answer holds for good (the run's base is shared by most steps). */
const gitlinkCache = new Map<string, Promise<string[]>>();
const GITLINK_CACHE_SIZE = 32;

/**
 * The gitlink paths (submodules) of a tree, sorted. One `ls-tree -r` of the tree: about 10 ms for
 * 10,000 files, and cached per tree, so the steps that start from the run's base pay it once.
 */
export function gitlinksOf(git: Git, gitDir: string, tree: string): Promise<string[]> {
  const key = `${gitDir}\0${tree}`;
  let found = gitlinkCache.get(key);
  if (!found) {
    found = git.run(['ls-tree', '-r', '-z', '--full-tree', tree]).then(parseGitlinks);
    found.catch(() => gitlinkCache.delete(key));
    gitlinkCache.set(key, found);
    if (gitlinkCache.size > GITLINK_CACHE_SIZE) gitlinkCache.delete(gitlinkCache.keys().next().value!);
  }
  return found;
}

function parseGitlinks(out: string): string[] {
  const links: string[] = [];
  for (const record of out.split('\0')) if (record.startsWith(`${GITLINK_MODE} `)) links.push(record.slice(record.indexOf('\t') + 1));
  return links.sort();
}

/**
 * The files a step wrote under the gitlink paths of its base, in its worktree `dir`. Worktrees do
 * not initialise submodules (git leaves an empty folder at each gitlink), so anything found there
 * was written by the step, and `git add` skips it: without this, it would be lost without a word.
 * Only the gitlink folders are walked, never the rest of the worktree; links are not followed,
 * and a gitlink whose leading folders the step replaced by a link is not entered at all (it
 * could lead anywhere). `.git` entries are left out: a repository the step made there shows as a
 * change of the submodule's commit. A gitlink the captured `tree` no longer holds (the step made
 * it a plain folder, whose files were then captured) is not reported.
 */
export async function findSubmoduleWrites(git: Git, dir: string, gitlinks: readonly string[], tree: string): Promise<SubmoduleWrite[]> {
  const found: SubmoduleWrite[] = [];
  const budget = { left: WALK_LIMIT };
  for (const submodule of gitlinks) {
    if (found.length >= SUBMODULE_WRITE_LIMITS.submodules || budget.left <= 0) break;
    if (!(await isPlainFolder(dir, submodule))) continue;
    const files: string[] = [];
    const count = await walk(path.join(dir, submodule), submodule, files, budget);
    if (count > 0) found.push({ submodule, files: files.sort(), count });
  }
  if (found.length === 0) return found;
  const still = await treeEntries(
    git,
    tree,
    found.map((w) => w.submodule),
  );
  return found.filter((w) => still.get(w.submodule)?.mode === GITLINK_MODE);
}

/** Whether `rel` and each of its leading folders under `root` is a folder, not a link. */
async function isPlainFolder(root: string, rel: string): Promise<boolean> {
  let current = root;
  for (const part of rel.split('/')) {
    current = path.join(current, part);
    const stat = await lstat(current).catch(() => undefined);
    if (!stat?.isDirectory()) return false;
  }
  return true;
}

/** Counts the files under `folder` (up to the limit), listing the first few in sorted walk order. */
async function walk(folder: string, rel: string, files: string[], budget: { left: number }): Promise<number> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    return 0;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let count = 0;
  for (const entry of entries) {
    if (budget.left-- <= 0 || count >= SUBMODULE_WRITE_LIMITS.counted) break;
    if (isGitFolderName(entry.name)) continue;
    const child = `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      count += await walk(path.join(folder, entry.name), child, files, budget);
      count = Math.min(count, SUBMODULE_WRITE_LIMITS.counted);
    } else {
      count += 1;
      if (files.length < SUBMODULE_WRITE_LIMITS.listed) files.push(child);
    }
  }
  return count;
}
