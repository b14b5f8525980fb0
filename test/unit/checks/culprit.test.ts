import { strict as assert } from 'node:assert';
import { findCulprits } from '../../../src/core/checks/culprit';
import { Prng } from '../helpers/prng';

/** A check that fails when every step of one of `sets` is folded in (and, with `base`, always). */
function check(sets: ReadonlyArray<readonly string[]>, base = false) {
  const asked: string[][] = [];
  const fails = (subset: readonly string[]) => {
    asked.push([...subset]);
    return Promise.resolve(base || sets.some((set) => set.every((s) => subset.includes(s))));
  };
  return { fails, asked };
}

const steps = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);

describe('checks: the culprit search (delta debugging over the fold order)', () => {
  it('finds one culprit among 8 with the base, ⌈log2 8⌉ bisections and one confirmation, asking only about prefixes first', async () => {
    for (const culprit of steps(8)) {
      const { fails, asked } = check([[culprit]]);
      const found = await findCulprits(steps(8), fails);
      assert.deepEqual(found, { kind: 'found', steps: [culprit] });
      // The base and the whole set (known to the caller: its cache answers without a run) are asked too.
      const runs = asked.filter((a) => a.length !== 8).length;
      assert.ok(runs <= 1 + 3 + 1, `${culprit}: ${runs} runs`);
    }
  });

  it('finds a pair that fails only together, and a triple, the smallest set each time', async () => {
    assert.deepEqual(await findCulprits(steps(8), check([['s3', 's6']]).fails), { kind: 'found', steps: ['s3', 's6'] });
    assert.deepEqual(await findCulprits(steps(8), check([['s1', 's2', 's8']]).fails), { kind: 'found', steps: ['s1', 's2', 's8'] });
    // Two independent culprits: the search names one minimal set (the one the fold order meets first).
    assert.deepEqual(await findCulprits(steps(8), check([['s7'], ['s2', 's4']]).fails), { kind: 'found', steps: ['s2', 's4'] });
  });

  it('says when the base itself fails, and when the whole set passes when asked again', async () => {
    assert.deepEqual(await findCulprits(steps(4), check([], true).fails), { kind: 'base-fails' });
    assert.deepEqual(await findCulprits(steps(4), check([]).fails), { kind: 'not-reproduced' });
  });

  it('every set it names fails, and no step can be left out of it (random interactions, 300 cases)', async () => {
    const prng = new Prng(20261202);
    const random = () => prng.next();
    for (let c = 0; c < 300; c++) {
      const n = 1 + Math.floor(random() * 8);
      const all = steps(n);
      const sets = Array.from({ length: 1 + Math.floor(random() * 3) }, () => all.filter(() => random() < 0.35)).filter(
        (s) => s.length > 0,
      );
      if (sets.length === 0) continue;
      const { fails } = check(sets);
      const found = await findCulprits(all, fails);
      assert.equal(found.kind, 'found');
      if (found.kind !== 'found') continue;
      assert.ok(await fails(found.steps), `${found.steps.join(',')} must fail`);
      for (const s of found.steps)
        assert.ok(!(await fails(found.steps.filter((x) => x !== s))), `${s} is needed in ${found.steps.join(',')}`);
    }
  });
});
