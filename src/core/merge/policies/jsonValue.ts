/**
 * A JSON number kept as its source text, so that a merge neither rounds large integers nor
 * rewrites `1.0` or `1e3`; two numbers are equal when their text is.
 */
export class JsonNumber {
  constructor(readonly raw: string) {}
}

/**
 * A parsed JSON value. Objects are `Map`s because a plain object would move integer-like keys
 * (`"2"`, `"10"`) to the front and give `__proto__` a special meaning; a `Map` keeps the key
 * order of the source text, which the merge's key-order rule depends on.
 */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | Map<string, JsonValue>;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Parses JSON into a {@link JsonValue} that keeps key order and number text.
 *
 * @throws SyntaxError with the engine's own message when `text` is not JSON.
 */
export function parseJson(text: string): JsonValue {
  // JSON.parse validates and gives the familiar error message; the reader below may then
  // trust its input and only has to build the order-keeping structure.
  JSON.parse(text);
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text.charAt(pos))) pos++;
  };
  const readString = (): string => {
    let end = pos + 1;
    while (text.charAt(end) !== '"') end += text.charAt(end) === '\\' ? 2 : 1;
    const value = JSON.parse(text.slice(pos, end + 1)) as string;
    pos = end + 1;
    return value;
  };
  const readValue = (): JsonValue => {
    skipSpace();
    const c = text.charAt(pos);
    if (c === '{') {
      pos++;
      const map = new Map<string, JsonValue>();
      skipSpace();
      if (text.charAt(pos) === '}') {
        pos++;
        return map;
      }
      for (;;) {
        skipSpace();
        const key = readString();
        skipSpace();
        pos++; // ':'
        // A duplicate key keeps its first position and its last value, as JSON.parse does.
        map.set(key, readValue());
        skipSpace();
        if (text.charAt(pos++) === '}') return map;
      }
    }
    if (c === '[') {
      pos++;
      const items: JsonValue[] = [];
      skipSpace();
      if (text.charAt(pos) === ']') {
        pos++;
        return items;
      }
      for (;;) {
        items.push(readValue());
        skipSpace();
        if (text.charAt(pos++) === ']') return items;
      }
    }
    if (c === '"') return readString();
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (match === null) throw new SyntaxError(`Unexpected character at position ${pos}`);
    pos += match[0].length;
    return new JsonNumber(match[0]);
  };
  return readValue();
}

/**
 * Writes a {@link JsonValue} like `JSON.stringify(value, null, indent)` but in Map order and with
 * numbers in their source text. An empty `indent` writes compact JSON.
 */
export function stringifyJson(value: JsonValue, indent: string, eol: string): string {
  const write = (v: JsonValue, pad: string): string => {
    if (v === null || typeof v === 'boolean') return String(v);
    if (typeof v === 'string') return JSON.stringify(v);
    if (v instanceof JsonNumber) return v.raw;
    const inner = pad + indent;
    const parts = Array.isArray(v)
      ? v.map((item) => write(item, inner))
      : [...v].map(([key, item]) => `${JSON.stringify(key)}:${indent === '' ? '' : ' '}${write(item, inner)}`);
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    if (parts.length === 0) return open + close;
    if (indent === '') return open + parts.join(',') + close;
    return `${open}${eol}${inner}${parts.join(`,${eol}${inner}`)}${eol}${pad}${close}`;
  };
  return write(value, '');
}

/** Deep equality; object key order does not matter, array order does. */
export function jsonEquals(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a instanceof JsonNumber && b instanceof JsonNumber) return a.raw === b.raw;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEquals(item, b[i]));
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [key, item] of a) if (!b.has(key) || !jsonEquals(item, b.get(key))) return false;
    return true;
  }
  return false;
}

/** Whether a value is a string, number, boolean or null. */
export function isJsonPrimitive(v: JsonValue): v is null | boolean | string | JsonNumber {
  return !Array.isArray(v) && !(v instanceof Map);
}

/**
 * The indentation unit of a JSON text: the leading white space of its first indented line, which
 * in any pretty-printed document is one level deep. `undefined` for a one-line document.
 */
export function detectIndent(text: string): string | undefined {
  const match = /^([ \t]+)\S/m.exec(text);
  if (match === null) return undefined;
  const lead = match[1] ?? '';
  return lead.startsWith('\t') ? '\t' : lead;
}
