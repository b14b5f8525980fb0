/** One section of a Markdown document: a heading and the text up to the next heading. */
export interface MarkdownSection {
  /** Identity within its document: the heading plus its occurrence index; `''` for the preamble. */
  readonly key: string;
  /** The heading line without indentation and closing `#`s, e.g. `## Findings`; `''` for the preamble. */
  readonly heading: string;
  /** The section's lines, heading included, without the blank lines that end it. */
  readonly lines: readonly string[];
  /** How many blank lines followed the section's text in its document. */
  readonly gap: number;
  /** Whether the section was the last of its document, where its gap says nothing about spacing. */
  readonly last: boolean;
}

// CommonMark ATX headings: up to three spaces of indentation, one to six `#`, then a space,
// a tab or the end of the line. Setext headings (underlined) do not start sections.
const ATX_HEADING = /^ {0,3}#{1,6}(?:[ \t]|$)/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Cuts a document's lines into sections: the preamble (text before the first heading, possibly
 * empty, always first), then one section per ATX heading that is not inside a fenced code block.
 * Repeated identical headings get keys with increasing occurrence indexes.
 */
export function parseSections(lines: readonly string[]): MarkdownSection[] {
  const starts: number[] = [];
  let fence: string | undefined;
  lines.forEach((line, i) => {
    const marker = FENCE.exec(line)?.[1];
    if (fence === undefined) {
      if (marker !== undefined) fence = marker;
      else if (ATX_HEADING.test(line)) starts.push(i);
    } else if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) {
      // A closing fence repeats the opening character at least as many times, with no info string.
      fence = undefined;
    }
  });
  const bounds = [0, ...starts, lines.length];
  const seen = new Map<string, number>();
  const sections: MarkdownSection[] = [];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const start = bounds[s] ?? 0;
    const end = bounds[s + 1] ?? lines.length;
    let textEnd = end;
    while (textEnd > start && (lines[textEnd - 1] ?? '').trim() === '') textEnd--;
    const heading = s === 0 ? '' : headingIdentity(lines[start] ?? '');
    const occurrence = seen.get(heading) ?? 0;
    seen.set(heading, occurrence + 1);
    sections.push({
      key: s === 0 ? '' : `${heading}\n${occurrence}`,
      heading,
      lines: lines.slice(start, textEnd),
      gap: end - textEnd,
      last: end === lines.length,
    });
  }
  return sections;
}

/** `  ## Findings ##  ` → `## Findings`: the optional closing sequence needs a space before it, so `# C#` stays. */
function headingIdentity(line: string): string {
  return line.trim().replace(/[ \t]+#+$/, '');
}
