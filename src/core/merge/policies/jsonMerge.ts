import { detectEol, firstPresent } from './lines';
import { detectIndent, isJsonPrimitive, JsonNumber, jsonEquals, parseJson, stringifyJson, type JsonValue } from './jsonValue';
import type { PolicyConflict, PolicyMergeResult, ThreeWayInput } from './types';
import { merged, resolveWholeFile } from './wholeFile';

/** Options of {@link mergeJson}. */
export interface JsonMergeOptions {
  /**
   * Indentation of the merged text: a number of spaces, or a string such as `'\t'`; `0` or `''`
   * writes compact JSON.
   * @default detected from ours, else theirs, else base; 2 spaces when none is indented
   */
  readonly indent?: number | string;
}

type Side = 'base' | 'ours' | 'theirs';

/**
 * Structural 3-way merge of a JSON file, key by key.
 *
 * Objects merge recursively: a key changed (added, set, deleted) on one side only takes that
 * side; changed identically on both is fine; set to two different values, or deleted on one side
 * and changed on the other, is a `json-key` conflict at the key path (`$.a.b`, `$["a-b"]`).
 * Values of different kinds never merge: an object replaced by an array is a plain change.
 *
 * Arrays: if only one side changed an array, that side's array is taken. If both changed it and
 * every element of base, ours and theirs is a primitive (string, number, boolean, null), they
 * merge as a set-like list: ours' elements in ours' order, less those theirs removed from base,
 * then those theirs added to base that are not already present, in theirs' order. Any other
 * array changed on both sides in different ways is a conflict at the array's path. Equality is
 * by value; numbers compare by their source text (`1` and `1.0` differ).
 *
 * Key order of the output: ours' keys in ours' order, then the keys new in theirs in theirs'
 * order. Formatting: see {@link JsonMergeOptions.indent}; the line ending and final newline
 * follow ours (else theirs, else base). When one side alone changed the file, its text is
 * taken verbatim; "changed" is structural, so a reformat alone is not a change.
 *
 * A side that is present but not JSON gives a `content` conflict naming the side; a file
 * deleted on one side and changed on the other gives a `content` conflict. When base is absent
 * and both sides added the file, they merge against an empty base: two objects by key, any
 * other two different values a conflict at `$`. All conflicts found are returned, sorted by
 * location. Pure and deterministic; never throws for bad input.
 */
export function mergeJson(input: ThreeWayInput, options?: JsonMergeOptions): PolicyMergeResult {
  const parsed = new Map<string, JsonValue>();
  const parseErrors: PolicyConflict[] = [];
  for (const side of ['base', 'ours', 'theirs'] as const satisfies readonly Side[]) {
    const text = input[side];
    if (text === undefined || parsed.has(text)) continue;
    try {
      parsed.set(text, parseJson(text));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      parseErrors.push({ kind: 'content', detail: `${side} is not valid JSON: ${message}` });
    }
  }
  if (parseErrors.length > 0) return { status: 'conflict', conflicts: parseErrors };
  const valueOf = (text: string | undefined): JsonValue | undefined => (text === undefined ? undefined : parsed.get(text));

  const settled = resolveWholeFile(input, (a, b) => jsonEquals(valueOf(a), valueOf(b)));
  if (settled !== undefined) return settled;

  const conflicts: PolicyConflict[] = [];
  const value = mergeValue(valueOf(input.base), valueOf(input.ours), valueOf(input.theirs), '$', conflicts);
  if (conflicts.length > 0) {
    const sorted = [...conflicts].sort((a, b) => compare(a.location ?? '', b.location ?? '') || compare(a.detail, b.detail));
    return { status: 'conflict', conflicts: sorted };
  }
  // Both sides are present here: resolveWholeFile settled every case with an absent side.
  if (value === undefined) return merged(undefined);
  const source = firstPresent(input.ours, input.theirs, input.base) ?? '';
  const eol = detectEol(input.ours, input.theirs, input.base);
  const text = stringifyJson(value, resolveIndent(input, options?.indent), eol);
  return merged(source.endsWith('\n') ? text + eol : text);
}

