import { constants } from 'node:fs';
import { lstat, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openRepository } from '../core/git/repository';
import { mergeFileText, withBaseInConflicts, type MergedText } from '../core/merge/mergeFile';
import type { Conflict } from '../core/state/events';
import { relativeInside, removeRetrying, renameRetrying } from '../core/util/paths';
import type { RunEntry } from './runsModel';
import { openNoFollow } from '../core/util/openNoFollow';

type Run = Pick<RunEntry, 'dir' | 'repoRoot'>;

/**
 * Where a conflict's merged file is edited (by hand, or as the merge editor's result) before it
 * resolves the conflict: `merge/<path>` in the run's state folder, one per conflicted path.
 */
export function mergeFilePath(entry: Pick<RunEntry, 'dir'>, c: Pick<Conflict, 'path'>): string {
  return path.join(entry.dir, 'merge', c.path);
}

/**
 * The merged file of a conflict, written when it does not exist yet with `git merge-file`'s text
 * (only the conflicting hunks marked, labelled with the steps' names). One that exists is kept:
 * it holds the user's work. Returns its path.
 */
export async function prepareMergeFile(entry: Run, c: Conflict): Promise<string> {
  const file = mergeFilePath(entry, c);
  await mkdirInside(entry.dir, file);
  const stat = await lstat(file).catch(() => undefined);
  if (stat && !stat.isFile())
    throw new Error(`${file} is not a regular file (a link or a folder); remove it and try again. Nothing was written.`);
  // `wx`: never through a file (or a link) that appeared meanwhile.
  if (!stat) await writeFile(file, (await mergedText(entry, c)).text, { flag: 'wx' });
  return file;
}

/**
 * Writes the merged file of a conflict again as `prepareMergeFile` first wrote it, conflict markers
 * and all: beside it, then renamed over it (an editor showing it sees one change, never no file).
 */
export async function rewriteMergeFile(entry: Run, c: Conflict): Promise<void> {
  const file = mergeFilePath(entry, c);
  await mkdirInside(entry.dir, file);
  const written = `${file}.${process.pid}.new`;
  await removeRetrying(written, { force: true });
  await writeFile(written, (await mergedText(entry, c)).text, { flag: 'wx' });
  // The editor showing the file may hold it open for a moment on Windows.
  await renameRetrying(written, file);
}

/**
 * Whether a merged text has the base's lines in every conflicting hunk and the combined changes
 * elsewhere: what VS Code's merge editor saves when it is completed, or closed with Save, while
 * its conflicts are unhandled ("with conflicts"). Compared with line endings and final newlines
 * set aside; false when the versions merge without conflict.
 */
export async function keepsNeitherStep(entry: Run, c: Conflict, content: string): Promise<boolean> {
  const diff3 = await mergedText(entry, c, true).catch(() => undefined);
  if (!diff3 || diff3.conflicts === 0) return false;
  const neither = withBaseInConflicts(diff3.text);
  const normal = (t: string) => t.replace(/\r\n/g, '\n').replace(/\n+$/, '');
  return neither !== undefined && normal(neither) === normal(content);
}

async function mergedText(entry: Run, c: Conflict, diff3 = false): Promise<MergedText> {
  const repo = await openRepository(entry.repoRoot);
  return mergeFileText(repo, { base: c.base, ours: c.ours, theirs: c.theirs }, { labels: c.steps, diff3 });
}

/** A file's text, read only if it is a regular file (never through a link); `undefined` otherwise. */
export async function readRegularFile(file: string): Promise<string | undefined> {
  const handle = await openNoFollow(file, constants.O_RDONLY).catch(() => undefined);
  if (!handle) return undefined;
  try {
    return (await handle.stat()).isFile() ? await handle.readFile('utf8') : undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Creates the folders of `file` below `base`, refusing a symlink on the way: the merged file is
 * written inside the run's state folder and nowhere else.
 */
async function mkdirInside(base: string, file: string): Promise<void> {
  const rel = relativeInside(base, path.dirname(file));
  if (rel === undefined) throw new Error(`${file} is not in the run's state folder ${base}; the merged file was not written.`);
  let current = base;
  for (const part of rel.split('/').filter(Boolean)) {
    current = path.join(current, part);
    const stat = await lstat(current).catch(() => undefined);
    if (stat?.isSymbolicLink() || (stat && !stat.isDirectory()))
      throw new Error(`${current} is not a folder of the run's state; the merged file was not written.`);
    if (!stat) await mkdir(current);
  }
}
