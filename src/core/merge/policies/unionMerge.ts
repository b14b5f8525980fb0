import { diffLines } from './lineDiff';
import { detectEol, joinLines, splitLines } from './lines';
import type { PolicyMergeResult, ThreeWayInput } from './types';
import { merged, resolveWholeFile } from './wholeFile';

/**
 * Line-based 3-way union merge, for append-only logs and lists: it never reports a conflict
 * except a file deleted on one side and modified on the other (`content`).
 *
 * Each side is diffed against base ({@link diffLines}). A base line is kept unless a side deleted
 * it. Lines a side inserted are placed at the gap after the last base line that side kept before
 * them. Where both sides inserted at the same gap, ours' lines come first, then theirs' (step
 * order); a non-blank line of theirs that ours also inserted there is kept once, and so is a
 * blank line that directly follows such a dropped line, so that entries separated by blank lines
 * stay separated by one. When base is absent and both sides added the file, the same rule runs
 * against an empty base: ours' lines, then theirs' lines not already in ours.
 *
 * The result ends with a newline if ours does (if ours is empty: theirs, then base); lines end
 * with ours' terminator (`\n` or `\r\n`, else theirs', else base's). Pure and deterministic.
 */
export function mergeUnion(input: ThreeWayInput): PolicyMergeResult {
  const settled = resolveWholeFile(input);
  if (settled !== undefined) return settled;
  const base = splitLines(input.base ?? '');
  const ours = splitLines(input.ours ?? '');
  const theirs = splitLines(input.theirs ?? '');
  const oursEdit = editAgainstBase(base.lines, ours.lines);
  const theirsEdit = editAgainstBase(base.lines, theirs.lines);

  const out: string[] = [];
  for (let gap = 0; gap <= base.lines.length; gap++) {
    out.push(...unionAtGap(oursEdit.inserted[gap] ?? [], theirsEdit.inserted[gap] ?? []));
    if (gap < base.lines.length && oursEdit.kept[gap] && theirsEdit.kept[gap]) out.push(base.lines[gap] ?? '');
  }
  const finalNewline = [ours, theirs, base].find((text) => text.lines.length > 0)?.finalNewline ?? false;
  return merged(joinLines(out, detectEol(input.ours, input.theirs, input.base), finalNewline));
}

interface Edit {
  /** kept[i]: whether base line i survives on this side. */
  readonly kept: readonly boolean[];
  /** inserted[g]: the lines this side inserted after base line g - 1 (g = 0: at the top). */
  readonly inserted: readonly (readonly string[])[];
}

function editAgainstBase(base: readonly string[], side: readonly string[]): Edit {
  const kept = new Array<boolean>(base.length).fill(false);
  const inserted: string[][] = Array.from({ length: base.length + 1 }, () => []);
  let baseNext = 0;
  let sideNext = 0;
  // A sentinel match past both ends flushes the lines after the last real match.
  for (const { aIndex, bIndex } of [...diffLines(base, side), { aIndex: base.length, bIndex: side.length }]) {
    // A replaced hunk's new lines go to the gap where the hunk starts: next to its context
    // above, so that both sides' edits of one spot meet at one gap and keep step order.
    inserted[baseNext]?.push(...side.slice(sideNext, bIndex));
    if (aIndex < base.length) kept[aIndex] = true;
    baseNext = aIndex + 1;
    sideNext = bIndex + 1;
  }
  return { kept, inserted };
}

function unionAtGap(ours: readonly string[], theirs: readonly string[]): readonly string[] {
  if (theirs.length === 0) return ours;
  if (ours.length === 0) return theirs;
  const available = new Map<string, number>();
  for (const line of ours) available.set(line, (available.get(line) ?? 0) + 1);
  const result = [...ours];
  let droppedPrevious = false;
  for (const line of theirs) {
    const blank = line.trim() === '';
    const count = available.get(line) ?? 0;
    // Blank lines separate entries rather than being entries, so they are only dropped along
    // with the duplicate line they follow.
    const drop: boolean = blank ? droppedPrevious : count > 0;
    if (drop && !blank) available.set(line, count - 1);
    if (!drop) result.push(line);
    droppedPrevious = drop;
  }
  return result;
}
