import { strict as assert } from 'node:assert';
import { parseWorkflow, type LoadedWorkflow } from '../../../src/core/workflow/loadWorkflow';
import type { Workflow } from '../../../src/core/workflow/schema';
import { described, textAt } from './issuesOf';

/** The warnings of a load, as `line:column message`. */
const warningsOf = (loaded: LoadedWorkflow) => loaded.warnings.map((w) => `${w.line}:${w.column} ${w.message}`);

/** A workflow without what is kept but not used: what the run acts on. */
function acted(workflow: Workflow): unknown {
  const without = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'extra')) as T;
  return { ...without(workflow), steps: workflow.steps.map(without) };
}

const dependencies = (loaded: LoadedWorkflow) => Object.fromEntries([...loaded.graph.dependencies].map(([id, d]) => [id, [...d]]));

/** A workflow of two steps, `b` after `a`, with `extra` lines (indented) at each level that holds them. */
function doc(extra: { workflow?: string; settings?: string; a?: string; b?: string } = {}): string {
  return [
    'workflow:',
    '  id: w',
    ...(extra.workflow ? [extra.workflow] : []),
    '  settings:',
    '    max_parallel: 2',
    ...(extra.settings ? [extra.settings] : []),
    '  steps:',
    '    - id: a',
    '      agent: shell',
    '      run: echo a > a.txt',
    '      creates: [a.txt]',
    ...(extra.a ? [extra.a] : []),
    '    - id: b',
    '      agent: shell',
    '      run: cat a.txt',
    '      requires: [a.txt]',
    ...(extra.b ? [extra.b] : []),
    '',
  ].join('\n');
}

