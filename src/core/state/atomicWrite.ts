import { open } from 'node:fs/promises';
import { removeRetrying, renameRetrying } from '../util/paths';

let counter = 0;

/**
 * Writes a file so that a reader sees the old content or the new, never a mix: temp file, flush,
 * rename. `durable: false` skips the flush, for files whose loss in a power cut is harmless (a
 * lock's owner record).
 */
export async function writeFileAtomic(file: string, content: string, options: { readonly durable?: boolean } = {}): Promise<void> {
  const tmp = `${file}.${process.pid}.${++counter}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(content, 'utf8');
    if (options.durable !== false) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // On Windows a reader of `file` (an editor, an antivirus) can hold it open for a moment.
    await renameRetrying(tmp, file);
  } catch (error) {
    await removeRetrying(tmp, { force: true });
    throw error;
  }
}
