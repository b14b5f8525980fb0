import { parseSections } from './policies/markdownSections';

/**
 * The keys of a JSON key path as the json policy writes it (`$`, `$.scripts.test`,
 * `$["a-b"].x`); `undefined` when it is not one.
 */
export function parseJsonPath(location: string): string[] | undefined {
  if (!location.startsWith('$')) return undefined;
  const keys: string[] = [];
  const segment = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[("(?:[^"\\]|\\.)*")\]/y;
  segment.lastIndex = 1;
  while (segment.lastIndex < location.length) {
    const m = segment.exec(location);
    if (!m) return undefined;
    if (m[1] !== undefined) keys.push(m[1]);
    else {
      try {
        keys.push(JSON.parse(m[2] ?? '') as string);
      } catch {
        return undefined;
      }
    }
  }
  return keys;
}

interface Frame {
  readonly array: boolean;
  /** The key last read in this object: the path of the value being read. */
  key: string | undefined;
  expectKey: boolean;
}

/**
 * The 0-based line of the key at `keys` in a JSON text, or of the deepest of its parents found
 * (the key may be missing from this version); 0 for the root. Tolerant: a text with conflict
 * markers (lines starting `<<<<<<<`, `|||||||`, `=======`, `>>>>>>>`) is read with those lines
 * skipped, and the first occurrence wins; nothing here throws.
 */
export function jsonKeyLine(text: string, keys: readonly string[]): number {
  if (keys.length === 0) return 0;
  const stack: Frame[] = [];
  let best = { depth: 0, line: 0 };
  let line = 0;
  let atLineStart = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (atLineStart && /^(?:<{7}|\|{7}|={7}|>{7})/.test(text.slice(i, i + 7))) {
      const end = text.indexOf('\n', i);
      if (end < 0) break;
      i = end;
      line++;
      continue;
    }
    atLineStart = ch === '\n';
    if (ch === '\n') line++;
    else if (ch === '{' || ch === '[') stack.push({ array: ch === '[', key: undefined, expectKey: ch === '{' });
    else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === ',') {
      const top = stack[stack.length - 1];
      if (top && !top.array) top.expectKey = true;
    } else if (ch === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"' && text[i] !== '\n'; i++) if (text[i] === '\\') i++;
      if (text[i] !== '"') {
        // An unclosed string: its line ends it, and the line break is counted by the loop.
        i--;
        continue;
      }
      const top = stack[stack.length - 1];
      if (!top || top.array || !top.expectKey) continue;
      let key: string;
      try {
        key = JSON.parse(text.slice(start, i + 1)) as string;
      } catch {
        continue;
      }
      top.key = key;
      top.expectKey = false;
      const depth = matchedDepth(stack, keys);
      if (depth === keys.length) return line;
      if (depth > best.depth) best = { depth, line };
    }
  }
  return best.line;
}

/** How many of `keys` the current path (the objects' keys, outermost first) matches, when it is a prefix of them. */
function matchedDepth(stack: readonly Frame[], keys: readonly string[]): number {
  if (stack.length > keys.length) return 0;
  for (let d = 0; d < stack.length; d++) if (stack[d]?.array || stack[d]?.key !== keys[d]) return 0;
  return stack.length;
}

/** The 0-based line of the Markdown section whose heading (as the markdown policy names it) is `heading`; 0 for the preamble. */
export function markdownHeadingLine(text: string, heading: string): number | undefined {
  if (heading === '(preamble)') return 0;
  const lines = text.split(/\r?\n/);
  let start = 0;
  for (const section of parseSections(lines)) {
    if (section.heading === heading) return start;
    start += section.lines.length + section.gap;
  }
  return undefined;
}

/** A conflict's place in one version of its file: the kind and location of the report. */
export interface ConflictPlace {
  readonly kind: string;
  readonly location?: string | undefined;
}

/**
 * The 0-based line where a conflict is in a version of its file: the key of a `json-key` conflict,
 * the heading of a `markdown-section` one; `undefined` when it names no place or is not found.
 */
export function conflictLine(text: string, place: ConflictPlace): number | undefined {
  if (place.location === undefined) return undefined;
  if (place.kind === 'json-key') {
    const keys = parseJsonPath(place.location);
    return keys === undefined ? undefined : jsonKeyLine(text, keys);
  }
  if (place.kind === 'markdown-section') return markdownHeadingLine(text, place.location);
  return undefined;
}
