import { strict as assert } from 'node:assert';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openRepository, type Repository } from '../../../src/core/git/repository';
import { scratchDir } from '../../../src/core/git/scratch';
import { conflictMarkerLines, hasConflictMarkers, mergeFileText, withBaseInConflicts } from '../../../src/core/merge/mergeFile';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';

const lines = (...ls: string[]) => ls.map((l) => `${l}\n`).join('');
const labels = ['auth-rename', 'api-docs'] as const;

describe('mergeFileText (real git merge-file)', () => {
  let repo: TempRepo;
  let repository: Repository;
  /** Stores a text as a blob of the repository; returns its id. */
  const blob = async (content: string | Buffer): Promise<string> => {
    const file = path.join(repo.outside, 'blob');
    await writeFile(file, content);
    return repo.git(['hash-object', '-w', file]);
  };

  before(async () => {
    repo = await makeTempRepo();
    repository = await openRepository(repo.dir);
  });
  after(() => repo.cleanup());

  it("marks only the hunk both steps changed, labelled with the steps' names, and combines the rest", async () => {
    const base = await blob(lines('one', 'two', 'three', 'four', 'five', 'six', 'seven'));
    const ours = await blob(lines('ONE', 'two', 'three', 'four (auth-rename)', 'five', 'six', 'seven'));
    const theirs = await blob(lines('one', 'two', 'three', 'four (api-docs)', 'five', 'six', 'SEVEN'));
    const merged = await mergeFileText(repository, { base, ours, theirs }, { labels });
    assert.equal(merged.conflicts, 1);
    assert.equal(
      merged.text,
      lines(
        'ONE',
        'two',
        'three',
        '<<<<<<< auth-rename',
        'four (auth-rename)',
        '=======',
        'four (api-docs)',
        '>>>>>>> api-docs',
        'five',
        'six',
        'SEVEN',
      ),
    );
    assert.deepEqual(conflictMarkerLines(merged.text), [3]);
  });

  it('counts each conflicting hunk', async () => {
    const base = await blob(lines('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'));
    const ours = await blob(lines('A1', 'b', 'c', 'd', 'e', 'f', 'g', 'H1'));
    const theirs = await blob(lines('A2', 'b', 'c', 'd', 'e', 'f', 'g', 'H2'));
    const merged = await mergeFileText(repository, { base, ours, theirs }, { labels });
    assert.equal(merged.conflicts, 2);
    assert.deepEqual(conflictMarkerLines(merged.text), [0, 11]);
    assert.ok(merged.text.includes(lines('>>>>>>> api-docs', 'b', 'c', 'd', 'e', 'f', 'g', '<<<<<<< auth-rename')));
  });

  it('gives the combined text, without markers, when the changes do not overlap', async () => {
    const base = await blob(lines('a', 'b', 'c', 'd', 'e'));
    const ours = await blob(lines('A', 'b', 'c', 'd', 'e'));
    const theirs = await blob(lines('a', 'b', 'c', 'd', 'E'));
    const merged = await mergeFileText(repository, { base, ours, theirs }, { labels });
    assert.deepEqual(merged, { text: lines('A', 'b', 'c', 'd', 'E'), conflicts: 0 });
    assert.equal(hasConflictMarkers(merged.text), false);
  });

  it('merges two additions of one file (no base) keeping their common lines outside the markers', async () => {
    const ours = await blob(lines('same', 'from auth-rename', 'end'));
    const theirs = await blob(lines('same', 'from api-docs', 'end'));
    const merged = await mergeFileText(repository, { base: null, ours, theirs }, { labels });
    assert.equal(merged.conflicts, 1);
    assert.equal(
      merged.text,
      lines('same', '<<<<<<< auth-rename', 'from auth-rename', '=======', 'from api-docs', '>>>>>>> api-docs', 'end'),
    );
  });

  it('merges a deletion against a change as one conflict over the changed file', async () => {
    const base = await blob(lines('a', 'b'));
    const theirs = await blob(lines('a', 'B'));
    const merged = await mergeFileText(repository, { base, ours: null, theirs }, { labels });
    assert.equal(merged.conflicts, 1);
    assert.ok(hasConflictMarkers(merged.text));
  });

  it('keeps CRLF line endings byte for byte', async () => {
    const base = await blob('a\r\nb\r\nc\r\n');
    const ours = await blob('a\r\nB1\r\nc\r\n');
    const theirs = await blob('a\r\nB2\r\nc\r\n');
    const merged = await mergeFileText(repository, { base, ours, theirs }, { labels });
    assert.ok(merged.text.startsWith('a\r\n<<<<<<< auth-rename'), JSON.stringify(merged.text));
    assert.ok(merged.text.includes('B1\r\n') && merged.text.includes('B2\r\n') && merged.text.endsWith('c\r\n'));
  });

  it("ignores the repository's merge.conflictStyle; diff3 on request, whose base lines withBaseInConflicts puts back", async () => {
    repo.git(['config', 'merge.conflictStyle', 'diff3']);
    try {
      const base = await blob(lines('x', 'y', 'old', 'z', 'w', 'q'));
      const ours = await blob(lines('X', 'y', 'ours', 'z', 'w', 'q'));
      const theirs = await blob(lines('x', 'y', 'theirs', 'z', 'w', 'Q'));
      const plain = await mergeFileText(repository, { base, ours, theirs }, { labels });
      assert.equal(plain.text.includes('|||||||'), false, plain.text);
      const diff3 = await mergeFileText(repository, { base, ours, theirs }, { labels, diff3: true });
      assert.ok(diff3.text.includes('||||||| base\nold\n'), diff3.text);
      assert.equal(withBaseInConflicts(diff3.text), lines('X', 'y', 'old', 'z', 'w', 'Q'));
    } finally {
      repo.git(['config', '--unset', 'merge.conflictStyle']);
    }
  });

  it('leaves nothing in the scratch folder', async () => {
    const base = await blob('1\n');
    await mergeFileText(repository, { base, ours: base, theirs: base }, { labels });
    const left = (await readdir(scratchDir(repository)).catch(() => [] as string[])).filter((f) => f.startsWith('merge-file'));
    assert.deepEqual(left, []);
  });

  it('stops when aborted', async () => {
    const base = await blob('1\n');
    const controller = new AbortController();
    controller.abort(new Error('stopped by the test'));
    await assert.rejects(
      mergeFileText(repository, { base, ours: base, theirs: base }, { labels, signal: controller.signal }),
      /stopped by the test/,
    );
  });
});

