import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml';
import type { Position } from './issues';

export type { Position } from './issues';

/**
 * The key of a pair as the parsed data names it: what `toJS` makes of a scalar key (`1` and `"1"`
 * are the same key there), `undefined` for keys that are not scalars.
 */
export function keyName(pair: Pair): string | undefined {
  const key = pair.key;
  if (key === null || key === undefined) return '';
  if (!isScalar(key)) return undefined;
  const value = key.value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined; // a scalar of an object type (a YAML 1.1 timestamp or binary) is no text key either
}

/** Where the values and keys of a document are, addressed by the path zod reports. */
export interface Positions {
  /** Where the value at `path` starts; falls back to the nearest ancestor that exists. */
  valueAt(path: readonly PropertyKey[]): Position;
  /** Where the key `key` of the map at `path` starts (for unknown keys). */
  keyAt(path: readonly PropertyKey[], key: string): Position;
}

/** `positions` addressed by other paths: each is taken to the document's own by `pathInFile` first. */
export function remapped(positions: Positions, pathInFile: (path: readonly PropertyKey[]) => readonly PropertyKey[]): Positions {
  return {
    valueAt: (path) => positions.valueAt(pathInFile(path)),
    keyAt: (path, key) => positions.keyAt(pathInFile(path), key),
  };
}

/** Positions of nodes in a parsed YAML document, addressed by the path zod reports. */
export class YamlPositions implements Positions {
  /** Each map's pairs by key, built on first use: a lookup is O(1), not a scan of the map. */
  private readonly indexes = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Where the value at `path` starts; falls back to the nearest ancestor that exists. */
  valueAt(path: readonly PropertyKey[]): Position {
    for (let n = path.length; n >= 0; n--) {
      const node = this.nodeAt(path.slice(0, n));
      if (node?.range) return this.at(node.range[0]);
    }
    return { line: 1, column: 1 };
  }

  /** Where the key `key` of the map at `path` starts (for unknown keys). */
  keyAt(path: readonly PropertyKey[], key: string): Position {
    const node = this.nodeAt(path);
    if (isMap(node)) {
      const keyNode = this.pairOf(node, key)?.key as Node | undefined;
      if (keyNode?.range) return this.at(keyNode.range[0]);
    }
    return this.valueAt(path);
  }

  at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  private pairOf(map: YAMLMap, key: string): Pair | undefined {
    let index = this.indexes.get(map);
    if (!index) {
      index = new Map();
      for (const pair of map.items) {
        const name = keyName(pair);
        // The first definition wins; a later duplicate is reported as such before any lookup.
        if (name !== undefined && !index.has(name)) index.set(name, pair);
      }
      this.indexes.set(map, index);
    }
    return index.get(key);
  }

  private nodeAt(path: readonly PropertyKey[]): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const segment of path) {
      if (isMap(node)) node = this.pairOf(node, String(segment))?.value;
      else if (isSeq(node) && typeof segment === 'number') node = node.items[segment];
      else return undefined;
      if (node === undefined || node === null) return undefined;
    }
    return node as Node;
  }
}
