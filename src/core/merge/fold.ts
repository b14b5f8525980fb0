import { fixedIdentityEnv } from '../git/identity';
import { editTree, readBlobs, treeEntries, writeBlob, type TreeEdit, type TreeEntry } from '../git/objects';
import type { Repository } from '../git/repository';
import type { Conflict } from '../state/events';
import type { MergePolicyName } from '../workflow/schema';
import { mergeTree, type MergeTreeConflict } from './mergeTree';
import { applyPolicy } from './applyPolicy';

/** A step result to fold in. */
export interface FoldItem {
  readonly step: string;
  /** The step result commit. */
  readonly commit: string;
  /** The commit the step started from (its parent), and that commit's tree: the merge base. */
  readonly parent: string;
  readonly parentTree: string;
  /** Paths the step changed against its parent. */
  readonly changed: readonly string[];
}

/** A path where a `first` or `last` policy picked one step's version; recorded in the report. */
export interface FoldDecision {
  readonly path: string;
  readonly policy: 'first' | 'last';
  readonly steps: readonly [string, string];
  readonly kept: string;
}

export interface FoldResult {
  readonly tree: string;
  readonly conflicts: readonly Conflict[];
  readonly decisions: readonly FoldDecision[];
  /** The tree after each item: that of the fold of the first i + 1 items alone (see findCulprits). */
  readonly prefixes: readonly string[];
}

export interface FoldOptions {
  readonly policyFor: (path: string) => MergePolicyName;
  /** Where temporary index files go (inside the git directory). */
  readonly scratchDir: string;
  /** The date of the fold's intermediate commits. */
  readonly time: number;
}

/**
 * Folds step results over a base, one by one in the given order (workflow-definition order), with
 * git's 3-way merge on objects and the merge policy of each path. Each step is merged against its
 * own parent as the merge base, so a dependent step's inherited changes are not counted twice.
 * A conflicted path keeps the version of the earlier step. Deterministic: the same items give the
 * same tree, conflicts and decisions, whatever order the steps finished in.
 */
export async function foldResults(
  repo: Repository,
  base: { commit: string; tree: string },
  items: readonly FoldItem[],
  options: FoldOptions,
): Promise<FoldResult> {
  const { git } = repo;
  const env = fixedIdentityEnv(options.time);
  let tree = base.tree;
  let head = base.commit;
  let headParent = base.commit;
  const touchedBy = new Map<string, string>();
  const conflicts: Conflict[] = [];
  const decisions: FoldDecision[] = [];
  const prefixes: string[] = [];

  for (const item of items) {
    if (item.changed.length === 0) {
      prefixes.push(tree);
      continue;
    }
    // The merge base of `head` and the step must be the step's own parent: give `head` that parent.
    if (headParent !== item.parent) {
      head = await git.line(['commit-tree', tree, '-p', item.parent, '-m', 'Tapps Flow fold'], { env });
      headParent = item.parent;
    }
    const merged = await mergeTree(git, head, item.commit);
    const candidates = new Set<string>(merged.conflicts.keys());
    for (const p of item.changed) if (touchedBy.has(p)) candidates.add(p);
    const edits = new Map<string, TreeEdit>();
    const policyPaths: string[] = [];
    const renames: Array<{ readonly paths: readonly string[]; readonly steps: [string, string] }> = [];
    for (const path of [...candidates].sort()) {
      const policy = options.policyFor(path);
      const pair: [string, string] = [touchedBy.get(path) ?? item.step, item.step];
      const conflict = merged.conflicts.get(path);
      if (policy === 'text') {
        if (!conflict) continue;
        const renamed = renameGroupOf(path, merged.conflicts, options.policyFor);
        if (renamed.length > 1) {
          // Reported once for the whole group, below; its paths keep the fold's versions.
          if (renamed[0] === path)
            renames.push({
              paths: renamed,
              steps: [renamed.map((p) => touchedBy.get(p)).find((s) => s !== undefined) ?? item.step, item.step],
            });
          continue;
        }
        conflicts.push(textConflict(path, pair, conflict));
        const ours = conflict.stages[2];
        edits.set(path, ours ? { mode: ours.mode, oid: ours.oid } : null);
      } else {
        policyPaths.push(path);
      }
    }
    for (const group of renames) {
      // Git records its content merge of the renamed file under both new names, so the stages do
      // not hold the steps' own versions: those come from the trees.
      const [baseEntries, oursEntries, theirsEntries] = await Promise.all(
        [item.parentTree, tree, item.commit].map((t) => treeEntries(git, t, group.paths)),
      );
      conflicts.push(renameConflict(group.paths, group.steps, baseEntries, oursEntries, theirsEntries));
      for (const p of group.paths) edits.set(p, toEdit(oursEntries.get(p)));
    }
    if (policyPaths.length > 0) {
      const [baseEntries, oursEntries, theirsEntries] = await Promise.all([
        treeEntries(git, item.parentTree, policyPaths),
        treeEntries(git, tree, policyPaths),
        treeEntries(git, item.commit, policyPaths),
      ]);
      const needed = [baseEntries, oursEntries, theirsEntries].flatMap((m) => [...m.values()].map((e) => e.oid));
      const blobs = await readBlobs(git, needed);
      for (const path of policyPaths) {
        const sides = { base: baseEntries.get(path), ours: oursEntries.get(path), theirs: theirsEntries.get(path) };
        if (sides.ours?.oid === sides.theirs?.oid) continue;
        const outcome = applyPolicy(options.policyFor(path), path, sides, blobs, [touchedBy.get(path) ?? item.step, item.step]);
        if (outcome.conflicts) conflicts.push(...outcome.conflicts);
        if (outcome.decision) decisions.push(outcome.decision);
        edits.set(
          path,
          outcome.content === undefined
            ? toEdit(outcome.keep)
            : { mode: sides.ours?.mode ?? sides.theirs?.mode ?? '100644', oid: await writeBlob(git, outcome.content) },
        );
      }
    }
    tree = await editTree(git, merged.tree, edits, options.scratchDir);
    head = await git.line(['commit-tree', tree, '-p', item.parent, '-m', 'Tapps Flow fold'], { env });
    headParent = item.parent;
    for (const p of item.changed) touchedBy.set(p, item.step);
    prefixes.push(tree);
  }
  return { tree, conflicts: sortConflicts(conflicts), decisions, prefixes };
}

