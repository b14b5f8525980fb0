import { strict as assert } from 'node:assert';
import { ProgressThrottle } from '../../../src/core/process/progressThrottle';
import type { Progress } from '../../../src/core/process/stepLog';

describe('progress throttle', () => {
  it('passes the first update, holds a burst back, and flushes the last one', () => {
    let clock = 1_000;
    const seen: Progress[] = [];
    const throttle = new ProgressThrottle(
      (p) => seen.push(p),
      100,
      () => clock,
    );
    for (let i = 0; i < 1000; i++) throttle.push({ percent: i % 100, message: `line ${i}` });
    assert.deepEqual(seen, [{ percent: 0, message: 'line 0' }]);
    throttle.flush();
    assert.deepEqual(seen.at(-1), { percent: 99, message: 'line 999' });
    assert.equal(seen.length, 2);
    clock += 150;
    throttle.push({ percent: 5, message: 'later' });
    assert.deepEqual(seen.at(-1), { percent: 5, message: 'later' }, 'an update after the interval passes at once');
    throttle.flush();
    assert.equal(seen.length, 3, 'nothing held back: flush delivers nothing more');
  });
});