function mergeValue(
  base: JsonValue | undefined,
  ours: JsonValue | undefined,
  theirs: JsonValue | undefined,
  path: string,
  conflicts: PolicyConflict[],
): JsonValue | undefined {
  if (jsonEquals(ours, theirs)) return ours;
  if (jsonEquals(base, ours)) return theirs;
  if (jsonEquals(base, theirs)) return ours;
  if (ours === undefined || theirs === undefined) {
    const detail =
      ours === undefined
        ? 'Earlier steps deleted this key; this step changed it.'
        : 'Earlier steps changed this key; this step deleted it.';
    conflicts.push({ kind: 'json-key', location: path, detail });
    return ours;
  }
  if (ours instanceof Map && theirs instanceof Map) {
    // A base of another kind (or none, for keys both sides added) counts as an empty object.
    return mergeObject(base instanceof Map ? base : new Map<string, JsonValue>(), ours, theirs, path, conflicts);
  }
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    const baseItems = Array.isArray(base) ? base : [];
    if ([baseItems, ours, theirs].every((items) => items.every(isJsonPrimitive))) {
      return mergePrimitiveArrays(baseItems, ours, theirs);
    }
    conflicts.push({
      kind: 'json-key',
      location: path,
      detail: 'Earlier steps and this step changed this array of objects or arrays in different ways.',
    });
    return ours;
  }
  conflicts.push({
    kind: 'json-key',
    location: path,
    detail: `Earlier steps set this to ${preview(ours)}; this step sets it to ${preview(theirs)}.`,
  });
  return ours;
}

function mergeObject(
  base: Map<string, JsonValue>,
  ours: Map<string, JsonValue>,
  theirs: Map<string, JsonValue>,
  path: string,
  conflicts: PolicyConflict[],
): Map<string, JsonValue> {
  const result = new Map<string, JsonValue>();
  // Ours' keys first, then theirs' new keys: the documented order, independent of base's.
  const keys = [...ours.keys(), ...[...theirs.keys()].filter((key) => !ours.has(key))];
  for (const key of keys) {
    const value = mergeValue(base.get(key), ours.get(key), theirs.get(key), childPath(path, key), conflicts);
    if (value !== undefined) result.set(key, value);
  }
  // Keys of base in neither side were deleted on both, so there is nothing left to visit.
  return result;
}

function mergePrimitiveArrays(base: JsonValue[], ours: JsonValue[], theirs: JsonValue[]): JsonValue[] {
  const theirsKeys = new Set(theirs.map(primitiveKey));
  const baseKeys = new Set(base.map(primitiveKey));
  const removedByTheirs = new Set([...baseKeys].filter((key) => !theirsKeys.has(key)));
  const result = ours.filter((item) => !removedByTheirs.has(primitiveKey(item)));
  const present = new Set(result.map(primitiveKey));
  for (const item of theirs) {
    const key = primitiveKey(item);
    if (baseKeys.has(key) || present.has(key)) continue;
    present.add(key);
    result.push(item);
  }
  return result;
}

function primitiveKey(v: JsonValue): string {
  if (v instanceof JsonNumber) return `n:${v.raw}`;
  if (typeof v === 'string') return `s:${v}`;
  if (typeof v === 'boolean' || v === null) return String(v);
  // The caller passes primitives only; the full text would still keep the key exact.
  return `j:${stringifyJson(v, '', '\n')}`;
}

/** `$.name` for identifier keys, `$["a-b"]` otherwise, so that every path reads back unambiguously. */
function childPath(parent: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

function resolveIndent(input: ThreeWayInput, indent: number | string | undefined): string {
  // Clamped as JSON.stringify clamps its `space` argument.
  if (typeof indent === 'number') return ' '.repeat(Math.max(0, Math.min(10, Math.floor(indent))));
  if (indent !== undefined) return indent;
  for (const text of [input.ours, input.theirs, input.base]) {
    const found = text === undefined ? undefined : detectIndent(text);
    if (found !== undefined) return found;
  }
  return '  ';
}

function preview(value: JsonValue): string {
  const text = stringifyJson(value, '', '\n');
  return text.length <= 40 ? text : `${text.slice(0, 37)}...`;
}

/** Code-unit order: the same on every machine and locale, unlike `localeCompare`. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
