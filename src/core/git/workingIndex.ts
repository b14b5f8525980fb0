import { constants as fsConstants } from 'node:fs';
import { utimes, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { GitError } from '../util/errors';
import type { Git } from './git';
import type { Repository } from './repository';
import { scratchPath } from './scratch';
import { removeRetrying } from '../util/paths';
import { openNoFollow } from '../util/openNoFollow';

/** The user's working tree as git sees it, held in a temporary index. */
export interface WorkingIndex {
  /** The temporary index file: HEAD plus every uncommitted, non-ignored change, with fresh stat data. */
  readonly file: string;
  /** The tree of that index: the user's files now. */
  readonly tree: string;
}

/**
 * Stages every file of a work tree (untracked included, ignored excluded) into the temporary
 * index `file`, starting from a copy of `seed` (an index of that work tree) so that unchanged
 * files are not hashed again. When there is no seed, or git cannot use it (a split index, one a
 * step damaged), it starts from `fallbackTree` and hashes every file. Returns the tree.
 */
export async function stageAll(
  git: Git,
  file: string,
  seed: string | undefined,
  fallbackTree: string | undefined,
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<string> {
  const env = { ...extraEnv, GIT_INDEX_FILE: file };
  const add = () => git.run(['add', '--all', '--', '.'], { env });
  const seeded = seed !== undefined && (await copyIndex(seed, file));
  const added =
    seeded &&
    (await add().then(
      () => true,
      (error: unknown) => {
        if (GitError.is(error)) return false;
        throw error;
      },
    ));
  if (!added) {
    await removeRetrying(file, { force: true });
    if (fallbackTree !== undefined) await git.run(['read-tree', fallbackTree], { env });
    await add();
  }
  return git.line(['write-tree'], { env });
}

/**
 * Runs `fn` with the user's working tree captured in a temporary index, and deletes the index
 * after, whatever happens. The user's own index is only read. The copy matters for speed: git
 * reuses its stat data instead of hashing every file, and a checkout through this index
 * (`read-tree -u`) finds every entry up to date with the disk. Used for a run's base and for apply.
 */
export async function withWorkingIndex<T>(repo: Repository, fn: (working: WorkingIndex) => Promise<T>): Promise<T> {
  const file = await scratchPath(repo, 'index-working');
  try {
    const tree = await stageAll(repo.git, file, path.join(repo.gitDir, 'index'), 'HEAD');
    return await fn({ file, tree });
  } finally {
    await removeRetrying(file, { force: true });
    await removeRetrying(`${file}.lock`, { force: true });
  }
}

/**
 * Copies an index, keeping its modification time. Git trusts an entry's stat data only if the
 * file was not modified in the same second the index was written ("racy git"), and it learns
 * that second from the index file's own time: a copy made later would make a same-size edit saved
 * in that second look unchanged (the base would miss it, apply would overwrite it, a step's result
 * would lack it). Milliseconds are truncated, which can only make more entries racy (checked by
 * content), never fewer.
 */
async function copyIndex(from: string, to: string): Promise<boolean> {
  // The index a step's worktree names may be anything the step left there: only a regular file is
  // read, never through a symlink, and never a FIFO, which would block the open for ever.
  let handle: FileHandle | undefined;
  try {
    handle = await openNoFollow(from, fsConstants.O_RDONLY);
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_INDEX_BYTES) return false;
    await writeFile(to, await handle.readFile());
    await utimes(to, info.atime, info.mtime);
    return true;
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

/** An index larger than this is not copied (git hashes the files instead). */
const MAX_INDEX_BYTES = 2 * 1024 * 1024 * 1024 - 1;
