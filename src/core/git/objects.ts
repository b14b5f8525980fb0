import { lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Git } from './git';
import { removeRetrying } from '../util/paths';

export const EMPTY_BLOB_MODE = '100644';

/** One entry of a tree listing. */
export interface TreeEntry {
  readonly mode: string;
  readonly oid: string;
}

/** The blob entries of `paths` in a tree (absent paths are left out). */
export async function treeEntries(git: Git, tree: string, paths: readonly string[]): Promise<Map<string, TreeEntry>> {
  const entries = new Map<string, TreeEntry>();
  if (paths.length === 0) return entries;
  const wanted = new Set(paths);
  const sorted = [...wanted].sort();
  let out = '';
  // ls-tree takes literal paths; chunks keep the command line short.
  for (let i = 0; i < sorted.length; i += 500)
    out += await git.run(['ls-tree', '-r', '-z', '--full-tree', tree, '--', ...sorted.slice(i, i + 500)]);
  for (const record of out.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const file = record.slice(tab + 1);
    if (!wanted.has(file)) continue;
    const [mode, , oid] = record.slice(0, tab).split(' ');
    entries.set(file, { mode: mode, oid: oid });
  }
  return entries;
}

/** Reads blobs by id, in one `cat-file --batch`. */
export async function readBlobs(git: Git, oids: readonly string[]): Promise<Map<string, Buffer>> {
  const unique = [...new Set(oids)];
  const blobs = new Map<string, Buffer>();
  if (unique.length === 0) return blobs;
  const raw = await git.runBuffer(['cat-file', '--batch'], { input: `${unique.join('\n')}\n` });
  let at = 0;
  for (const oid of unique) {
    const eol = raw.indexOf(10, at);
    const header = raw.subarray(at, eol).toString('utf8').split(' ');
    const size = Number(header[2]);
    blobs.set(oid, raw.subarray(eol + 1, eol + 1 + size));
    at = eol + 1 + size + 1;
  }
  return blobs;
}

/** Writes a blob and returns its id. */
export async function writeBlob(git: Git, content: string): Promise<string> {
  return git.line(['hash-object', '-w', '--stdin'], { input: content });
}

let scratchCounter = 0;

/** A change to one path of a tree: a new blob, or `null` to delete it. */
export type TreeEdit = { readonly mode: string; readonly oid: string } | null;

/** A tree like `tree` with `edits` applied, built in a temporary index (no working tree involved). */
export async function editTree(git: Git, tree: string, edits: ReadonlyMap<string, TreeEdit>, scratchDir: string): Promise<string> {
  if (edits.size === 0) return tree;
  await mkdir(scratchDir, { recursive: true });
  const index = path.join(scratchDir, `index-edit-${process.pid}-${++scratchCounter}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await git.run(['read-tree', tree], { env });
    const lines = [...edits.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([file, edit]) => (edit ? `${edit.mode} ${edit.oid}\t${file}` : `0 ${'0'.repeat(40)}\t${file}`));
    await git.run(['update-index', '-z', '--index-info'], { env, input: lines.map((l) => `${l}\0`).join('') });
    return await git.line(['write-tree'], { env });
  } finally {
    await removeRetrying(index, { force: true });
  }
}

/** A step's own object store larger than this is not imported: its capture hashes the worktree's files instead. */
const MAX_IMPORTED_BYTES = 512 * 1024 * 1024;

/**
 * Brings the objects a sandboxed step's git wrote into its own store (`store`, see the sandbox's
 * `privateObjectStore`) into the repository's, so that the step's index (the capture's seed) and
 * its commits name objects the repository has. Nothing of the store is trusted: its objects are
 * packed and handed to `git index-pack`, which computes every object's id from its content and
 * refuses one that collides with an object of the repository; an object stored under another
 * object's name is imported under its own, or not at all. Returns false (nothing imported) for a
 * store that is missing, not a plain folder, or too large.
 */
export async function importObjects(git: Git, store: string): Promise<boolean> {
  const info = await lstat(store).catch(() => undefined);
  if (!info?.isDirectory()) return false;
  if ((await folderBytes(store, MAX_IMPORTED_BYTES)) > MAX_IMPORTED_BYTES) return false;
  // Only the store's own objects: alternates the step named would bring in whatever it can read.
  for (const file of ['alternates', 'http-alternates']) await removeRetrying(path.join(store, 'info', file), { force: true });
  const own = { GIT_OBJECT_DIRECTORY: store, GIT_ALTERNATE_OBJECT_DIRECTORIES: '' };
  const ids = await git.run(['cat-file', '--batch-all-objects', '--batch-check=%(objectname)'], { env: own });
  if (ids.trim() === '') return true;
  const pack = await git.runBuffer(['pack-objects', '--stdout', '--quiet'], { env: own, input: ids });
  await git.run(['index-pack', '--stdin', '--fix-thin'], { input: pack });
  return true;
}

/** The bytes of the files under `dir` (links not followed), counting stops past `limit`. */
async function folderBytes(dir: string, limit: number): Promise<number> {
  let total = 0;
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true }).catch(() => [])) {
      if (total > limit) return;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) total += (await lstat(full).catch(() => undefined))?.size ?? 0;
    }
  };
  await walk(dir);
  return total;
}
