import { detectEol, joinLines, splitLines, type SplitText } from './lines';
import { parseSections, type MarkdownSection } from './markdownSections';
import type { PolicyConflict, PolicyMergeResult, ThreeWayInput } from './types';
import { merged, resolveWholeFile } from './wholeFile';

/**
 * 3-way merge of a Markdown document by section.
 *
 * A section starts at an ATX heading (`#` to `######` then a space, outside fenced code blocks)
 * and runs to the next heading of any level; the text before the first heading is the preamble.
 * A section is identified by its heading line without trailing spaces and closing `#`s, and by
 * its occurrence index when the heading repeats. Sections compare by their text without the
 * blank lines that end them, so spacing alone is never a change.
 *
 * Per section: changed on one side takes that side; changed identically is fine; deleted on one
 * side and unchanged on the other is deleted; changed two ways, deleted on one side and changed
 * on the other, or added by both sides with different text is a `markdown-section` conflict at
 * the heading line (`(preamble)` for the preamble).
 *
 * Order of the output: ours' sections in ours' order. Each section theirs added goes right after
 * the section preceding it in theirs, past any sections ours alone added at that spot, so that
 * sections added at one place appear in step order; if that preceding section is not in the
 * output, at the end. Sections stay separated by the blank lines their source had (one blank
 * line for a section that was last in its file, unless the documents never use one). Lines end
 * with ours' terminator (`\n` or `\r\n`); the final newline follows ours. Pure and deterministic.
 */
export function mergeMarkdown(input: ThreeWayInput): PolicyMergeResult {
  const settled = resolveWholeFile(input);
  if (settled !== undefined) return settled;
  const texts = {
    base: splitLines(input.base ?? ''),
    ours: splitLines(input.ours ?? ''),
    theirs: splitLines(input.theirs ?? ''),
  };
  // An empty preamble is no section at all, so that a side without one neither "adds" nor "deletes" it.
  const sectionsOf = (text: SplitText): MarkdownSection[] => parseSections(text.lines).filter((s) => s.key !== '' || s.lines.length > 0);
  const base = sectionsOf(texts.base);
  const ours = sectionsOf(texts.ours);
  const theirs = sectionsOf(texts.theirs);
  const inBase = byKey(base);
  const inOurs = byKey(ours);
  const inTheirs = byKey(theirs);

  const chosen = new Map<string, MarkdownSection>();
  const conflicts: PolicyConflict[] = [];
  for (const key of new Set([...inOurs.keys(), ...inTheirs.keys(), ...inBase.keys()])) {
    const b = inBase.get(key);
    const o = inOurs.get(key);
    const t = inTheirs.get(key);
    const outcome = resolveSection(b, o, t);
    if (typeof outcome === 'string') {
      const heading = (o ?? t ?? b)?.heading ?? '';
      conflicts.push({ kind: 'markdown-section', location: heading === '' ? '(preamble)' : heading, detail: outcome });
    } else if (outcome !== undefined) {
      chosen.set(key, outcome);
    }
  }
  if (conflicts.length > 0) return { status: 'conflict', conflicts };

  const order = ours.filter((s) => chosen.has(s.key)).map((s) => s.key);
  const addedByOursAlone = (key: string): boolean => !inBase.has(key) && !inTheirs.has(key);
  theirs.forEach((section, i) => {
    if (inOurs.has(section.key) || inBase.has(section.key)) return; // not an addition of theirs
    const before = theirs[i - 1]?.key;
    let at = before === undefined ? 0 : order.indexOf(before) + 1;
    if (before !== undefined && at === 0) {
      order.push(section.key);
      return;
    }
    while (at < order.length && addedByOursAlone(order[at] ?? '')) at++;
    order.splice(at, 0, section.key);
  });

  const spaced = [...ours, ...theirs, ...base].find((s) => !s.last);
  const defaultGap = spaced === undefined || spaced.gap > 0 ? 1 : 0;
  const lines: string[] = [];
  order.forEach((key, i) => {
    const section = chosen.get(key);
    if (section === undefined) return;
    lines.push(...section.lines);
    if (i < order.length - 1) lines.push(...new Array<string>(section.last ? defaultGap : section.gap).fill(''));
  });
  const finalNewline = [texts.ours, texts.theirs, texts.base].find((t) => t.lines.length > 0)?.finalNewline ?? false;
  return merged(joinLines(lines, detectEol(input.ours, input.theirs, input.base), finalNewline));
}

/** The section to keep, `undefined` to drop it, or a conflict's detail. */
function resolveSection(
  base: MarkdownSection | undefined,
  ours: MarkdownSection | undefined,
  theirs: MarkdownSection | undefined,
): MarkdownSection | undefined | string {
  if (same(ours, theirs)) return ours;
  if (same(base, ours)) return theirs;
  if (same(base, theirs)) return ours;
  if (ours === undefined) return 'Earlier steps deleted this section; this step edited it.';
  if (theirs === undefined) return 'Earlier steps edited this section; this step deleted it.';
  if (base === undefined) return 'Earlier steps and this step both added this section, with different text.';
  return 'Earlier steps and this step edited this section in different ways.';
}

function same(a: MarkdownSection | undefined, b: MarkdownSection | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.lines.length === b.lines.length && a.lines.every((line, i) => line === b.lines[i]);
}

function byKey(sections: readonly MarkdownSection[]): Map<string, MarkdownSection> {
  return new Map(sections.map((s) => [s.key, s]));
}
