import { strict as assert } from 'node:assert';
import { conflictLine, jsonKeyLine, markdownHeadingLine, parseJsonPath } from '../../../src/core/merge/conflictLocation';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

describe('parseJsonPath', () => {
  it('reads the key paths the json policy writes', () => {
    assert.deepEqual(parseJsonPath('$'), []);
    assert.deepEqual(parseJsonPath('$.scripts.test'), ['scripts', 'test']);
    assert.deepEqual(parseJsonPath('$["a-b"].c["d\\"e"]'), ['a-b', 'c', 'd"e']);
    assert.deepEqual(parseJsonPath('$.deps["@types/node"]'), ['deps', '@types/node']);
  });

  it('is undefined for anything else', () => {
    for (const bad of ['scripts.test', '$.', '$..a', '$[0]', '$["open]', '$.a b']) assert.equal(parseJsonPath(bad), undefined, bad);
  });
});

describe('jsonKeyLine', () => {
  const text = json({ name: 'x', scripts: { build: 'tsc', test: 'mocha' }, other: { test: 1 }, 'a-b': { c: [1, { test: 2 }] } });

  it('finds a nested key at its own path, not a key of the same name elsewhere', () => {
    const at = (keys: string[]) => text.split('\n')[jsonKeyLine(text, keys)]?.trim();
    assert.equal(at(['scripts', 'test']), '"test": "mocha"');
    assert.equal(at(['other', 'test']), '"test": 1');
    assert.equal(at(['a-b', 'c']), '"c": [');
    assert.equal(jsonKeyLine(text, []), 0);
  });

  it('falls back to the deepest parent found when the key is missing from this version', () => {
    assert.equal(jsonKeyLine(text, ['scripts', 'lint']), 2);
    assert.equal(jsonKeyLine(text, ['nowhere', 'x']), 0);
  });

  it('skips conflict marker lines and takes the first occurrence', () => {
    const merged = [
      '{',
      '  "scripts": {',
      '<<<<<<< a',
      '    "test": "mocha"',
      '=======',
      '    "test": "vitest"',
      '>>>>>>> b',
      '  }',
      '}',
      '',
    ].join('\n');
    assert.equal(jsonKeyLine(merged, ['scripts', 'test']), 3);
  });

  it('reads escaped quotes and strings that are values, not keys', () => {
    const t = '{\n  "a": "x\\"y: \\"b\\"",\n  "b": 1\n}\n';
    assert.equal(jsonKeyLine(t, ['b']), 2);
  });

  it('does not throw on text that is not JSON', () => {
    assert.equal(jsonKeyLine('"unclosed\n{ "a": 1 }\n', ['a']), 1);
    assert.equal(jsonKeyLine('}}]]', ['a']), 0);
  });
});

describe('markdownHeadingLine', () => {
  const doc = ['Intro', '', '# Title', '', '## Findings ##', 'text', '', '```', '## Not a heading', '```', '## Status', 'ok', ''].join(
    '\n',
  );

  it('finds a section by its heading as the markdown policy names it', () => {
    assert.equal(markdownHeadingLine(doc, '# Title'), 2);
    assert.equal(markdownHeadingLine(doc, '## Findings'), 4);
    assert.equal(markdownHeadingLine(doc, '## Status'), 10);
    assert.equal(markdownHeadingLine(doc, '(preamble)'), 0);
  });

  it('does not take a heading-like line in a fenced block, or a missing heading', () => {
    assert.equal(markdownHeadingLine(doc, '## Not a heading'), undefined);
    assert.equal(markdownHeadingLine(doc, '## Gone'), undefined);
  });
});

describe('conflictLine', () => {
  it('uses the location of json-key and markdown-section conflicts only', () => {
    assert.equal(conflictLine(json({ a: { b: 1 } }), { kind: 'json-key', location: '$.a.b' }), 2);
    assert.equal(conflictLine('# A\n\n## B\n', { kind: 'markdown-section', location: '## B' }), 2);
    assert.equal(conflictLine('x\n', { kind: 'content' }), undefined);
    assert.equal(conflictLine('x\n', { kind: 'json-key', location: 'not a path' }), undefined);
  });
});
