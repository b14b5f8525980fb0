import { strict as assert } from 'node:assert';
import { containsFromFileList } from '../../../src/core/workflow/graph';

describe('containsFromFileList', () => {
  it('answers for files and for the folders holding them, with or without a trailing slash', () => {
    const contains = containsFromFileList('src/a/b.ts\0README.md\0');
    for (const p of ['src/a/b.ts', 'README.md', 'src/', 'src', 'src/a/', 'src/a']) assert.ok(contains(p), p);
    for (const p of ['src/a/b', 'sr', 'src/b/', 'README']) assert.ok(!contains(p), p);
  });
});
