/** What a secret's value is replaced with in a step's log. */
export const MASK = '***';

/**
 * Replaces secrets' values in a stream of output, however the chunks split them: the bytes that
 * could be the start of a value are held back until the next chunk (or the end) shows they are not.
 */
export class Masker {
  private readonly values: readonly Buffer[];
  private readonly hold: number;
  private held: Buffer = Buffer.alloc(0);

  constructor(values: readonly string[]) {
    // Longest first: a value that contains another is masked whole.
    this.values = [...new Set(values.filter((v) => v !== ''))].sort((a, b) => b.length - a.length).map((v) => Buffer.from(v));
    this.hold = Math.max(0, ...this.values.map((v) => v.length - 1));
  }

  get active(): boolean {
    return this.values.length > 0;
  }

  /** The part of `chunk` (with what was held) that can be written now, masked. */
  push(chunk: Buffer): Buffer {
    if (!this.active) return chunk;
    return this.mask(Buffer.concat([this.held, chunk]), false);
  }

  /** What is still held, at the end of the output. */
  end(): Buffer {
    return this.active ? this.mask(this.held, true) : Buffer.alloc(0);
  }

  /**
   * Masks the values that start where every byte they could need is known (all of `data` at the
   * end), the longest at each place first; holds the rest back.
   */
  private mask(data: Buffer, final: boolean): Buffer {
    const limit = final ? data.length : Math.max(0, data.length - this.hold);
    const parts: Buffer[] = [];
    let pos = 0;
    for (;;) {
      let best = -1;
      let length = 0;
      for (const value of this.values) {
        const at = data.indexOf(value, pos);
        if (at >= 0 && at < limit && (best < 0 || at < best || (at === best && value.length > length))) {
          best = at;
          length = value.length;
        }
      }
      if (best < 0) break;
      parts.push(data.subarray(pos, best), MASKED);
      pos = best + length;
    }
    const cut = Math.max(pos, limit);
    parts.push(data.subarray(pos, cut));
    this.held = data.subarray(cut);
    return Buffer.concat(parts);
  }
}

const MASKED = Buffer.from(MASK);

/** The shortest value masked: shorter ones (`true`, `3000`) are not secrets worth garbling a log for. */
export const MIN_SECRET_LENGTH = 6;

/**
 * The values a secret file holds: `KEY=value` lines of an `.env` file (quotes and `export`
 * dropped), or the strings of a JSON file, or else each non-empty line. At most 200 values.
 */
export function secretValues(text: string): string[] {
  const values = new Set<string>();
  const add = (v: string) => {
    const value = v.trim();
    if (value.length >= MIN_SECRET_LENGTH && !value.includes('\n') && values.size < 200) values.add(value);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (json !== undefined && typeof json === 'object' && json !== null) {
    const walk = (v: unknown): void => {
      if (typeof v === 'string') add(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(json);
    return [...values];
  }
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const assignment = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*[=:]\s*(.*)$/.exec(trimmed);
    const value = assignment ? assignment[1].replace(/\s+#.*$/, '') : trimmed;
    add(value.replace(/^(['"])(.*)\1$/, '$2'));
  }
  return [...values];
}
