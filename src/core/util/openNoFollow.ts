import { constants } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';

/**
 * Not following a link at the last name (a clone or a step may have put one where a file of the
 * engine's was), and not waiting on a FIFO planted there.
 */
const NOT_THROUGH = (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Opens `file` as itself, never through a symbolic link at its last name. POSIX refuses with
 * `O_NOFOLLOW` (ELOOP). Windows has no such flag: there the name is read with `lstat` first (a link
 * or junction is refused with the same ELOOP), and the file opened must be the one `lstat` saw
 * (same volume and file index), so that a link swapped in between is refused too.
 */
export async function openNoFollow(
  file: string,
  flags: number,
  mode?: number,
  platform: NodeJS.Platform = process.platform,
): Promise<FileHandle> {
  if (platform !== 'win32') return open(file, flags | NOT_THROUGH, mode);
  const before = await lstat(file).catch((error: NodeJS.ErrnoException) => {
    // A file to be created has nothing to compare with.
    if (error.code === 'ENOENT' && (flags & constants.O_CREAT) !== 0) return undefined;
    throw error;
  });
  if (before?.isSymbolicLink()) throw throughLink(file);
  const handle = await open(file, flags, mode);
  if (before) {
    const after = await handle.stat();
    if (after.ino !== before.ino || after.dev !== before.dev) {
      await handle.close();
      throw throughLink(file);
    }
  }
  return handle;
}

function throughLink(file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ELOOP: ${file} is a symbolic link`), { code: 'ELOOP', path: file });
}
