import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WorkflowError } from '../../../src/core/util/errors';
import { MAX_ALIAS_COUNT, MAX_WORKFLOW_BYTES, MAX_YAML_NESTING } from '../../../src/core/workflow/limits';
import { loadWorkflowFile, parseWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { described, issuesOf, shellStep, textAt, workflowDoc } from './issuesOf';

/** A "billion laughs" document: each level aliases the previous one ten times. */
function aliasBomb(levels: number): string {
  const lines = ['workflow:', '  id: w', '  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < levels; i++) lines.push(`  l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n${shellStep('a').replace(/^ {4}/, '  steps:\n    ')}`;
}

describe('workflow files: YAML that attacks the parser', () => {
  it('rejects an alias bomb at the alias where expansion stops, instead of crashing', () => {
    const text = aliasBomb(9);
    const started = performance.now();
    const issues = issuesOf(text);
    assert.ok(performance.now() - started < 5000, 'the bomb must be stopped, not expanded');
    assert.equal(issues.length, 1, JSON.stringify(issues));
    const [issue] = issues;
    assert.match(textAt(text, issue.line, issue.column), /^\*l\d/, `${issue.line}:${issue.column} is not at an alias`);
    assert.match(
      issue.message,
      new RegExp(`^alias "\\*l\\d" repeats anchored content more than ${MAX_ALIAS_COUNT} times, counting aliases inside aliases;`),
    );
  });

  it('accepts a few aliases of an anchor, the ordinary use', () => {
    const text = [
      'workflow:',
      '  id: w',
      '  steps:',
      '    - id: a',
      '      agent: shell',
      '      run: &cmd echo hi',
      '      creates: &out [a.txt]',
      '    - id: b',
      '      agent: shell',
      '      run: *cmd',
      '      requires: *out',
      '',
    ].join('\n');
    const loaded = parseWorkflow(text, 'wf.yaml');
    assert.equal(loaded.workflow.steps[1].run, 'echo hi');
    assert.deepEqual(loaded.workflow.steps[1].requires, ['a.txt']);
  });

  it('rejects every alias to an anchor that is not defined before it, at the alias', () => {
    const text = 'workflow:\n  id: *nope\n  name: *later\n  description: &later x\n  steps: []\n';
    assert.deepEqual(described(text).slice(0, 2), [
      '2:7 alias "*nope" refers to no anchor; expected an anchor "&nope" defined earlier in the file',
      '3:9 alias "*later" refers to no anchor; expected an anchor "&later" defined earlier in the file',
    ]);
  });

  it('rejects an alias inside the node it refers to, which would make the data contain itself', () => {
    const text = 'workflow: &w\n  id: w\n  steps: [*w]\n';
    assert.deepEqual(described(text), [
      '3:11 alias "*w" refers to the mapping that contains it; expected an anchor of a value defined before the alias, outside it',
    ]);
  });

  it(`rejects nesting deeper than ${MAX_YAML_NESTING} levels quickly, flow or block`, () => {
    for (const text of ['workflow: ' + '['.repeat(500_000), 'workflow:\n  - ' + '- '.repeat(300_000) + 'x\n', '{'.repeat(200)]) {
      const started = performance.now();
      const issues = issuesOf(text);
      const ms = performance.now() - started;
      assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
      assert.equal(issues.length, 1);
      assert.match(issues[0].message, new RegExp(`^lists and mappings are nested more than ${MAX_YAML_NESTING} levels deep here;`));
      assert.equal(issues[0].line, text.startsWith('workflow:\n') ? 2 : 1);
    }
    assert.doesNotThrow(() =>
      parseWorkflow(workflowDoc(shellStep('a', '      scoring: ' + '['.repeat(40) + ']'.repeat(40) + '\n')), 'wf.yaml'),
    );
  });

  it('rejects a duplicate key at the duplicate, saying where the key was first defined', () => {
    const text = workflowDoc(shellStep('a', '      run: echo twice\n'));
    assert.deepEqual(described(text), [
      '7:7 duplicate key "run": it is already defined at line 6, column 7; expected each key once in a mapping',
    ]);
    assert.deepEqual(described('workflow:\n  id: w\n  id: v\n  steps: []\n  "id": x\n').slice(0, 2), [
      '3:3 duplicate key "id": it is already defined at line 2, column 3; expected each key once in a mapping',
      '5:3 duplicate key "id": it is already defined at line 2, column 3; expected each key once in a mapping',
    ]);
  });

  it('rejects keys that are lists, mappings, aliases or "__proto__"', () => {
    assert.deepEqual(described('workflow:\n  ? [a, b]\n  : x\n  ? {a: b}\n  : y\n  __proto__: {}\n  id: w\n  steps: []\n'), [
      '2:5 expected a text key, got a list',
      '4:5 expected a text key, got a mapping',
      '6:3 the key "__proto__" is not allowed; expected a name of your own',
    ]);
    assert.deepEqual(described('workflow:\n  id: &k w\n  *k : x\n  steps: []\n'), ['3:3 expected a text key, got the alias "*k"']);
  });

  it(`rejects a file larger than ${MAX_WORKFLOW_BYTES} bytes before parsing it, at 1:1`, async () => {
    const big = `# ${'é'.repeat(MAX_WORKFLOW_BYTES / 2)}\n${workflowDoc(shellStep('a'))}`;
    const bytes = Buffer.byteLength(big);
    const expected = [`1:1 the workflow file is ${bytes} bytes; at most ${MAX_WORKFLOW_BYTES} are allowed`];
    assert.deepEqual(described(big), expected);
    const dir = await mkdtemp(path.join(tmpdir(), 'tapps-flow-size-'));
    try {
      const file = path.join(dir, 'big.yaml');
      await writeFile(file, big);
      const error = await loadWorkflowFile(file).then(
        () => assert.fail('loaded'),
        (e: unknown) => e,
      );
      assert.ok(WorkflowError.is(error));
      assert.deepEqual(
        error.issues.map((i) => `${i.line}:${i.column} ${i.message}`),
        expected,
      );
      assert.equal(error.issues[0].file, file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a file with a byte order mark and Windows line ends', () => {
    const text = `\uFEFF${workflowDoc(shellStep('a', '      creates: [out.txt]\n')).replace(/\n/g, '\r\n')}`;
    assert.deepEqual(parseWorkflow(text, 'wf.yaml').workflow.steps[0].creates, ['out.txt']);
    assert.deepEqual(described(`\uFEFF${workflowDoc(shellStep('a', '      creats: [x]\n')).replace(/\n/g, '\r\n')}`).length, 1);
  });

  it('turns YAML syntax errors into positioned issues, at most 50 of them plus a count of the rest', () => {
    const text = `workflow: [${','.repeat(5000)}]\n`;
    const issues = issuesOf(text);
    assert.equal(issues.length, 51);
    assert.ok(issues.slice(0, 50).every((i) => i.message.startsWith('invalid YAML: ')));
    assert.match(issues[50].message, /^… and \d+ more problems$/);
  });
});
