/** A text cut into lines, without their line terminators. */
export interface SplitText {
  readonly lines: readonly string[];
  /** Whether the text ended with a line terminator. */
  readonly finalNewline: boolean;
}

/** The line terminator a merged text is written with. */
export type Eol = '\n' | '\r\n';

/**
 * Cuts a text into lines. `\r\n` and `\n` both end a line, so a file whose sides disagree on
 * line endings still compares line by line; the output terminator comes from {@link detectEol}.
 */
export function splitLines(text: string): SplitText {
  if (text === '') return { lines: [], finalNewline: false };
  const lines = text.split(/\r?\n/);
  const finalNewline = lines[lines.length - 1] === '';
  if (finalNewline) lines.pop();
  return { lines, finalNewline };
}

/** Joins lines with `eol`, adding a final terminator when `finalNewline` and there is a line. */
export function joinLines(lines: readonly string[], eol: Eol, finalNewline: boolean): string {
  if (lines.length === 0) return '';
  return lines.join(eol) + (finalNewline ? eol : '');
}

/**
 * The terminator of the first given text that has a line break (pass ours, theirs, base, in
 * that order of preference); `\n` when none has one.
 */
export function detectEol(...texts: readonly (string | undefined)[]): Eol {
  for (const text of texts) {
    if (text === undefined) continue;
    const at = text.indexOf('\n');
    if (at >= 0) return at > 0 && text[at - 1] === '\r' ? '\r\n' : '\n';
  }
  return '\n';
}

/** The first defined value, in the order given (ours, theirs, base by convention). */
export function firstPresent<T>(...values: readonly (T | undefined)[]): T | undefined {
  return values.find((v) => v !== undefined);
}
