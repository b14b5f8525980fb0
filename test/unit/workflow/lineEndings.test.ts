import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadWorkflowFile, parseWorkflow, type LoadedWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { described, textAt } from './issuesOf';

/**
 * Windows editors save workflow files with CRLF line endings, often with a UTF-8 byte order mark
 * first: such a file must load as the same workflow as its LF form, and report its problems at
 * the same lines and columns.
 */

const FIXTURES = path.join(__dirname, 'fixtures', 'tapps-agents');

const BOM = '\uFEFF';
const crlf = (text: string) => text.replace(/\n/g, '\r\n');
/** The forms a Windows editor can save a file in, by name. */
const windowsForms = (text: string): [string, string][] => [
  ['CRLF', crlf(text)],
  ['BOM', BOM + text],
  ['BOM and CRLF', BOM + crlf(text)],
];

/** A workflow of its own format with every kind of scalar that spans lines, steps with needs, merge rules, checks and setup. */
const REPRESENTATIVE = `# Every kind of scalar that spans lines.
workflow:
  id: line-endings
  name: "Line endings"
  description: >
    A folded description
    over two lines.

    And a second paragraph.
  settings:
    max_parallel: 2
    timeout_seconds: 300
  merge:
    - paths: ["package.json"]
      policy: json
    - { paths: ["**/*.md", "docs/**"], policy: markdown }
  checks:
    - name: tests
      run: |
        npm ci
        npm test -- --reporter dot
      on: both
    - name: lint
      run: >-
        npx eslint
        src
  setup:
    commands:
      - npm ci
  steps:
    - id: build
      agent: shell
      run: |
        set -e
        echo "::progress:: 10 starting"
        if [ -f package.json ]; then
          npm run build
        fi

        echo done
      creates: [dist/]
    - id: docs
      agent: shell
      needs: [build]
      run: |-
        printf 'a\\tb\\n' > docs/out.md
        echo "spaces kept"   
      prompt: "a double-quoted
        string folded over
        lines, with an escaped\\
        break"
      description: plain text
        continued on the next line
      requires: [dist/]
    - id: notes
      agent: shell
      needs:
        - build
        - docs
      run: |+
        echo keep

      notes: 'single quoted
        over lines'
`;

const load = (text: string, file = 'wf.yaml'): LoadedWorkflow => parseWorkflow(text, file, { baseContains: () => false });

