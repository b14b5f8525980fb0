import type { PolicyMergeResult, ThreeWayInput } from './types';

/** The detail of the whole-file modify/delete conflict, shared by every policy. */
export const MODIFY_DELETE_DETAIL = 'deleted by one side, modified by the other';

/**
 * Settles the cases every policy treats alike, before any parsing into sections, keys or lines:
 * a side absent, both sides equal, or one side unchanged from base. The side taken is returned
 * verbatim, so a file that only one step touched keeps its exact bytes.
 *
 * @param same decides whether two versions count as equal; policies with a structure (JSON)
 *   pass a structural comparison so that a reformat alone is not a change.
 * @returns the result, or `undefined` when both sides changed the file and a real merge is due
 *   (including the add/add case, where base is absent and both sides are present).
 */
export function resolveWholeFile(
  input: ThreeWayInput,
  same: (a: string, b: string) => boolean = (a, b) => a === b,
): PolicyMergeResult | undefined {
  const { base, ours, theirs } = input;
  if (ours !== undefined && theirs !== undefined) {
    if (same(ours, theirs)) return merged(ours);
    if (base === undefined) return undefined;
    if (same(base, ours)) return merged(theirs);
    if (same(base, theirs)) return merged(ours);
    return undefined;
  }
  const present = ours ?? theirs;
  if (present === undefined || base === undefined) return merged(present);
  if (same(base, present)) return merged(undefined);
  return { status: 'conflict', conflicts: [{ kind: 'content', detail: MODIFY_DELETE_DETAIL }] };
}

/** A successful result; `undefined` content deletes the file. */
export function merged(content: string | undefined): PolicyMergeResult {
  return { status: 'merged', content };
}
