import { strict as assert } from 'node:assert';
import { formatDuration, listed, plural } from '../../../src/core/util/words';

describe('words', () => {
  it('puts a count with its noun in the right number', () => {
    assert.equal(plural(0, 'conflict'), '0 conflicts');
    assert.equal(plural(1, 'conflict'), '1 conflict');
    assert.equal(plural(2, 'step'), '2 steps');
    assert.equal(plural(3, 'write', 'writes'), '3 writes');
    assert.equal(plural(1, 'worktree is', 'worktrees are'), '1 worktree is');
  });

  it('lists names as a sentence does', () => {
    assert.equal(listed([]), '');
    assert.equal(listed(['a']), 'a');
    assert.equal(listed(['a', 'b']), 'a and b');
    assert.equal(listed(['a', 'b', 'c']), 'a, b and c');
  });

  it('gives durations as a person reads them', () => {
    assert.equal(formatDuration(400), '0.4s');
    assert.equal(formatDuration(12_340), '12.3s');
    assert.equal(formatDuration(125_000), '2m 05s');
    assert.equal(formatDuration(3_720_000), '1h 02m');
    assert.equal(formatDuration(-5), '0.0s');
  });
});
