/** A line common to both sequences: `a[aIndex]` equals `b[bIndex]`. */
export interface LineMatch {
  readonly aIndex: number;
  readonly bIndex: number;
}

/**
 * The lines common to `a` and `b` in a longest common subsequence, in order: a minimal line
 * diff. Myers' O((N+M)·D) algorithm in its linear-space form (divide and conquer on the middle
 * snake), after trimming the common prefix and suffix; memory stays O(N+M) whatever the inputs,
 * and time stays small while the sides are similar. Files of a few thousand lines that differ
 * everywhere (D near N+M) cost some tens of millions of steps, which is the practical limit.
 * Deterministic: equal inputs give equal matches.
 */
export function diffLines(a: readonly string[], b: readonly string[]): LineMatch[] {
  // Comparing small integers is much cheaper than comparing strings in the inner loops.
  const ids = new Map<string, number>();
  const intern = (lines: readonly string[]): Int32Array => {
    const out = new Int32Array(lines.length);
    lines.forEach((line, i) => {
      let id = ids.get(line);
      if (id === undefined) ids.set(line, (id = ids.size));
      out[i] = id;
    });
    return out;
  };
  const matches: LineMatch[] = [];
  diffRange(intern(a), 0, a.length, intern(b), 0, b.length, matches);
  return matches;
}

function diffRange(a: Int32Array, aLo: number, aHi: number, b: Int32Array, bLo: number, bHi: number, out: LineMatch[]): void {
  let prefix = 0;
  while (aLo + prefix < aHi && bLo + prefix < bHi && a[aLo + prefix] === b[bLo + prefix]) prefix++;
  for (let i = 0; i < prefix; i++) out.push({ aIndex: aLo + i, bIndex: bLo + i });
  aLo += prefix;
  bLo += prefix;
  let suffix = 0;
  while (aLo < aHi - suffix && bLo < bHi - suffix && a[aHi - 1 - suffix] === b[bHi - 1 - suffix]) suffix++;
  // Once trimmed, two non-empty ranges differ by at least two edits, so the split point found
  // below lies strictly inside and each recursive call is smaller.
  if (aLo < aHi - suffix && bLo < bHi - suffix) {
    const [x, y] = splitPoint(a, aLo, aHi - suffix, b, bLo, bHi - suffix);
    diffRange(a, aLo, aLo + x, b, bLo, bLo + y, out);
    diffRange(a, aLo + x, aHi - suffix, b, bLo + y, bHi - suffix, out);
  }
  for (let i = suffix; i > 0; i--) out.push({ aIndex: aHi - i, bIndex: bHi - i });
}

/**
 * A point (x, y), relative to the range starts, on a shortest edit path: Myers' middle snake,
 * searched from both ends at once. The structure follows diff-match-patch's `diff_bisect`.
 */
function splitPoint(a: Int32Array, aLo: number, aHi: number, b: Int32Array, bLo: number, bHi: number): [number, number] {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const maxD = Math.ceil((n + m) / 2);
  const offset = maxD + 1;
  const size = 2 * maxD + 3;
  // forward[k]: furthest x on diagonal k = x - y from the start; backward[k]: the same from the
  // end, measured backwards. -1 marks a diagonal not reached yet.
  const forward = new Int32Array(size).fill(-1);
  const backward = new Int32Array(size).fill(-1);
  forward[offset + 1] = 0;
  backward[offset + 1] = 0;
  const delta = n - m;
  // With an odd delta the paths meet while extending forward, with an even one backward.
  const front = delta % 2 !== 0;
  let kStartF = 0,
    kEndF = 0,
    kStartB = 0,
    kEndB = 0;
  for (let d = 0; d < maxD + 1; d++) {
    for (let k = -d + kStartF; k <= d - kEndF; k += 2) {
      const i = offset + k;
      let x = k === -d || (k !== d && forward[i - 1] < forward[i + 1]) ? forward[i + 1] : forward[i - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x++;
        y++;
      }
      forward[i] = x;
      if (x > n) kEndF += 2;
      else if (y > m) kStartF += 2;
      else if (front) {
        const j = offset + delta - k;
        if (j >= 0 && j < size && backward[j] !== -1 && x >= n - backward[j]) return [x, y];
      }
    }
    for (let k = -d + kStartB; k <= d - kEndB; k += 2) {
      const i = offset + k;
      let x = k === -d || (k !== d && backward[i - 1] < backward[i + 1]) ? backward[i + 1] : backward[i - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[aHi - 1 - x] === b[bHi - 1 - y]) {
        x++;
        y++;
      }
      backward[i] = x;
      if (x > n) kEndB += 2;
      else if (y > m) kStartB += 2;
      else if (!front) {
        const j = offset + delta - k;
        if (j >= 0 && j < size && forward[j] !== -1) {
          const fx = forward[j];
          if (fx >= n - x) return [fx, fx - (j - offset)];
        }
      }
    }
  }
  // Unreachable: the two searches always meet by d = ceil((n + m) / 2).
  throw new Error(`diffLines: no middle snake for ranges of ${n} and ${m} lines`);
}
