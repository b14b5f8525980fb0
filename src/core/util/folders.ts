import { createHash } from 'node:crypto';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod/mini';
import { removeRetrying } from './paths';

/** The most entries a fingerprint walks: a folder past this is not shared. */
const MAX_ENTRIES = 1_000_000;

/**
 * A digest of a folder as the file system describes it (names, types, modes, sizes, modification
 * times, inodes, link targets; with `ctime`, change times too, which no write can set back), or
 * undefined when it is not a real folder or is too large. Equal digests mean nothing was written.
 */
export async function fingerprint(dir: string, options: { readonly ctime: boolean }): Promise<string | undefined> {
  const top = await lstat(dir).catch(() => undefined);
  if (!top?.isDirectory()) return undefined;
  const hash = createHash('sha256');
  let budget = MAX_ENTRIES;
  const walk = async (folder: string, rel: string): Promise<boolean> => {
    const names = (await readdir(folder)).sort();
    for (const name of names) {
      if (--budget < 0) return false;
      const full = path.join(folder, name);
      const stat = await lstat(full, { bigint: true });
      const link = stat.isSymbolicLink() ? await readlink(full) : '';
      hash.update(
        `${rel}${name}\0${stat.mode}\0${stat.size}\0${stat.mtimeNs}\0${stat.ino}\0${options.ctime ? stat.ctimeNs : ''}\0${link}\n`,
      );
      if (stat.isDirectory() && !(await walk(full, `${rel}${name}/`))) return false;
    }
    return true;
  };
  try {
    return (await walk(dir, '')) ? hash.digest('hex') : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes of the blocks under a folder (a walk; hard-linked files count every time). */
export async function diskBytes(dir: string): Promise<number> {
  let bytes = 0;
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(folder, entry.name);
      const stat = await lstat(full).catch(() => undefined);
      if (!stat) continue;
      bytes += stat.blocks * 512;
      if (stat.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return bytes;
}

/** Whether each recorded folder under `dir` still has its fingerprint with change times (see `fingerprint`). */
export async function foldersUnchanged(
  dir: string,
  folders: readonly { readonly path: string; readonly fingerprint: string }[],
): Promise<boolean> {
  for (const folder of folders)
    if ((await fingerprint(path.join(dir, ...folder.path.split('/')), { ctime: true })) !== folder.fingerprint) return false;
  return true;
}

/** A relative path that stays inside the folder it is relative to. */
export function safeRelative(rel: string): boolean {
  return (
    rel !== '' &&
    !rel.startsWith('/') &&
    !rel.split('/').some((part) => part === '' || part === '.' || part === '..') &&
    !rel.includes('\0')
  );
}

/** Folders recorded with their fingerprints, as a record on disk names them: paths that stay inside. */
export const FolderPrintsSchema = z
  .array(
    z.object({
      path: z.string().check(z.refine(safeRelative, 'expected a relative path inside the folder')),
      fingerprint: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
    }),
  )
  .check(z.maxLength(64));

/**
 * Deletes `rel` under `root` (a folder, a file or a link, never what a link points to), unless a
 * folder on its way is a link or not a folder: a tracked link (`packages -> ~/code`) must not
 * carry the deletion out of `root`. Returns whether it deleted.
 */
export async function removeInside(root: string, rel: string): Promise<boolean> {
  if (!safeRelative(rel)) return false;
  const parts = rel.split('/');
  let folder = root;
  for (const part of parts.slice(0, -1)) {
    folder = path.join(folder, part);
    const stat = await lstat(folder).catch(() => undefined);
    if (!stat?.isDirectory()) return false;
  }
  await removeRetrying(path.join(folder, parts[parts.length - 1]), { recursive: true, force: true });
  return true;
}
