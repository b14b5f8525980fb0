/**
 * The smallest set of steps whose results, folded together over the base, still fail a check:
 * delta debugging over the fold order. `fails(subset)` folds the subset (in fold order) and runs
 * the check; it is only ever asked about subsets in fold order, and the caller caches by tree.
 *
 * Known going in: the base passes (asked first, as `fails([])`) and the whole set fails. Each round
 * finds, by bisection over the prefixes of the candidates left, the first step whose addition
 * makes the fold fail; that step is one of the culprits, and only the steps before it can be the
 * others. A round ends when the culprits found fail on their own. With one culprit among n steps
 * this costs 1 (the base) + ⌈log2 n⌉ (the bisection) + 1 (the culprit alone) check runs, one fewer
 * when the culprit is the first step; prefixes of the first round are folds the aggregate's fold
 * made already.
 */
export type CulpritSearch =
  | { readonly kind: 'found'; readonly steps: readonly string[] }
  /** The check fails on the base itself: no step is to blame. */
  | { readonly kind: 'base-fails' }
  /** The check passed on the whole set when asked again (a flaky check): nothing can be named. */
  | { readonly kind: 'not-reproduced' };

export async function findCulprits(
  order: readonly string[],
  fails: (subset: readonly string[]) => Promise<boolean>,
): Promise<CulpritSearch> {
  if (await fails([])) return { kind: 'base-fails' };
  const culprits: string[] = [];
  let candidates = [...order];
  // Whether `culprits` with the first k candidates fails; by the invariant, k = candidates.length does.
  const failsWith = (k: number) => fails(inOrder(order, [...culprits, ...candidates.slice(0, k)]));
  // The whole set failed the aggregate's own check (the caller's cache answers this at no cost).
  if (!(await fails([...order]))) return { kind: 'not-reproduced' };
  for (;;) {
    let passing = 0;
    let failing = candidates.length;
    while (failing - passing > 1) {
      const mid = Math.floor((passing + failing) / 2);
      if (await failsWith(mid)) failing = mid;
      else passing = mid;
    }
    culprits.push(candidates[failing - 1]);
    candidates = candidates.slice(0, failing - 1);
    if (candidates.length === 0 || (await fails(inOrder(order, culprits)))) return { kind: 'found', steps: inOrder(order, culprits) };
  }
}

/** `subset` sorted in the fold order. */
export function inOrder(order: readonly string[], subset: readonly string[]): string[] {
  const set = new Set(subset);
  return order.filter((s) => set.has(s));
}
