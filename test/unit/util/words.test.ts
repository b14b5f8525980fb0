import { strict as assert } from 'node:assert';
import { listed, plural } from '../../../src/core/util/words';

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
});
