import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { now, round } from './util';

let probeCounter = 0;

/**
 * How fast the disk creates files right now: 1,000 empty files in a new folder (kept, so that the
 * probe deletes nothing), µs per file. Checkouts are file creations; on a journal-less ext4 this
 * figure climbs after mass deletions (inode allocation skips recently deleted inodes), which is
 * what makes worktree figures of one bench run differ from the next.
 */
export function fsProbe(root: string, files = 1000): number {
  const dir = path.join(root, `fs-probe-${++probeCounter}`);
  mkdirSync(dir, { recursive: true });
  const start = now();
  for (let i = 0; i < files; i++) closeSync(openSync(path.join(dir, `f${i}`), 'w'));
  return round(((now() - start) * 1000) / files, 1);
}