/** Every string in a value, however deep. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value instanceof Map) return [...value].flatMap(([k, v]) => [...stringsOf(k), ...stringsOf(v)]);
  if (value instanceof Set || Array.isArray(value)) return [...value].flatMap(stringsOf);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...stringsOf(v)]);
  return [];
}

describe('workflow files with Windows line endings (CRLF) and a byte order mark', () => {
  it('the representative workflow loads as it does with LF; its block scalars hold no "\\r"', () => {
    const lf = load(REPRESENTATIVE);
    const steps = Object.fromEntries(lf.workflow.steps.map((s) => [s.id, s]));
    // The LF form as the YAML says it is, so that an equal CRLF form is right too.
    assert.equal(
      steps.build.run,
      'set -e\necho "::progress:: 10 starting"\nif [ -f package.json ]; then\n  npm run build\nfi\n\necho done\n',
    );
    assert.equal(steps.docs.run, 'printf \'a\\tb\\n\' > docs/out.md\necho "spaces kept"   ');
    assert.equal(steps.docs.prompt, 'a double-quoted string folded over lines, with an escapedbreak');
    assert.equal(steps.docs.description, 'plain text continued on the next line');
    assert.equal(steps.notes.run, 'echo keep\n\n');
    assert.equal(steps.notes.notes, 'single quoted over lines');
    assert.equal(lf.workflow.description, 'A folded description over two lines.\nAnd a second paragraph.\n');
    assert.deepEqual(
      lf.workflow.checks.map((c) => c.run),
      ['npm ci\nnpm test -- --reporter dot\n', 'npx eslint src'],
    );
    for (const [form, text] of windowsForms(REPRESENTATIVE)) {
      const loaded = load(text);
      assert.deepEqual(loaded, lf, form);
      const withCr = stringsOf(loaded).filter((s) => /[\r\uFEFF]/.test(s));
      assert.deepEqual(withCr, [], `${form}: no "\\r" or byte order mark in any text of the workflow`);
    }
  });

  it('every TappsCodingAgents fixture loads as it does with LF, warnings at the same lines and columns', () => {
    const names = readdirSync(FIXTURES).filter((n) => n.endsWith('.yaml'));
    assert.ok(names.length >= 5);
    for (const name of names) {
      const text = readFileSync(path.join(FIXTURES, name), 'utf8');
      assert.ok(!text.includes('\r'), `${name} is an LF file`);
      const lf = load(text, name);
      for (const [form, windows] of windowsForms(text)) {
        const loaded = load(windows, name);
        assert.deepEqual(loaded, lf, `${name}, ${form}`);
        assert.deepEqual(
          stringsOf(loaded).filter((s) => /[\r\uFEFF]/.test(s)),
          [],
          `${name}, ${form}: no "\\r" or byte order mark in any text`,
        );
      }
    }
  });

  it('a file on disk saved with a byte order mark and CRLF loads as the LF file does', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tapps-crlf-'));
    try {
      const lfFile = path.join(dir, 'lf.yaml');
      const windowsFile = path.join(dir, 'windows.yaml');
      writeFileSync(lfFile, REPRESENTATIVE);
      writeFileSync(windowsFile, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(crlf(REPRESENTATIVE))]));
      const lf = await loadWorkflowFile(lfFile, { baseContains: () => false });
      const windows = await loadWorkflowFile(windowsFile, { baseContains: () => false });
      assert.deepEqual({ ...windows, file: lfFile }, lf);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('an invalid file reports the same lines and columns as with LF', () => {
    const step = (lines: string) => `workflow:\n  id: w\n  steps:\n    - id: a\n      agent: shell\n${lines}`;
    const cases: [string, string, string[]][] = [
      [
        'a colon in a plain value (a YAML syntax error)',
        step('      run: |\n        echo one\n      prompt: Fix this: now\n'),
        ['8:15 invalid YAML: Nested mappings are not allowed in compact mappings'],
      ],
      ['an unclosed quote', step('      run: "echo\n'), ['7:1 invalid YAML: Missing closing "quote']],
      [
        'a block scalar indented less than its first line',
        step('      run: |\n        echo a\n       bad\n'),
        [
          '8:1 invalid YAML: All mapping items must start at the same column',
          '8:8 invalid YAML: Implicit map keys need to be followed by map values',
        ],
      ],
      [
        'a duplicate key',
        'workflow:\n  id: w\n  id: v\n  steps:\n    - id: a\n      agent: shell\n      run: echo\n',
        ['3:3 duplicate key "id": it is already defined at line 2, column 3; expected each key once in a mapping'],
      ],
      [
        'a value of the wrong type after a multi-line string',
        step('      prompt: "x\n        y"\n      run: 5\n'),
        ['8:12 workflow.steps[0].run: expected a text value, got the number 5'],
      ],
      [
        'an unknown step in needs',
        step('      run: echo\n      needs: [zzz]\n'),
        ['7:15 step "a": unknown step "zzz"; expected one of: a'],
      ],
      [
        'a merge policy and a needs in the representative workflow',
        REPRESENTATIVE.replace('policy: json', 'policy: jsn').replace('needs: [build]', 'needs: [buil]'),
        ['15:15 workflow.merge[0].policy: expected one of', '44:15 step "docs": unknown step "buil" (did you mean "build"?)'],
      ],
      // On the first line, a byte order mark must not count as a column (editors do not show it).
      ['a wrong value on the first line', 'workflow: 5\n', ['1:11 workflow: expected a mapping, got the number 5']],
      [
        'a problem on the first line, in a flow mapping',
        'workflow: {id: w, steps: [{id: a, agent: shell, run: echo, needs: [q]}]}\n',
        ['1:68 step "a": unknown step "q"'],
      ],
      [
        'a duplicate key on the first line',
        'workflow: {id: w, id: v, steps: [{id: a, agent: shell, run: echo}]}\n',
        ['1:19 duplicate key "id": it is already defined at line 1, column 12'],
      ],
      ['a colon in a plain value on the first line', 'workflow: a: b\n', ['1:11 invalid YAML: Nested mappings are not allowed']],
    ];
    for (const [name, text, expected] of cases) {
      it(name, () => {
        const lf = described(text);
        assert.equal(lf.length, expected.length, lf.join('\n'));
        lf.forEach((issue, i) => assert.ok(issue.startsWith(expected[i]), `LF: ${issue}\nexpected it to start with: ${expected[i]}`));
        for (const [form, windows] of windowsForms(text)) {
          assert.deepEqual(described(windows), lf, form);
          // The position is of the same token in the file as the editor shows it (the mark is not shown).
          for (const issue of lf) {
            const [line, column] = issue.split(' ')[0].split(':').map(Number);
            assert.equal(textAt(windows.replace(/^\uFEFF/, ''), line, column), textAt(text, line, column), `${form}: ${issue}`);
          }
        }
      });
    }
  });

  it('a warning on the first line is at the same column with a byte order mark', () => {
    const text = 'workflow: {id: w, steps: [{id: a, agent: shell, run: echo, bogus: 1}]}\n';
    const warnings = (t: string) => load(t).warnings.map((w) => `${w.line}:${w.column} ${w.message}`);
    assert.deepEqual(warnings(text), ['1:60 step "a": key "bogus" is not used by Tapps Flow; it is kept as it is']);
    for (const [form, windows] of windowsForms(text)) assert.deepEqual(warnings(windows), warnings(text), form);
  });
});
