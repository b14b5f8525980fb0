import { strict as assert } from 'node:assert';
import { parseMergeTree } from '../../../src/core/merge/mergeTree';

const Z = '\0';
const oid = (c: string) => c.repeat(40);

describe('aggregate: parsing git merge-tree output', () => {
  it('ties the three paths of a rename/rename conflict together, and reads binary and content types', () => {
    // The shape `git merge-tree --write-tree -z` prints (git 2.39): tree, conflicted stages, then messages.
    const out = [
      oid('t'),
      `100644 ${oid('1')} 1\tbin.dat`,
      `100644 ${oid('2')} 2\tbin.dat`,
      `100644 ${oid('3')} 3\tbin.dat`,
      `100644 ${oid('a')} 1\tf.txt`,
      `100644 ${oid('a')} 2\tg.txt`,
      `100644 ${oid('a')} 3\th.txt`,
      '',
      '1',
      'bin.dat',
      'CONFLICT (binary)',
      'warning: Cannot merge binary files: bin.dat (A vs. B)',
      '1',
      'bin.dat',
      'CONFLICT (contents)',
      'CONFLICT (content): Merge conflict in bin.dat',
      '3',
      'f.txt',
      'g.txt',
      'h.txt',
      'CONFLICT (rename/rename)',
      'CONFLICT (rename/rename): f.txt renamed to g.txt in A and to h.txt in B.',
      '',
    ].join(Z);
    const { tree, conflicts } = parseMergeTree(out);
    assert.equal(tree, oid('t'));
    assert.deepEqual([...conflicts.keys()], ['bin.dat', 'f.txt', 'g.txt', 'h.txt']);
    assert.deepEqual(conflicts.get('bin.dat'), {
      stages: { 1: { mode: '100644', oid: oid('1') }, 2: { mode: '100644', oid: oid('2') }, 3: { mode: '100644', oid: oid('3') } },
      types: ['CONFLICT (binary)', 'CONFLICT (contents)'],
      renameGroup: [],
    });
    for (const p of ['f.txt', 'g.txt', 'h.txt']) assert.deepEqual(conflicts.get(p)?.renameGroup, ['f.txt', 'g.txt', 'h.txt']);
  });

  it('names the paths of a rename/delete message, of which only the new one is conflicted', () => {
    const out = [
      oid('t'),
      `100644 ${oid('a')} 1\tg.txt`,
      `100644 ${oid('a')} 2\tg.txt`,
      '',
      '2',
      'g.txt',
      'f.txt',
      'CONFLICT (rename/delete)',
      'f.txt renamed to g.txt in A, but deleted in B.',
      '',
    ].join(Z);
    const { conflicts } = parseMergeTree(out);
    assert.deepEqual([...conflicts.keys()], ['g.txt']);
    assert.deepEqual(conflicts.get('g.txt')?.types, ['CONFLICT (rename/delete)']);
    assert.deepEqual(conflicts.get('g.txt')?.renameGroup, ['f.txt', 'g.txt']);
  });
});
