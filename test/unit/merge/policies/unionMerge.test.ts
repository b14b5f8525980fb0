import { strict as assert } from 'node:assert';
import type { ThreeWayInput } from '../../../../src/core/merge/policies/types';
import { mergeUnion } from '../../../../src/core/merge/policies/unionMerge';

function mergedText(input: ThreeWayInput): string | undefined {
  const result = mergeUnion(input);
  assert.equal(result.status, 'merged', JSON.stringify(result));
  return result.status === 'merged' ? result.content : undefined;
}

const lines = (...items: string[]): string => items.map((line) => `${line}\n`).join('');

describe('mergeUnion', () => {
  it('keeps lines both sides appended, ours first (step order)', () => {
    assert.equal(
      mergedText({ base: lines('a', 'b'), ours: lines('a', 'b', 'o1', 'o2'), theirs: lines('a', 'b', 't1') }),
      lines('a', 'b', 'o1', 'o2', 't1'),
    );
  });

  it('keeps a line both sides added at the same spot once', () => {
    assert.equal(
      mergedText({ base: lines('a', 'z'), ours: lines('a', 'dup', 'o', 'z'), theirs: lines('a', 't', 'dup', 'z') }),
      lines('a', 'dup', 'o', 't', 'z'),
    );
  });

  it('puts additions at different spots each in its place', () => {
    assert.equal(
      mergedText({ base: lines('a', 'b', 'c'), ours: lines('o', 'a', 'b', 'c'), theirs: lines('a', 'b', 't', 'c') }),
      lines('o', 'a', 'b', 't', 'c'),
    );
  });

  it('drops a line deleted by either side, and never reports a conflict for overlapping edits', () => {
    const result = mergeUnion({ base: lines('a', 'b', 'c'), ours: lines('a', 'B', 'c'), theirs: lines('a', 'b2', 'c', 'd') });
    assert.deepEqual(result, { status: 'merged', content: lines('a', 'B', 'b2', 'c', 'd') });
    assert.equal(
      mergedText({ base: lines('a', 'b', 'c'), ours: lines('a', 'c'), theirs: lines('a', 'b', 'c', 'd') }),
      lines('a', 'c', 'd'),
    );
  });

  it('keeps entries separated by blank lines separated', () => {
    const base = lines('# Log', '');
    const ours = lines('# Log', '', 'entry one', '');
    const theirs = lines('# Log', '', 'entry two', '');
    assert.equal(mergedText({ base, ours, theirs }), lines('# Log', '', 'entry one', '', 'entry two', ''));
    const both = lines('# Log', '', 'shared', '', 'entry two', '');
    assert.equal(mergedText({ base, ours: lines('# Log', '', 'shared', ''), theirs: both }), both);
  });

  it('accepts identical changes', () => {
    const changed = lines('a', 'x', 'b');
    assert.equal(mergedText({ base: lines('a', 'b'), ours: changed, theirs: changed }), changed);
  });

  it("merges two added files: ours' lines, then theirs' lines not already in ours", () => {
    assert.equal(mergedText({ base: undefined, ours: lines('x', 'y'), theirs: lines('y', 'z', 'x', 'w') }), lines('x', 'y', 'z', 'w'));
  });

  it('reports modify/delete as a content conflict, and deletes a file deleted and unchanged', () => {
    assert.deepEqual(mergeUnion({ base: lines('a'), ours: lines('a', 'b'), theirs: undefined }), {
      status: 'conflict',
      conflicts: [{ kind: 'content', detail: 'deleted by one side, modified by the other' }],
    });
    assert.equal(mergedText({ base: lines('a'), ours: undefined, theirs: lines('a') }), undefined);
    assert.equal(mergedText({ base: undefined, ours: undefined, theirs: lines('new') }), lines('new'));
  });

  it('ends with a newline when ours does', () => {
    assert.equal(mergedText({ base: 'a\nb', ours: 'a\nb\no', theirs: 'a\nb\nt\n' }), 'a\nb\no\nt');
    assert.equal(mergedText({ base: 'a\nb', ours: 'a\nb\no\n', theirs: 'a\nb\nt' }), 'a\nb\no\nt\n');
  });

  it('keeps CRLF line endings, even against an LF side', () => {
    assert.equal(mergedText({ base: 'a\r\nb\r\n', ours: 'a\r\nb\r\no\r\n', theirs: 'a\nb\nt\n' }), 'a\r\nb\r\no\r\nt\r\n');
  });

  it('merges logs of thousands of lines quickly and exactly', () => {
    const base = Array.from({ length: 4000 }, (_, i) => `line ${i}`);
    const ours = [...base.slice(0, 1000), 'ours middle', ...base.slice(1000).filter((_, i) => i % 50 !== 0), 'ours end'];
    const theirs = [...base.filter((_, i) => i % 70 !== 1), 'theirs end'];
    const text = mergedText({ base: lines(...base), ours: lines(...ours), theirs: lines(...theirs) }) ?? '';
    const out = text.trimEnd().split('\n');
    const expected = [...base.slice(0, 1000), 'ours middle', ...base.slice(1000).filter((_, i) => i % 50 !== 0)].filter(
      (line) => !/^line \d+$/.test(line) || Number(line.slice(5)) % 70 !== 1,
    );
    assert.deepEqual(out, [...expected, 'ours end', 'theirs end']);
  });

  it('gives identical output for the same input, merged twice', () => {
    const input = { base: lines('a', 'b', 'c'), ours: lines('a', 'x', 'c', 'y'), theirs: lines('z', 'a', 'b', 'c', 'y', 'w') };
    assert.deepEqual(mergeUnion(input), mergeUnion(input));
    assert.equal(mergedText(input), lines('z', 'a', 'x', 'c', 'y', 'w'));
  });
});
