import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pidExists } from '../process/processIdentity';
import { engineDir, type Repository } from './repository';
import { removeRetrying } from '../util/paths';

/**
 * Temporary files of the engine (indexes, entries being deleted) live in one folder of the git
 * directory, named `<kind>.<pid>.<n>`: unique per process, so that two processes (or a crashed
 * one) never share a temporary index or its `.lock`, and a process that died leaves files that
 * the next sweep recognises as its own.
 */
export function scratchDir(repo: Pick<Repository, 'commonDir'>): string {
  return engineDir(repo, 'tmp');
}

let counter = 0;

/** A new, unused path in the scratch folder (the folder exists). */
export async function scratchPath(repo: Pick<Repository, 'commonDir'>, kind: string): Promise<string> {
  const dir = scratchDir(repo);
  await mkdir(dir, { recursive: true });
  return path.join(dir, `${kind}.${process.pid}.${++counter}`);
}

const NAMED = /\.(\d+)\.\d+(?:\.lock)?$/;

/** Deletes what dead processes left in the scratch folder (a kill -9 mid-capture, say). */
export async function sweepScratch(repo: Pick<Repository, 'commonDir'>): Promise<void> {
  const dir = scratchDir(repo);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(NAMED.exec(name)?.[1] ?? NaN);
    // Files of other shapes (an older version's) are left alone; live processes' files too.
    if (!Number.isInteger(pid) || pid === process.pid || pidExists(pid)) continue;
    await removeRetrying(path.join(dir, name), { recursive: true, force: true });
  }
}
