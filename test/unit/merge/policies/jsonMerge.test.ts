import { strict as assert } from 'node:assert';
import { mergeJson } from '../../../../src/core/merge/policies/jsonMerge';
import type { PolicyMergeResult, ThreeWayInput } from '../../../../src/core/merge/policies/types';

/** The merged text, failing the test on a conflict. */
function mergedText(input: ThreeWayInput, indent?: number | string): string | undefined {
  const result = mergeJson(input, indent === undefined ? undefined : { indent });
  assert.equal(result.status, 'merged', JSON.stringify(result));
  return result.status === 'merged' ? result.content : undefined;
}

function conflictsOf(result: PolicyMergeResult): readonly { kind: string; location?: string }[] {
  assert.equal(result.status, 'conflict', JSON.stringify(result));
  return result.status === 'conflict' ? result.conflicts.map(({ kind, location }) => ({ kind, location })) : [];
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

describe('mergeJson', () => {
  describe('keys', () => {
    it('combines changes to disjoint keys, nested included', () => {
      const base = json({ name: 'x', scripts: { build: 'tsc', test: 'mocha' } });
      const ours = json({ name: 'x', scripts: { build: 'tsc -b', test: 'mocha' } });
      const theirs = json({ name: 'y', scripts: { build: 'tsc', test: 'mocha', lint: 'eslint' } });
      assert.equal(mergedText({ base, ours, theirs }), json({ name: 'y', scripts: { build: 'tsc -b', test: 'mocha', lint: 'eslint' } }));
    });

    it('reports one key set to two different values at its path', () => {
      const result = mergeJson({
        base: json({ scripts: { build: 'tsc' } }),
        ours: json({ scripts: { build: 'tsc -b' } }),
        theirs: json({ scripts: { build: 'esbuild' } }),
      });
      assert.deepEqual(conflictsOf(result), [{ kind: 'json-key', location: '$.scripts.build' }]);
      assert.ok(result.status === 'conflict' && /"tsc -b".*"esbuild"/.test(result.conflicts[0]?.detail ?? ''));
    });

    it('writes keys that are not identifiers in bracket notation', () => {
      const result = mergeJson({
        base: json({ 'a-b': 1, deps: { '@types/node': '1' } }),
        ours: json({ 'a-b': 2, deps: { '@types/node': '2' } }),
        theirs: json({ 'a-b': 3, deps: { '@types/node': '3' } }),
      });
      assert.deepEqual(conflictsOf(result), [
        { kind: 'json-key', location: '$.deps["@types/node"]' },
        { kind: 'json-key', location: '$["a-b"]' },
      ]);
    });

    it('returns every conflict, sorted by location', () => {
      const result = mergeJson({
        base: json({ z: 1, a: 1, m: { k: 1 } }),
        ours: json({ z: 2, a: 2, m: { k: 2 } }),
        theirs: json({ z: 3, a: 3, m: { k: 3 } }),
      });
      assert.deepEqual(
        conflictsOf(result).map((c) => c.location),
        ['$.a', '$.m.k', '$.z'],
      );
    });

    it('accepts the same change made on both sides', () => {
      const base = json({ v: 1, w: 1 });
      const both = json({ v: 2, w: 1, added: true });
      assert.equal(mergedText({ base, ours: both, theirs: both }), both);
    });

    it('deletes a key deleted on one side and unchanged on the other', () => {
      assert.equal(
        mergedText({ base: json({ a: 1, b: 2 }), ours: json({ a: 1 }), theirs: json({ a: 1, b: 2, c: 3 }) }),
        json({ a: 1, c: 3 }),
      );
    });

    it('reports a key deleted on one side and changed on the other', () => {
      const result = mergeJson({ base: json({ a: 1, b: 2 }), ours: json({ a: 2 }), theirs: json({ a: 1, b: 3 }) });
      assert.deepEqual(conflictsOf(result), [{ kind: 'json-key', location: '$.b' }]);
    });

    it("keeps ours' key order, then the keys new in theirs in theirs' order", () => {
      const base = '{"b": 1, "a": 1}';
      const ours = '{"a": 2, "b": 1}';
      const theirs = '{"d": 4, "b": 1, "a": 1, "c": 3}';
      assert.deepEqual(Object.keys(JSON.parse(mergedText({ base, ours, theirs }) ?? '') as object), ['a', 'b', 'd', 'c']);
    });

    it('keeps integer-like keys where the source text has them, unlike a plain object', () => {
      const text = mergedText({ base: '{"b": 0}', ours: '{"b": 1, "10": 1, "2": 1}', theirs: '{"b": 0, "__proto__": 1, "1": 1}' });
      assert.equal(text, '{\n  "b": 1,\n  "10": 1,\n  "2": 1,\n  "__proto__": 1,\n  "1": 1\n}');
    });

    it('keeps numbers as written', () => {
      const text = mergedText({ base: '{"a": 1}', ours: '{"a": 1, "big": 12345678901234567890}', theirs: '{"a": 1.0e3}' });
      assert.equal(text, '{\n  "a": 1.0e3,\n  "big": 12345678901234567890\n}');
    });
  });

  describe('arrays', () => {
    it('takes the array of the only side that changed it, objects included', () => {
      const base = json({ items: [{ id: 1 }], n: 0 });
      const ours = json({ items: [{ id: 1 }, { id: 2 }], n: 0 });
      const theirs = json({ items: [{ id: 1 }], n: 1 });
      assert.equal(mergedText({ base, ours, theirs }), json({ items: [{ id: 1 }, { id: 2 }], n: 1 }));
    });

    it('merges primitive arrays changed on both sides as a set-like list', () => {
      const base = json({ tags: ['a', 'b', 'c', 1] });
      const ours = json({ tags: ['c', 'a', 'b', 1, 'x'] });
      const theirs = json({ tags: ['a', 'c', 'y', 1, 'x', null, 'y'] });
      // ours' order; 'b' removed by theirs; theirs' additions 'y', null in theirs' order, 'x' not twice.
      assert.equal(mergedText({ base, ours, theirs }), json({ tags: ['c', 'a', 1, 'x', 'y', null] }));
    });

    it('reports arrays of objects changed on both sides differently at the array path', () => {
      const result = mergeJson({
        base: json({ list: { items: [{ id: 1 }] } }),
        ours: json({ list: { items: [{ id: 1 }, { id: 2 }] } }),
        theirs: json({ list: { items: [{ id: 1 }, { id: 3 }] } }),
      });
      assert.deepEqual(conflictsOf(result), [{ kind: 'json-key', location: '$.list.items' }]);
    });

    it('accepts arrays of objects changed identically on both sides', () => {
      const changed = json({ items: [{ id: 2 }] });
      assert.equal(
        mergedText({ base: json({ items: [{ id: 1 }], x: 1 }), ours: changed, theirs: json({ items: [{ id: 2 }], x: 1 }) }),
        changed,
      );
    });
  });

  describe('whole file', () => {
    it('reports invalid JSON on a side as a content conflict naming the side, without throwing', () => {
      const input = { base: '{"a": 1}', ours: '{"a": 2}', theirs: '{"a": 3,' };
      assert.doesNotThrow(() => mergeJson(input));
      const result = mergeJson(input);
      assert.deepEqual(conflictsOf(result), [{ kind: 'content', location: undefined }]);
      assert.ok(result.status === 'conflict' && result.conflicts[0]?.detail.startsWith('theirs is not valid JSON: '));
    });

    it('reports invalid JSON even on a side that alone changed the file', () => {
      const result = mergeJson({ base: '{"a": 1}', ours: '{"a": 1}', theirs: 'not json' });
      assert.ok(result.status === 'conflict' && result.conflicts[0]?.detail.startsWith('theirs is not valid JSON'));
    });

    it('takes the text of the only side that changed the file verbatim', () => {
      const theirs = '{ "a":   2, "b": [1,2] }';
      assert.equal(mergedText({ base: '{"a": 1}', ours: '{\n\t"a": 1\n}', theirs }), theirs);
    });

    it('deletes a file deleted on one side and unchanged, or only reformatted, on the other', () => {
      assert.equal(mergedText({ base: '{"a":1}', ours: undefined, theirs: '{"a":1}' }), undefined);
      assert.equal(mergedText({ base: '{"a":1}', ours: '{\n  "a": 1\n}\n', theirs: undefined }), undefined);
    });

    it('reports a file deleted on one side and modified on the other', () => {
      const result = mergeJson({ base: '{"a":1}', ours: '{"a":2}', theirs: undefined });
      assert.deepEqual(result, {
        status: 'conflict',
        conflicts: [{ kind: 'content', detail: 'deleted by one side, modified by the other' }],
      });
    });

    it('merges two added objects by key when base is absent', () => {
      assert.equal(
        mergedText({ base: undefined, ours: json({ a: 1, both: 1 }), theirs: json({ b: 2, both: 1 }) }),
        json({ a: 1, both: 1, b: 2 }),
      );
      const result = mergeJson({ base: undefined, ours: json({ a: 1 }), theirs: json({ a: 2 }) });
      assert.deepEqual(conflictsOf(result), [{ kind: 'json-key', location: '$.a' }]);
    });

    it('reports two different added non-object values at $', () => {
      assert.deepEqual(conflictsOf(mergeJson({ base: undefined, ours: '1', theirs: '"one"' })), [{ kind: 'json-key', location: '$' }]);
    });

    it('takes a file added on one side only', () => {
      assert.equal(mergedText({ base: undefined, ours: undefined, theirs: '{"a": 1}' }), '{"a": 1}');
    });
  });

  describe('formatting', () => {
    const input = (ours: string): ThreeWayInput => ({ base: '{"a":1,"b":1}', ours, theirs: '{"a":1,"b":2}' });

    it('indents like ours: tabs, four spaces', () => {
      assert.equal(mergedText(input('{\n\t"a": 2,\n\t"b": 1\n}\n')), '{\n\t"a": 2,\n\t"b": 2\n}\n');
      assert.equal(mergedText(input('{\n    "a": 2,\n    "b": 1\n}')), '{\n    "a": 2,\n    "b": 2\n}');
    });

    it("falls back to theirs' indentation, then to two spaces", () => {
      assert.equal(
        mergedText({ base: '{"a":1,"b":1}', ours: '{"a":2,"b":1}', theirs: '{\n   "a": 1,\n   "b": 2\n}' }),
        '{\n   "a": 2,\n   "b": 2\n}',
      );
      assert.equal(mergedText(input('{"a":2,"b":1}\n')), '{\n  "a": 2,\n  "b": 2\n}\n');
    });

    it('keeps CRLF line endings and honours the indent option', () => {
      assert.equal(mergedText(input('{\r\n  "a": 2,\r\n  "b": 1\r\n}\r\n'), '\t'), '{\r\n\t"a": 2,\r\n\t"b": 2\r\n}\r\n');
      assert.equal(mergedText(input('{"a":2,"b":1}'), 0), '{"a":2,"b":2}');
    });
  });

  describe('determinism', () => {
    it('gives identical output for the same input, merged twice', () => {
      const input = {
        base: json({ x: [1, 2], y: { p: 1 } }),
        ours: json({ y: { q: 2, p: 1 }, x: [2, 3] }),
        theirs: json({ x: [1, 2, 4], z: 1, y: { p: 1, r: 3 } }),
      };
      const first = mergeJson(input);
      assert.deepEqual(mergeJson(input), first);
      assert.equal(mergedText(input), json({ y: { q: 2, p: 1, r: 3 }, x: [2, 3, 4], z: 1 }));
    });

    it("orders keys by the documented rule only, whatever base's order", () => {
      const ours = '{"m": 1, "a": 2}';
      const theirs = '{"z": 3, "m": 1, "a": 1}';
      const one = mergedText({ base: '{"a": 1, "m": 1}', ours, theirs });
      const other = mergedText({ base: '{"m": 1, "a": 1}', ours, theirs });
      assert.equal(one, other);
      assert.equal(one, '{\n  "m": 1,\n  "a": 2,\n  "z": 3\n}');
    });
  });
});
