import type { TreeEntry } from '../git/objects';
import type { Conflict } from '../state/events';
import type { MergePolicyName } from '../workflow/schema';
import type { FoldDecision } from './fold';
import { mergeJson } from './policies/jsonMerge';
import { mergeMarkdown } from './policies/markdownMerge';
import type { PolicyMergeResult, ThreeWayInput } from './policies/types';
import { mergeUnion } from './policies/unionMerge';

export interface Sides {
  readonly base: TreeEntry | undefined;
  readonly ours: TreeEntry | undefined;
  readonly theirs: TreeEntry | undefined;
}

/** What to put at a path: new content, or an existing side's entry (`keep`, undefined = delete). */
export interface PolicyOutcome {
  readonly content?: string;
  readonly keep?: TreeEntry;
  readonly conflicts?: Conflict[];
  readonly decision?: FoldDecision;
}

const STRUCTURAL: Partial<Record<MergePolicyName, (input: ThreeWayInput) => PolicyMergeResult>> = {
  json: mergeJson,
  markdown: mergeMarkdown,
  union: mergeUnion,
};

function isBinary(content: Buffer | undefined): boolean {
  return content !== undefined && content.subarray(0, 8000).includes(0);
}

/**
 * Applies a path's merge policy to a path both sides changed. Conflicts keep the earlier step's
 * version (`ours`).
 */
export function applyPolicy(
  policy: MergePolicyName,
  path: string,
  sides: Sides,
  blobs: ReadonlyMap<string, Buffer>,
  steps: [string, string],
): PolicyOutcome {
  const ids = { base: sides.base?.oid ?? null, ours: sides.ours?.oid ?? null, theirs: sides.theirs?.oid ?? null };
  const conflict = (kind: Conflict['kind'], detail: string, location?: string): Conflict => ({
    path,
    kind,
    steps,
    policy,
    ...ids,
    ...(location === undefined ? {} : { location }),
    detail,
  });
  if (policy === 'first') return { keep: sides.ours, decision: { path, policy, steps, kept: steps[0] } };
  if (policy === 'last') return { keep: sides.theirs, decision: { path, policy, steps, kept: steps[1] } };
  if (policy === 'fail')
    return {
      keep: sides.ours,
      conflicts: [
        conflict(
          'policy-fail',
          `the merge policy "fail" allows only one step to change this file; steps ${steps[0]} and ${steps[1]} both did`,
        ),
      ],
    };

  const read = (e: TreeEntry | undefined) => (e ? blobs.get(e.oid) : undefined);
  const [base, ours, theirs] = [read(sides.base), read(sides.ours), read(sides.theirs)];
  if ([base, ours, theirs].some(isBinary))
    return { keep: sides.ours, conflicts: [conflict('binary', `the "${policy}" policy merges text; this file is binary`)] };
  const merge = STRUCTURAL[policy];
  if (!merge) throw new Error(`no merge function for policy "${policy}"`);
  const result = merge({ base: base?.toString('utf8'), ours: ours?.toString('utf8'), theirs: theirs?.toString('utf8') });
  if (result.status === 'merged') return result.content === undefined ? { keep: undefined } : { content: result.content };
  const modifyDelete = sides.base !== undefined && (sides.ours === undefined || sides.theirs === undefined);
  return {
    keep: sides.ours,
    conflicts: result.conflicts.map((c) => conflict(modifyDelete ? 'modify/delete' : c.kind, c.detail, c.location)),
  };
}
