import { isAlias, isMap, isNode, isPair, isSeq, visit, type Document, type Node } from 'yaml';
import { quoted } from './describeIssue';
import { keyName } from './yamlPositions';

/** A problem of the document's structure, at an offset of the text. */
export interface StructureProblem {
  readonly offset: number;
  readonly message: string;
}

/**
 * What the YAML parser accepts but a workflow file must not have, found in one pass over the
 * document (linear, unlike the parser's own duplicate-key check, which compares every key of a
 * map with every other: minutes for 50,000 keys):
 * - a key defined twice in a mapping (the data would silently keep the last one);
 * - a key that is a list, a mapping or an alias (the data would stringify it, with a warning on
 *   the console), or `__proto__` (a mapping read into an object would change its prototype);
 * - an alias to no anchor defined before it, or to the node that contains it (the data would
 *   contain itself).
 */
export function structureProblems(doc: Document, position: (offset: number) => string): StructureProblem[] {
  const problems: StructureProblem[] = [];
  const anchors = new Map<string, Node>();
  const add = (node: { range?: readonly number[] | null } | null | undefined, message: string) =>
    problems.push({ offset: node?.range?.[0] ?? 0, message });

  visit(doc, (_key, node, path) => {
    if (isNode(node) && node.anchor) anchors.set(node.anchor, node);
    if (isMap(node)) {
      const seen = new Map<string, Node>();
      for (const pair of node.items) {
        const name = keyName(pair);
        const key = isNode(pair.key) ? pair.key : undefined;
        if (name === undefined) add(key, `expected a text key, got ${keyKind(pair.key)}`);
        else if (name === '__proto__') add(key, 'the key "__proto__" is not allowed; expected a name of your own');
        else if (seen.has(name)) {
          const first = seen.get(name)?.range?.[0];
          const where = first === undefined ? 'earlier' : `at ${position(first)}`;
          add(key, `duplicate key ${quoted(name)}: it is already defined ${where}; expected each key once in a mapping`);
        } else if (key) seen.set(name, key);
      }
    }
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const alias = quoted(`*${node.source}`);
      if (!target) {
        add(node, `alias ${alias} refers to no anchor; expected an anchor ${quoted(`&${node.source}`)} defined earlier in the file`);
      } else if (path.includes(target)) {
        add(
          node,
          `alias ${alias} refers to the ${isSeq(target) ? 'list' : 'mapping'} that contains it; expected an anchor of a value defined before the alias, outside it`,
        );
      }
    }
  });
  return problems;
}

function keyKind(key: unknown): string {
  if (isAlias(key)) return `the alias ${quoted(`*${key.source}`)}`;
  if (isSeq(key)) return 'a list';
  if (isMap(key)) return 'a mapping';
  return isPair(key) ? 'a pair' : 'a value that is not text';
}
