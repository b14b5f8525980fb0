import type { Git } from '../git/git';

/** One conflicted path as `git merge-tree --write-tree` reports it. */
export interface MergeTreeConflict {
  /** Blob ids by stage: 1 base, 2 ours, 3 theirs; absent where that side has no such file. */
  readonly stages: Partial<Record<1 | 2 | 3, { mode: string; oid: string }>>;
  /** Conflict types git gave for the path, e.g. `CONFLICT (binary)`, `CONFLICT (rename/delete)`. */
  readonly types: string[];
  /**
   * Every path git named in a rename message about this path, itself included, sorted; empty
   * when none. A rename/rename conflict spreads its three versions over three paths (the
   * original at stage 1, each side's new name at stage 2 or 3): this ties them back together.
   */
  readonly renameGroup: string[];
}

export interface MergeTreeResult {
  readonly tree: string;
  readonly conflicts: ReadonlyMap<string, MergeTreeConflict>;
}

/**
 * Git's own 3-way merge on objects (no working tree): the merge of `ours` and `theirs` over their
 * merge base. Exit code 1 means "merged with conflicts", which is an answer, not a failure.
 */
export async function mergeTree(git: Git, ours: string, theirs: string): Promise<MergeTreeResult> {
  const { stdout } = await git.exec(['merge-tree', '--write-tree', '-z', ours, theirs], { okExitCodes: [1] });
  return parseMergeTree(stdout);
}

/** Parses `merge-tree --write-tree -z` output: tree id, conflicted stages, then messages. */
export function parseMergeTree(out: string): MergeTreeResult {
  const fields = out.split('\0');
  const tree = fields[0];
  const conflicts = new Map<string, MergeTreeConflict>();
  let i = 1;
  for (; i < fields.length && fields[i] !== ''; i++) {
    const record = fields[i];
    const tab = record.indexOf('\t');
    const [mode, oid, stage] = record.slice(0, tab).split(' ');
    const file = record.slice(tab + 1);
    const entry = conflicts.get(file) ?? { stages: {}, types: [], renameGroup: [] };
    entry.stages[Number(stage) as 1 | 2 | 3] = { mode: mode, oid: oid };
    conflicts.set(file, entry);
  }
  // Messages: <count>\0<path>…\0<type>\0<text>\0, repeated.
  for (i += 1; i < fields.length;) {
    const count = Number(fields[i]);
    if (!Number.isInteger(count) || count <= 0) break;
    const paths = fields.slice(i + 1, i + 1 + count);
    const type = fields[i + 1 + count] ?? '';
    i += count + 3;
    for (const p of paths) {
      const entry = conflicts.get(p);
      if (!entry) continue;
      entry.types.push(type);
      if (!type.includes('rename') || paths.length < 2) continue;
      for (const q of paths) if (!entry.renameGroup.includes(q)) entry.renameGroup.push(q);
      entry.renameGroup.sort();
    }
  }
  return { tree, conflicts };
}
