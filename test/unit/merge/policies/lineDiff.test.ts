import { strict as assert } from 'node:assert';
import { diffLines } from '../../../../src/core/merge/policies/lineDiff';

/** Length of a longest common subsequence, by the textbook table: the reference for small inputs. */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  let next = new Array<number>(b.length + 1).fill(0);
  for (let i = a.length - 1; i >= 0; i--) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = b.length - 1; j >= 0; j--) row[j] = a[i] === b[j] ? (next[j + 1] ?? 0) + 1 : Math.max(next[j] ?? 0, row[j + 1] ?? 0);
    next = row;
  }
  return next[0] ?? 0;
}

describe('diffLines', () => {
  it('handles empty and identical inputs', () => {
    assert.deepEqual(diffLines([], []), []);
    assert.deepEqual(diffLines(['a'], []), []);
    assert.deepEqual(diffLines(['a', 'b'], ['a', 'b']), [
      { aIndex: 0, bIndex: 0 },
      { aIndex: 1, bIndex: 1 },
    ]);
  });

  it('finds a longest common subsequence on thousands of generated cases', () => {
    // A fixed linear congruential generator: the same cases on every run.
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let run = 0; run < 3000; run++) {
      const letters = 1 + Math.floor(random() * 5);
      const make = (): string[] => Array.from({ length: Math.floor(random() * 14) }, () => 'abcde'.charAt(Math.floor(random() * letters)));
      const a = make();
      const b = make();
      const matches = diffLines(a, b);
      matches.forEach((m, i) => {
        assert.equal(a[m.aIndex], b[m.bIndex]);
        const previous = matches[i - 1];
        if (previous !== undefined) assert.ok(m.aIndex > previous.aIndex && m.bIndex > previous.bIndex);
      });
      assert.equal(matches.length, lcsLength(a, b), JSON.stringify({ a, b }));
    }
  });

  it('diffs two entirely different files of 5000 lines', () => {
    const a = Array.from({ length: 5000 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 5000 }, (_, i) => `b${i}`);
    assert.deepEqual(diffLines(a, b), []);
  });
});
