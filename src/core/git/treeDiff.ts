import type { Git } from './git';

/** One path that a tree diff adds, changes or turns into another type, with the modes on both sides. */
export interface RawChange {
  readonly path: string;
  /** `000000` where the path is new. */
  readonly oldMode: string;
  readonly newMode: string;
  readonly newOid: string;
}

export const SYMLINK_MODE = '120000';
export const EXECUTABLE_MODE = '100755';
export const GITLINK_MODE = '160000';

/**
 * The paths that `to` adds, modifies or changes the type of against `from`, with their modes
 * (deletions are left out: nothing is written for them). No rename detection: a moved link is a
 * new link where it landed.
 */
export async function addedOrChanged(git: Git, from: string, to: string): Promise<RawChange[]> {
  if (from === to) return [];
  return parseRawDiff(await git.run(['diff-tree', '-r', '-z', '--no-renames', '--raw', '--diff-filter=AMT', from, to]));
}

/** Parses `diff-tree -r -z --raw` output: `:<old mode> <new mode> <old id> <new id> <status>\0<path>\0`, repeated. */
export function parseRawDiff(out: string): RawChange[] {
  const fields = out.split('\0');
  const changes: RawChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [oldMode, newMode, , newOid] = fields[i].replace(/^:/, '').split(' ');
    if (newOid === undefined) continue;
    changes.push({ path: fields[i + 1], oldMode, newMode, newOid });
  }
  return changes;
}
