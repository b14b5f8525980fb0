import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Git } from '../git/git';

/** One path that differs between the user's files now and the tree apply writes. */
export interface TreeChange {
  readonly path: string;
  /** `A` added, `D` deleted, `M` modified, `T` type changed (file ↔ symbolic link ↔ submodule). */
  readonly status: string;
}

/**
 * The paths that differ between two trees, sorted; a rename is a delete and an add. `filter`
 * keeps only some statuses (`--diff-filter`, e.g. `AD`). Names and statuses only: for 50,000
 * paths, the modes and object ids would quadruple what git prints and this parses.
 */
export async function treeChanges(git: Git, from: string, to: string, filter?: string): Promise<TreeChange[]> {
  if (from === to) return [];
  const only = filter === undefined ? [] : [`--diff-filter=${filter}`];
  return parseNameStatus(await git.run(['diff-tree', '-r', '-z', '--no-renames', '--name-status', ...only, from, to]));
}

/** Parses `diff-tree -r -z --name-status` output: `<status>\0<path>\0`, repeated. */
export function parseNameStatus(out: string): TreeChange[] {
  const fields = out.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) changes.push({ status: fields[i], path: fields[i + 1] });
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Why a path on disk stops apply. */
export type ObstacleReason = 'link-in-path' | 'file-for-folder' | 'folder-for-file' | 'file-overwritten' | 'link-overwritten';

/** A file, folder or symbolic link on disk that the result cannot be written over without losing it. */
export interface Obstacle {
  readonly path: string;
  readonly reason: ObstacleReason;
}

type Kind = 'file' | 'folder' | 'link' | 'missing';

/**
 * Finds what is in the way of the paths the result adds, on disk, before anything is written
 * (`changes` needs the additions and deletions; the others are not looked at). Everything the
 * user has that git does not ignore is in their current tree, so whatever stands where the result
 * adds a path is ignored (or otherwise invisible to git), and git's checkout would delete it
 * without a word (`read-tree -m -u` treats ignored files as expendable). A symbolic link among
 * the leading folders of a path is refused too: the file would land wherever it points, possibly
 * outside the repository. What git replaces without loss is not an obstacle: a tracked file or
 * link the result turns into a folder, and an empty folder.
 *
 * Each folder is listed once (its entries' kinds come with the listing, links not followed), so
 * the cost grows with the folders the added paths live in, not with the number of paths.
 */
export async function findObstacles(root: string, changes: readonly TreeChange[]): Promise<Obstacle[]> {
  const removed = new Set(changes.filter((c) => c.status === 'D').map((c) => c.path));
  const listings = new Map<string, Promise<Map<string, Kind>>>();
  const list = (dir: string) => {
    let listing = listings.get(dir);
    if (!listing) {
      listing = readdir(path.join(root, dir), { withFileTypes: true }).then(
        (entries) => new Map(entries.map((e) => [e.name, kindOf(e)])),
        () => new Map<string, Kind>(),
      );
      listings.set(dir, listing);
    }
    return listing;
  };
  /** Leading folders of added paths, as found on disk. */
  const folderKinds = new Map<string, Kind>([['', 'folder']]);
  /** The kind of a path on disk, through its parent folder's listing; `missing` below anything that is not a folder. */
  const kindAt = async (file: string): Promise<Kind> => {
    const parent = path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file);
    if ((folderKinds.get(parent) ?? 'missing') !== 'folder') return 'missing';
    return (await list(parent)).get(path.posix.basename(file)) ?? 'missing';
  };

  const obstacles = new Map<string, ObstacleReason>();
  for (const change of changes) {
    if (change.status !== 'A') continue;
    const parts = change.path.split('/');
    let blocked = false;
    for (let i = 1; i < parts.length && !blocked; i++) {
      const folder = parts.slice(0, i).join('/');
      let kind = folderKinds.get(folder);
      if (kind === undefined) {
        kind = await kindAt(folder);
        // A tracked file or link where the result needs a folder is replaced by git: nothing there is lost.
        if (kind !== 'folder' && kind !== 'missing' && !removed.has(folder))
          obstacles.set(folder, kind === 'link' ? 'link-in-path' : 'file-for-folder');
        folderKinds.set(folder, kind);
      }
      blocked = kind !== 'folder';
    }
    if (blocked) continue;
    const kind = await kindAt(change.path);
    if (kind === 'file') obstacles.set(change.path, 'file-overwritten');
    else if (kind === 'link') obstacles.set(change.path, 'link-overwritten');
    else if (kind === 'folder' && (await holdsFiles(root, change.path, removed))) obstacles.set(change.path, 'folder-for-file');
  }
  return [...obstacles.entries()].map(([p, reason]) => ({ path: p, reason })).sort((a, b) => (a.path < b.path ? -1 : 1));
}

function kindOf(entry: Dirent): Kind {
  return entry.isSymbolicLink() ? 'link' : entry.isDirectory() ? 'folder' : 'file';
}

/** Whether a folder holds anything git would delete that it does not track (links are not followed). */
async function holdsFiles(root: string, folder: string, removed: ReadonlySet<string>): Promise<boolean> {
  const entries = await readdir(path.join(root, folder), { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const rel = `${folder}/${entry.name}`;
    if (kindOf(entry) === 'folder' ? await holdsFiles(root, rel, removed) : !removed.has(rel)) return true;
  }
  return false;
}

const REASONS: Record<ObstacleReason, string> = {
  'link-in-path': 'a symbolic link: the result would be written through it, wherever it points',
  'file-for-folder': 'an ignored file where the result needs a folder',
  'folder-for-file': 'an ignored folder where the result needs a file',
  'file-overwritten': 'an ignored file the result would overwrite',
  'link-overwritten': 'an ignored symbolic link the result would overwrite',
};

/** `path (why)` for each obstacle, at most `limit` of them, then how many more. */
export function describeObstacles(obstacles: readonly Obstacle[], limit = 20): string {
  const shown = obstacles.slice(0, limit).map((o) => `${o.path} (${REASONS[o.reason]})`);
  const more = obstacles.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}`;
}
