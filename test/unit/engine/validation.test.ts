import { strict as assert } from 'node:assert';
import { WorkflowError, type WorkflowIssue } from '../../../src/core/util/errors';
import { parseWorkflow, type LoadOptions } from '../../../src/core/workflow/loadWorkflow';

/** The problems found in a workflow text; fails the test when it loads. */
function issuesOf(text: string, options: LoadOptions = { baseContains: () => false }): WorkflowIssue[] {
  try {
    parseWorkflow(text, 'wf.yaml', options);
  } catch (error) {
    assert.ok(WorkflowError.is(error), `expected a WorkflowError, got ${String(error)}`);
    return [...error.issues];
  }
  assert.fail('the workflow loaded, but it should have been rejected');
}

function one(line: number, column: number, message: string): WorkflowIssue[] {
  return [{ file: 'wf.yaml', line, column, message }];
}

const shell = (id: string, extra = '') => `    - id: ${id}\n      agent: shell\n      run: echo\n${extra}`;
const doc = (steps: string, head = '') => `workflow:\n  id: w\n${head}  steps:\n${steps}`;

describe('engine: workflow validation', () => {
  it('isolation settings: a known mode, and sandbox-writable folders only inside the home folder', () => {
    const head = (settings: string) => `  settings:\n${settings}`;
    assert.deepEqual(
      issuesOf(doc(shell('a'), head('    isolation: jail\n'))),
      one(4, 16, 'workflow.settings.isolation: expected one of "sandbox", "detect", "off", got the text "jail"'),
    );
    for (const folder of ['/etc', '~', '~/', '~/../.ssh', '~/.codex/../..', 'relative'])
      assert.match(
        issuesOf(doc(shell('a'), head(`    sandbox_writable: [${JSON.stringify(folder)}]\n`)))[0]?.message ?? '',
        /expected a folder inside the home folder/,
        folder,
      );
    assert.doesNotThrow(() =>
      parseWorkflow(doc(shell('a'), head('    isolation: sandbox\n    sandbox_writable: ["~/.codex", "~/.config/agent"]\n')), 'wf.yaml', {
        baseContains: () => false,
      }),
    );
  });

  it('rejects duplicate step ids at the second id', () => {
    assert.deepEqual(issuesOf(doc(shell('a') + shell('a'))), one(7, 11, 'step "a": duplicate step id "a": it is already used by step 1'));
  });

  it('rejects a cycle and prints it', () => {
    const steps =
      shell('a', '      requires: [x.txt]\n      creates: [y.txt]\n') +
      shell('b') +
      shell('c', '      requires: [y.txt]\n      creates: [x.txt]\n');
    const issues = issuesOf(doc(steps));
    assert.equal(issues.length, 1);
    assert.deepEqual({ ...issues[0], message: undefined }, { file: 'wf.yaml', line: 4, column: 11, message: undefined });
    assert.ok(issues[0].message.includes('a → c → a'), issues[0].message);
    assert.equal(
      issues[0].message,
      'step "a": the steps depend on each other in a cycle: a → c → a; expected each step to run after the steps it depends on, so remove one of these dependencies',
    );
  });

  it('rejects a cycle made by next and needs', () => {
    const issues = issuesOf(
      doc(shell('a', '      next: b\n') + shell('b', '      needs: [a]\n') + shell('c', '      needs: [b]\n      next: [a]\n')),
    );
    assert.equal(issues.length, 1);
    assert.match(issues[0].message, /cycle: a → b → c → a;/);
  });

  it('rejects a requires that no step creates and the base does not contain, and accepts one the base contains', () => {
    const steps = shell('a', '      requires: [present.txt, missing.txt, docs/]\n');
    const options = { baseContains: (p: string) => p === 'present.txt' || p === 'docs/' };
    assert.deepEqual(
      issuesOf(doc(steps), options),
      one(
        7,
        31,
        'step "a": "missing.txt" is required, but no step creates it and the repository does not contain it; expected a path listed in another step\'s "creates" or present in the repository',
      ),
    );
    assert.doesNotThrow(() => parseWorkflow(doc(shell('a', '      requires: [present.txt, docs/]\n')), 'wf.yaml', options));
  });

  it('rejects an unknown agent, suggesting the closest known one', () => {
    assert.deepEqual(
      issuesOf(doc('    - id: a\n      agent: reviwer\n      prompt: hi\n')),
      one(5, 14, 'step "a": unknown agent "reviwer" (did you mean "reviewer"?); expected "shell" or an agent defined under "agents:"'),
    );
    const defined =
      'workflow:\n  id: w\n  agents:\n    my-coder: { command: [coder, "{prompt}"] }\n  steps:\n    - id: a\n      agent: my-codr\n';
    assert.deepEqual(
      issuesOf(defined),
      one(7, 14, 'step "a": unknown agent "my-codr" (did you mean "my-coder"?); expected "shell" or an agent defined under "agents:"'),
    );
  });

  it('rejects absolute paths and paths that leave the repository', () => {
    assert.deepEqual(issuesOf(doc(shell('a', '      creates: [/etc/passwd, ../outside.txt, ok/../../x, ok/../fine.txt]\n'))), [
      ...one(7, 17, 'workflow.steps[0].creates[0]: expected a path relative to the repository root, got the absolute path "/etc/passwd"'),
      ...one(7, 30, 'workflow.steps[0].creates[1]: expected a path inside the repository, got "../outside.txt", which leaves it'),
      ...one(7, 46, 'workflow.steps[0].creates[2]: expected a path inside the repository, got "ok/../../x", which leaves it'),
    ]);
    assert.deepEqual(
      issuesOf(doc(shell('a', '      requires:\n        - C:/Windows/x\n')), { baseContains: () => true }),
      one(8, 11, 'workflow.steps[0].requires[0]: expected a path relative to the repository root, got the absolute path "C:/Windows/x"'),
    );
  });

  it('rejects max_parallel 0 and 9', () => {
    assert.deepEqual(
      issuesOf(doc(shell('a'), '  settings:\n    max_parallel: 0\n')),
      one(4, 19, 'workflow.settings.max_parallel: expected a whole number from 1 to 8, got the number 0'),
    );
    assert.deepEqual(
      issuesOf(doc(shell('a'), '  settings:\n    max_parallel: 9\n')),
      one(4, 19, 'workflow.settings.max_parallel: expected a whole number from 1 to 8 (at most 8 steps run at once), got the number 9'),
    );
    assert.doesNotThrow(() => parseWorkflow(doc(shell('a'), '  settings:\n    max_parallel: 8\n'), 'wf.yaml'));
  });

  it('rejects unknown keys at the key, suggesting the closest known one', () => {
    assert.deepEqual(
      issuesOf(doc(shell('a', '      creats: [x]\n'))),
      one(
        7,
        7,
        'workflow.steps[0]: unknown key "creats" (did you mean "creates"?); expected one of: id, name, description, agent, action, prompt, run, requires, creates, needs, next, timeout_seconds, env, candidates, agents, score, context_tier, condition, scoring, gate, notes, consults, optional_steps, repeats, metadata',
      ),
    );
    assert.deepEqual(
      issuesOf(doc(shell('a'), '  settings:\n    max_paralel: 2\n')),
      one(
        4,
        5,
        'workflow.settings: unknown key "max_paralel" (did you mean "max_parallel"?); expected one of: max_parallel, timeout_seconds, kill_grace_seconds, keep_worktrees, fail_on_undeclared_changes, log_max_bytes, isolation, sandbox_writable, setup, pool_size, ports_per_step, dependency_sharing, pool_max_mb, min_free_memory_mb, max_load_per_cpu, runner, queue_attempts, quality_gates, code_scoring, context_tier_default, auto_detect',
      ),
    );
  });

  it('reports every problem of a file together, in file order, schema and graph problems alike', () => {
    const text = [
      'workflow:',
      '  id: w',
      '  settings:',
      '    max_parallel: 9',
      '    max_paralel: 2',
      '  steps:',
      '    - id: a',
      '      agent: shell',
      '      run: echo',
      '      creates: [/abs.txt, out.txt]',
      '    - id: a',
      '      agent: revewer',
      '      prompt: x',
      '    - id: b',
      '      agent: shell',
      '      run: echo',
      '      requires: [out.txt, nowhere.txt]',
      '',
    ].join('\n');
    let error: unknown;
    try {
      parseWorkflow(text, 'wf.yaml', { baseContains: () => false });
    } catch (e) {
      error = e;
    }
    assert.ok(WorkflowError.is(error));
    assert.deepEqual(
      error.issues.map((i) => `${i.line}:${i.column}`),
      ['4:19', '5:5', '10:17', '11:11', '12:14', '17:27'],
    );
    assert.match(error.issues[3].message, /duplicate step id "a"/);
    assert.match(error.issues[4].message, /unknown agent "revewer" \(did you mean "reviewer"\?\)/);
    assert.match(error.issues[5].message, /"nowhere.txt" is required/);
    assert.ok(error.message.startsWith('The workflow file has 6 problems:\n  wf.yaml:4:19: '), error.message);
    assert.equal(error.message.split('\n').length, 7);
  });

  it('checks the readable steps of a file the schema rejected, at their own positions', () => {
    const text = doc(
      '    - agent: shell\n      run: echo\n' + shell('b', '      needs: [zz]\n') + '    - id: c\n      agent: nobody\n      prompt: x\n',
    );
    assert.deepEqual(
      issuesOf(text).map((i) => `${i.line}:${i.column} ${i.message}`),
      [
        '4:7 workflow.steps[0].id: missing: expected a text value',
        '9:15 step "b": unknown step "zz"; expected one of: b, c',
        '11:14 step "c": unknown agent "nobody"; expected "shell" or an agent defined under "agents:"',
      ],
    );
  });

  it('reports the problems of ids, dependencies, agents, patterns and numbers together, in file order', () => {
    const text = [
      'workflow:',
      '  id: w',
      '  settings:',
      '    timeout_seconds: 604801',
      '  agents:',
      '    shell: { command: [sh] }',
      '  merge:',
      '    - { paths: ["{src/**"], policy: union }',
      '  steps:',
      '    - id: x.lock',
      '      agent: shell',
      '      run: echo',
      '    - id: b',
      '      agent: shell',
      '      run: "echo \\0"',
      '      needs: [b]',
      '',
    ].join('\n');
    assert.deepEqual(
      issuesOf(text).map((i) => `${i.line}:${i.column} ${i.message.split(';')[0]}`),
      [
        '4:22 workflow.settings.timeout_seconds: expected a number of seconds greater than 0 and at most 604800 (7 days), got the number 604801',
        '6:5 workflow.agents: "shell" is the built-in agent that runs "run:" commands',
        '8:17 workflow.merge[0].paths[0]: expected a complete pattern, got "{src/**": missing a closing "}"',
        '10:11 workflow.steps[0].id: invalid step id "x.lock": it ends in ".lock", the suffix git gives its lock files',
        '15:12 workflow.steps[1].run: expected text without NUL characters, which no program can receive (found one at character 6)',
        '16:15 step "b": "needs" names the step itself',
      ],
    );
  });

  it('reports a YAML syntax error with its position', () => {
    assert.deepEqual(
      issuesOf(doc('    - id: a\n      agent: shell\n      run: "unterminated\n')),
      one(7, 1, 'invalid YAML: Missing closing "quote'),
    );
    const issues = issuesOf('workflow:\n  id: w\n  steps: [\n');
    assert.equal(issues.length, 1);
    assert.deepEqual([issues[0].line, issues[0].column], [4, 1]);
    assert.match(issues[0].message, /^invalid YAML: /);
  });
});
