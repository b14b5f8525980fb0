import { copyFile, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Repository } from './repository';
import { scratchPath } from './scratch';

/** The user's working tree as git sees it, held in a temporary index. */
export interface WorkingIndex {
  /** The temporary index file: HEAD plus every uncommitted, non-ignored change, with fresh stat data. */
  readonly file: string;
  /** The tree of that index: the user's files now. */
  readonly tree: string;
}

/**
 * Runs `fn` with the user's working tree captured in a temporary index (a copy of the user's
 * index, then `git add --all`), and deletes the index after, whatever happens. The user's own
 * index is only read. The copy matters for speed: git reuses its stat data instead of hashing
 * every file, and a checkout through this index (`read-tree -u`) finds every entry up to date
 * with the disk. Used for a run's base and for apply.
 */
export async function withWorkingIndex<T>(repo: Repository, fn: (working: WorkingIndex) => Promise<T>): Promise<T> {
  const { git } = repo;
  const file = await scratchPath(repo, 'index-working');
  const env = { GIT_INDEX_FILE: file };
  try {
    const seeded = await seedFrom(path.join(repo.gitDir, 'index'), file);
    await git.run(['add', '--all', '--', '.'], { env }).catch(async (error: unknown) => {
      if (!seeded) throw error;
      // An index git cannot use as a copy (a split index, say): start from HEAD and hash every file.
      await rm(file, { force: true });
      await git.run(['read-tree', 'HEAD'], { env });
      await git.run(['add', '--all', '--', '.'], { env });
    });
    const tree = await git.line(['write-tree'], { env });
    return await fn({ file, tree });
  } finally {
    await rm(file, { force: true });
    await rm(`${file}.lock`, { force: true });
  }
}

/**
 * Copies the user's index, keeping its modification time. Git trusts an entry's stat data only if
 * the file was not modified in the same second the index was written ("racy git"), and it learns
 * that second from the index file's own time: a copy made later would make a same-size edit saved
 * in that second look unchanged (the base would miss it, apply would overwrite it). Milliseconds
 * are truncated, which can only make more entries racy (checked by content), never fewer.
 */
async function seedFrom(userIndex: string, file: string): Promise<boolean> {
  try {
    const info = await stat(userIndex);
    await copyFile(userIndex, file);
    await utimes(file, info.atime, info.mtime);
    return true;
  } catch {
    return false;
  }
}