describe('workflow files: keys Tapps Flow does not know', () => {
  it('an unknown key under "workflow:" is kept, with a warning at the key', () => {
    const text = doc({ workflow: '  author: Jane Doe' });
    const loaded = parseWorkflow(text, 'wf.yaml');
    assert.deepEqual(loaded.workflow.extra, { author: 'Jane Doe' });
    assert.deepEqual(warningsOf(loaded), ['3:3 key "author" is not used by Tapps Flow; it is kept as it is']);
    assert.equal(textAt(text, 3, 3), 'author: Jane Doe');
  });

  it('an unknown key of a step is kept in the step, with one warning at its first use', () => {
    const text = doc({ a: '      weird_key: { x: 1 }', b: '      weird_key: 2\n      other: [1, 2]' });
    const loaded = parseWorkflow(text, 'wf.yaml');
    assert.deepEqual(
      loaded.workflow.steps.map((s) => s.extra),
      [{ weird_key: { x: 1 } }, { weird_key: 2, other: [1, 2] }],
    );
    assert.deepEqual(warningsOf(loaded), [
      '10:7 step "a": key "weird_key" is not used by Tapps Flow; it is kept as it is (1 more step has it)',
      '16:7 step "b": key "other" is not used by Tapps Flow; it is kept as it is',
    ]);
    assert.equal(textAt(text, 10, 7), 'weird_key: { x: 1 }');
    assert.equal(textAt(text, 16, 7), 'other: [1, 2]');
  });

  it('an unknown key of "settings:" is kept with the workflow\'s, with a warning at the key', () => {
    const text = doc({ settings: '    something_new: true' });
    const loaded = parseWorkflow(text, 'wf.yaml');
    assert.deepEqual(loaded.workflow.settings, { max_parallel: 2 });
    assert.deepEqual(loaded.workflow.extra, { settings: { something_new: true } });
    assert.deepEqual(warningsOf(loaded), ['5:5 settings: key "something_new" is not used by Tapps Flow; it is kept as it is']);
    assert.equal(textAt(text, 5, 5), 'something_new: true');
  });

  it('the workflow runs as it would without them: same steps, settings and graph', () => {
    const plain = parseWorkflow(doc(), 'wf.yaml');
    const loaded = parseWorkflow(
      doc({ workflow: '  author: x', settings: '    something_new: 1', a: '      weird_key: 1', b: '      weird_key: 2' }),
      'wf.yaml',
    );
    assert.deepEqual(acted(loaded.workflow), acted(plain.workflow));
    assert.deepEqual(acted(plain.workflow), plain.workflow);
    assert.deepEqual(loaded.graph.topological, plain.graph.topological);
    assert.deepEqual(dependencies(loaded), dependencies(plain));
    assert.deepEqual(dependencies(loaded), { a: [], b: ['a'] });
    assert.equal(loaded.warnings.length, 3);
  });

  it('the older layout (the workflow at the top) keeps them too, with warnings at their lines', () => {
    const text = 'id: w\nauthor: x\nsettings:\n  something_new: 1\nsteps:\n  - id: a\n    agent: shell\n    run: echo\n    weird_key: 1\n';
    const loaded = parseWorkflow(text, 'wf.yaml');
    assert.deepEqual(loaded.workflow.extra, { author: 'x', settings: { something_new: 1 } });
    assert.deepEqual(loaded.workflow.steps[0].extra, { weird_key: 1 });
    assert.deepEqual(
      loaded.warnings.map((w) => `${w.line}:${w.column}`),
      ['2:1', '4:3', '9:5'],
    );
  });

  it('a key under "workflow:" and beside it with the same name: the one under "workflow:" is kept, and the warning says so', () => {
    const text = `${doc({ workflow: '  author: inside' })}author: outside\n`;
    const loaded = parseWorkflow(text, 'wf.yaml');
    assert.deepEqual(loaded.workflow.extra, { author: 'inside' });
    assert.deepEqual(warningsOf(loaded), [
      '3:3 key "author" is not used by Tapps Flow; it is kept as it is',
      '15:1 "author" beside "workflow:" is not kept, because the key of the same name under "workflow:" is; remove one of them',
    ]);
  });

  it('a likely typo of a known key is an error that names the key meant, at every level', () => {
    assert.deepEqual(described(doc({ workflow: '  descripton: x' })), [
      '3:3 workflow: unknown key "descripton" (did you mean "description"?); expected one of: id, name, description, version, type, auto_detect, schema_version, metadata, settings, agents, merge, setup, checks, steps, gates',
    ]);
    // Keys the schema gains (here `checks`) are known, and so are their typos.
    assert.match(described(doc({ workflow: '  chekcs: []' }))[0], /^3:3 workflow: unknown key "chekcs" \(did you mean "checks"\?\)/);
    assert.match(
      described(doc({ settings: '    max_paralel: 3' }))[0],
      /^5:5 workflow\.settings: unknown key "max_paralel" \(did you mean "max_parallel"\?\); expected one of: max_parallel, /,
    );
    assert.match(
      described(doc({ a: '      timout_seconds: 5' }))[0],
      /^10:7 workflow\.steps\[0\]: unknown key "timout_seconds" \(did you mean "timeout_seconds"\?\); expected one of: id, /,
    );
    // Two neighbouring letters swapped is a typo too, though it takes two edits.
    assert.match(
      described(doc({ b: '      agnet: shell' }))[0],
      /^14:7 workflow\.steps\[1\]: unknown key "agnet" \(did you mean "agent"\?\)/,
    );
  });

  it('a typo in the older layout and in a "sequence:" step is an error there too, placed in the file\'s terms', () => {
    assert.match(
      described('id: w\nsteps:\n  - id: a\n    agent: shell\n    run: echo\n    creats: [x]\n')[0],
      /^6:5 steps\[0\]: unknown key "creats" \(did you mean "creates"\?\)/,
    );
    assert.match(
      described('workflow:\n  id: w\nsequence:\n  - step: a\n    agent: shell\n    run: echo\n    agnet: x\n')[0],
      /^7:5 sequence\[0\]: unknown key "agnet" \(did you mean "agent"\?\)/,
    );
  });

  it('a setting outside "settings:" is an error that says where it belongs', () => {
    assert.deepEqual(described(doc({ workflow: '  max_parallel: 1' })), [
      '3:3 "max_parallel" is a setting: Tapps Flow reads it only under "settings:"; move it there',
    ]);
    assert.deepEqual(described(doc({ a: '      isolation: off' })), [
      '10:7 step "a": "isolation" is a setting of the whole run, not of a step; move it under the workflow\'s "settings:"',
    ]);
  });

  it('keys inside agents, merge rules and setup stay errors; inside gates they are kept with a warning', () => {
    assert.deepEqual(described(doc({ workflow: '  agents:\n    x: { preset: codex, foo: 1 }' })), [
      '4:25 workflow.agents.x: unknown key "foo"; expected one of: preset, command, env',
    ]);
    assert.deepEqual(described(doc({ workflow: '  merge:\n    - { paths: ["*.md"], policy: text, bar: 1 }' })), [
      '4:40 workflow.merge[0]: unknown key "bar"; expected one of: paths, policy',
    ]);
    assert.deepEqual(described(doc({ workflow: '  setup:\n    comands: [npm ci]' })), [
      '4:5 workflow.setup: unknown key "comands" (did you mean "commands"?); expected one of: commands, copy, symlink, secrets, timeout_seconds, env, dependencies, key_files',
    ]);
    const gated = parseWorkflow(doc({ workflow: '  gates:\n    - { name: g, condition: a.status == "success", owner: x }' }), 'wf.yaml');
    assert.deepEqual(warningsOf(gated), ['4:52 gate "g": "owner" is kept but not used']);
  });
});