describe('hasConflictMarkers', () => {
  it('sees an opening or closing marker line, with or without a label, LF or CRLF', () => {
    assert.equal(hasConflictMarkers('a\n<<<<<<< step\nb\n'), true);
    assert.equal(hasConflictMarkers('a\r\n>>>>>>>\r\n'), true);
    assert.equal(hasConflictMarkers('<<<<<<<\n'), true);
  });

  it('does not take a Markdown underline, a longer run of <, or a marker inside a line for one', () => {
    assert.equal(hasConflictMarkers('Title\n=======\n'), false);
    assert.equal(hasConflictMarkers('<<<<<<<< eight\n'), false);
    assert.equal(hasConflictMarkers('x <<<<<<< y\n'), false);
  });
});

describe('withBaseInConflicts', () => {
  it('puts back the base part of every conflict', () => {
    const text = lines(
      'a',
      '<<<<<<< s1',
      'o',
      '||||||| base',
      'b1',
      'b2',
      '=======',
      't',
      '>>>>>>> s2',
      'c',
      '<<<<<<< s1',
      '||||||| base',
      'x',
      '=======',
      '>>>>>>> s2',
    );
    assert.equal(withBaseInConflicts(text), lines('a', 'b1', 'b2', 'c', 'x'));
  });

  it('is undefined for markers without a base part, or an unclosed conflict', () => {
    assert.equal(withBaseInConflicts(lines('<<<<<<< s1', 'o', '=======', 't', '>>>>>>> s2')), undefined);
    assert.equal(withBaseInConflicts(lines('<<<<<<< s1', 'o', '||||||| base', 'b')), undefined);
  });

  it('returns a text without conflicts unchanged', () => {
    assert.equal(withBaseInConflicts('a\nb'), 'a\nb');
  });
});
