import { strict as assert } from 'node:assert';
import { mergeMarkdown } from '../../../../src/core/merge/policies/markdownMerge';
import { parseSections } from '../../../../src/core/merge/policies/markdownSections';
import type { PolicyMergeResult, ThreeWayInput } from '../../../../src/core/merge/policies/types';

function mergedText(input: ThreeWayInput): string | undefined {
  const result = mergeMarkdown(input);
  assert.equal(result.status, 'merged', JSON.stringify(result));
  return result.status === 'merged' ? result.content : undefined;
}

function conflictsOf(result: PolicyMergeResult): readonly { kind: string; location?: string }[] {
  assert.equal(result.status, 'conflict', JSON.stringify(result));
  return result.status === 'conflict' ? result.conflicts.map(({ kind, location }) => ({ kind, location })) : [];
}

/** A document from sections, each separated by a blank line, with a final newline. */
const doc = (...sections: string[]): string => `${sections.join('\n\n')}\n`;

const base = doc('# Report', '## Summary\n\nAll good.', '## Findings\n\n- none');

describe('mergeMarkdown', () => {
  it('keeps sections added by both sides, ours first, then theirs (step order)', () => {
    const ours = doc('# Report', '## Summary\n\nAll good.', '## Security\n\nfine', '## Findings\n\n- none');
    const theirs = doc('# Report', '## Summary\n\nAll good.', '## Performance\n\nslow', '## Findings\n\n- none');
    assert.equal(
      mergedText({ base, ours, theirs }),
      doc('# Report', '## Summary\n\nAll good.', '## Security\n\nfine', '## Performance\n\nslow', '## Findings\n\n- none'),
    );
  });

  it('appends sections both sides added at the end, in step order', () => {
    const ours = doc(base.trimEnd(), '## A\n\na');
    const theirs = doc(base.trimEnd(), '## B\n\nb', '## C\n\nc');
    assert.equal(mergedText({ base, ours, theirs }), doc(base.trimEnd(), '## A\n\na', '## B\n\nb', '## C\n\nc'));
  });

  it('puts a section theirs added after a section ours deleted at the end', () => {
    const ours = doc('# Report', '## Findings\n\n- none');
    const theirs = doc('# Report', '## Summary\n\nAll good.', '## Extra\n\nx', '## Findings\n\n- none');
    assert.equal(mergedText({ base, ours, theirs }), doc('# Report', '## Findings\n\n- none', '## Extra\n\nx'));
  });

  it('reports a section edited two different ways at its heading line', () => {
    const result = mergeMarkdown({
      base,
      ours: doc('# Report', '## Summary\n\nAll good.', '## Findings\n\n- bug A'),
      theirs: doc('# Report', '## Summary\n\nAll good.', '## Findings\n\n- bug B'),
    });
    assert.deepEqual(conflictsOf(result), [{ kind: 'markdown-section', location: '## Findings' }]);
  });

  it('reports the preamble edited two different ways as (preamble)', () => {
    const result = mergeMarkdown({ base: `intro\n${base}`, ours: `intro 1\n${base}`, theirs: `intro 2\n${base}` });
    assert.deepEqual(conflictsOf(result), [{ kind: 'markdown-section', location: '(preamble)' }]);
  });

  it('combines edits of different sections and accepts identical edits', () => {
    const ours = doc('# Report', '## Summary\n\nMostly good.', '## Findings\n\n- bug A');
    const theirs = doc('# Report v2', '## Summary\n\nAll good.', '## Findings\n\n- bug A');
    assert.equal(mergedText({ base, ours, theirs }), doc('# Report v2', '## Summary\n\nMostly good.', '## Findings\n\n- bug A'));
  });

  it('deletes a section deleted on one side and unchanged on the other', () => {
    const ours = doc('# Report', '## Findings\n\n- none');
    const theirs = doc('# Report', '## Summary\n\nAll good.', '## Findings\n\n- bug');
    assert.equal(mergedText({ base, ours, theirs }), doc('# Report', '## Findings\n\n- bug'));
  });

  it('reports a section deleted on one side and edited on the other', () => {
    const result = mergeMarkdown({
      base,
      ours: doc('# Report', '## Findings\n\n- none'),
      theirs: doc('# Report', '## Summary\n\nBad.', '## Findings\n\n- none'),
    });
    assert.deepEqual(conflictsOf(result), [{ kind: 'markdown-section', location: '## Summary' }]);
  });

  it('reports one heading added by both sides with different text, keeps it once when equal', () => {
    const result = mergeMarkdown({ base, ours: doc(base.trimEnd(), '## New\n\none'), theirs: doc(base.trimEnd(), '## New\n\ntwo') });
    assert.deepEqual(conflictsOf(result), [{ kind: 'markdown-section', location: '## New' }]);
    const same = doc(base.trimEnd(), '## New\n\nsame');
    assert.equal(
      mergedText({ base, ours: same, theirs: doc('# Report', '## Summary\n\nAll good.', '## Findings\n\n- x', '## New\n\nsame') }),
      doc('# Report', '## Summary\n\nAll good.', '## Findings\n\n- x', '## New\n\nsame'),
    );
  });

  it('does not start sections at headings inside fenced code blocks', () => {
    const code = (line: string, tilde: string): string => `## Setup\n\n\`\`\`sh\n${line}\n\`\`\`\n\n~~~\n${tilde}\n~~~`;
    const b = doc('# Guide', code('# install', '# keep'));
    // Were `# install` or `# keep` headings, these edits would fall in different sections and merge.
    const result = mergeMarkdown({
      base: b,
      ours: doc('# Guide', code('# install it', '# keep')),
      theirs: doc('# Guide', code('# install', '# keep it')),
    });
    assert.deepEqual(conflictsOf(result), [{ kind: 'markdown-section', location: '## Setup' }]);
    assert.deepEqual(
      parseSections(b.split('\n')).map((s) => s.heading),
      ['', '# Guide', '## Setup'],
    );
  });

  it('does not see a conflict in blank lines alone, and keeps sections separated', () => {
    const b = '# Log\n\n## One\n\nfirst';
    const ours = '# Log\n\n## One\n\nfirst\n\n## Two\n\nsecond\n';
    const theirs = '# Log\n\n## One\n\nfirst, edited\n\n\n';
    assert.equal(mergedText({ base: b, ours, theirs }), '# Log\n\n## One\n\nfirst, edited\n\n## Two\n\nsecond\n');
  });

  it('keeps tight documents tight', () => {
    const b = '# T\n## A\na\n## B\nb\n';
    assert.equal(
      mergedText({ base: b, ours: '# T\n## A\na2\n## B\nb\n', theirs: '# T\n## A\na\n## B\nb\n## C\nc\n' }),
      '# T\n## A\na2\n## B\nb\n## C\nc\n',
    );
  });

  it('tells repeated headings apart by occurrence', () => {
    const b = doc('## Note\n\none', '## Note\n\ntwo');
    assert.equal(
      mergedText({ base: b, ours: doc('## Note\n\nONE', '## Note\n\ntwo'), theirs: doc('## Note\n\none', '## Note\n\nTWO') }),
      doc('## Note\n\nONE', '## Note\n\nTWO'),
    );
  });

  it("ignores closing #s and trailing spaces in a heading's identity", () => {
    const result = mergeMarkdown({ base: '## Findings ##\nx\n', ours: '## Findings ##  \ny\n', theirs: '## Findings\nz\n' });
    assert.deepEqual(conflictsOf(result), [{ kind: 'markdown-section', location: '## Findings' }]);
  });

  it('keeps CRLF line endings', () => {
    const crlf = (text: string): string => text.replace(/\n/g, '\r\n');
    const ours = doc(base.trimEnd(), '## A\n\na');
    const theirs = doc('# Report', '## Summary\n\nAll good!', '## Findings\n\n- none');
    assert.equal(
      mergedText({ base: crlf(base), ours: crlf(ours), theirs: crlf(theirs) }),
      crlf(doc('# Report', '## Summary\n\nAll good!', '## Findings\n\n- none', '## A\n\na')),
    );
  });

  it('handles whole-file deletion and addition', () => {
    assert.equal(mergedText({ base, ours: undefined, theirs: base }), undefined);
    assert.deepEqual(mergeMarkdown({ base, ours: undefined, theirs: `${base}more\n` }), {
      status: 'conflict',
      conflicts: [{ kind: 'content', detail: 'deleted by one side, modified by the other' }],
    });
    assert.equal(
      mergedText({ base: undefined, ours: '# R\n\n## A\n\na\n', theirs: '# R\n\n## B\n\nb\n' }),
      '# R\n\n## A\n\na\n\n## B\n\nb\n',
    );
  });

  it('gives identical output for the same input, merged twice', () => {
    const input = {
      base,
      ours: doc(base.trimEnd(), '## A\n\na'),
      theirs: doc('# Report', '## B\n\nb', '## Summary\n\nAll good.', '## Findings\n\n- none'),
    };
    const first = mergeMarkdown(input);
    assert.deepEqual(mergeMarkdown(input), first);
    assert.equal(mergedText(input), doc('# Report', '## B\n\nb', '## Summary\n\nAll good.', '## Findings\n\n- none', '## A\n\na'));
  });
});