function toEdit(entry: TreeEntry | undefined): TreeEdit {
  return entry ? { mode: entry.mode, oid: entry.oid } : null;
}

/** Conflicts sorted by path, then steps: the report's stable order. */
export function sortConflicts(conflicts: readonly Conflict[]): Conflict[] {
  const key = (c: Conflict) => `${c.path}\0${c.steps[0]}\0${c.steps[1]}\0${c.location ?? ''}`;
  return [...conflicts].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * The conflicted text-policy paths of the rename conflict that `path` belongs to: the original
 * path (the one with a base version) first, then the others by path; `[path]` when it is in none.
 */
function renameGroupOf(path: string, all: ReadonlyMap<string, MergeTreeConflict>, policyFor: (path: string) => MergePolicyName): string[] {
  const members = (all.get(path)?.renameGroup ?? []).filter((p) => all.has(p) && policyFor(p) === 'text');
  if (members.length <= 1) return [path];
  const original = (p: string) => (all.get(p)!.stages[1] !== undefined ? 0 : 1);
  return members.sort((a, b) => original(a) - original(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** One rename conflict at the original path, with each side's version wherever that side put it. */
function renameConflict(
  paths: readonly string[],
  steps: [string, string],
  base: Map<string, TreeEntry>,
  ours: Map<string, TreeEntry>,
  theirs: Map<string, TreeEntry>,
): Conflict {
  const find = (entries: Map<string, TreeEntry>) => paths.find((p) => entries.has(p));
  const [oursPath, theirsPath, basePath] = [find(ours), find(theirs), find(base)];
  const where = (p: string | undefined, step: string) => (p === undefined ? `${step} deleted it` : `${step} has it as ${p}`);
  return {
    path: basePath ?? paths[0],
    kind: 'rename',
    steps,
    policy: 'text',
    base: basePath === undefined ? null : base.get(basePath)!.oid,
    ours: oursPath === undefined ? null : ours.get(oursPath)!.oid,
    theirs: theirsPath === undefined ? null : theirs.get(theirsPath)!.oid,
    detail: `the steps renamed or moved this file in ways that clash: ${where(oursPath, steps[0])}, ${where(theirsPath, steps[1])}`,
  };
}

function textConflict(path: string, steps: [string, string], c: MergeTreeConflict): Conflict {
  const has = (s: 1 | 2 | 3) => c.stages[s] !== undefined;
  const kind: Conflict['kind'] = c.types.some((t) => t.includes('binary'))
    ? 'binary'
    : c.types.some((t) => t.includes('rename'))
      ? 'rename'
      : has(1) && has(2) && has(3)
        ? 'content'
        : !has(1) && has(2) && has(3)
          ? 'add/add'
          : has(1)
            ? 'modify/delete'
            : 'content';
  const detail = {
    content: 'both steps changed the same lines',
    'add/add': 'both steps added this file with different contents',
    'modify/delete': 'one step deleted this file and the other changed it',
    rename: 'the steps renamed or moved this file in ways that clash',
    binary: 'both steps changed this binary file',
  }[kind];
  return {
    path,
    kind,
    steps,
    policy: 'text',
    base: c.stages[1]?.oid ?? null,
    ours: c.stages[2]?.oid ?? null,
    theirs: c.stages[3]?.oid ?? null,
    detail,
  };
}
