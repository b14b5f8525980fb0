import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseWorkflow, type LoadedWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { described, shellStep, textAt, workflowDoc } from './issuesOf';

/** Workflow files written for these tests with every construct of TappsCodingAgents' own workflow files. */
const FIXTURES = path.join(__dirname, 'fixtures', 'tapps-agents');

const text = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

/** A fixture loaded as a run would load it, with nothing in the repository. */
const load = (name: string): LoadedWorkflow => parseWorkflow(text(name), name, { baseContains: () => false });

/** The warnings of a load, as `line:column message`. */
const warningsOf = (loaded: LoadedWorkflow) => loaded.warnings.map((w) => `${w.line}:${w.column} ${w.message}`);

/** A step of a loaded workflow by id. */
function stepOf(loaded: LoadedWorkflow, id: string) {
  const step = loaded.workflow.steps.find((s) => s.id === id);
  assert.ok(step, `no step "${id}"`);
  return step;
}

const dependencies = (loaded: LoadedWorkflow) => Object.fromEntries([...loaded.graph.dependencies].map(([id, d]) => [id, [...d]]));

describe('TappsCodingAgents workflow files: every construct of theirs loads', () => {
  it('loads every fixture without an error; each warning names the file, a line and a column inside it', () => {
    const names = readdirSync(FIXTURES).filter((n) => n.endsWith('.yaml'));
    assert.equal(names.length, 5);
    for (const name of names) {
      const loaded = load(name);
      const lines = text(name).split('\n');
      for (const w of loaded.warnings) {
        assert.equal(w.file, name);
        assert.ok(
          w.line >= 1 && w.line <= lines.length && w.column >= 1 && w.column <= lines[w.line - 1].length,
          `${name}:${w.line}:${w.column}`,
        );
      }
    }
  });

  it('the wrapped layout: every workflow and step key kept; the warnings say what is not honoured', () => {
    const loaded = load('feature-pipeline.yaml');
    const { workflow } = loaded;
    assert.equal(workflow.schema_version, '2.0');
    assert.deepEqual(workflow.metadata, { owner: 'platform-team', tags: ['feature', 'sdlc'] });
    assert.deepEqual(workflow.settings, { quality_gates: true, code_scoring: false, context_tier_default: 3, auto_detect: false });
    assert.equal(workflow.auto_detect, false);
    assert.deepEqual(stepOf(loaded, 'spec').consults, ['expert-product']);
    assert.deepEqual(stepOf(loaded, 'blueprint').consults, ['expert-*']);
    assert.equal(stepOf(loaded, 'spec').context_tier, 'TIER1');
    assert.equal(stepOf(loaded, 'stories').context_tier, '2');
    assert.deepEqual(stepOf(loaded, 'stories').optional_steps, ['sharpen']);
    assert.deepEqual(stepOf(loaded, 'build').metadata, { instruction: 'Keep the public API stable', retries: 2 });
    assert.deepEqual(stepOf(loaded, 'check').gate, { condition: 'scoring.passed == true', on_pass: 'verify', on_fail: 'build' });
    assert.deepEqual(stepOf(loaded, 'check').scoring, {
      enabled: true,
      thresholds: { overall_min: 75, security_min: 8.0, maintainability_min: 7.5 },
    });
    assert.equal(stepOf(loaded, 'verify').repeats, true);
    assert.deepEqual(warningsOf(loaded), [
      '93:9 step "check": its gate is not honoured here: Tapps Flow does not evaluate its condition "scoring.passed == true"; it does not go back to step "build" when the gate fails. Each step runs once: it passes or fails by its agent\'s exit code, and when it fails, the steps after it are skipped',
      '105:18 step "verify": "condition: conditional" is not honoured: the format gives no condition to evaluate, so the step always runs, as a required step; use "optional" if its failure must not stop the steps after it',
      '106:16 step "verify": "repeats: true" is not honoured: Tapps Flow runs each step once per run',
      '108:9 step "verify": its gate is not honoured here: Tapps Flow does not evaluate its condition "test_coverage >= 80"; it does not run the step again when the gate fails. Each step runs once: it passes or fails by its agent\'s exit code, and when it fails, the steps after it are skipped',
      '115:15 step "wrap-up" will fail when it runs: agent "orchestrator" of tapps-agents cannot run this step: it has no command for action "finalize"; the commands of "orchestrator" are: workflow-list, workflow-start, workflow-status, workflow-next, workflow-skip, workflow-resume, workflow, gate. Use one of them as the step\'s "action", or give agent "orchestrator" a command of its own under "agents:"',
    ]);
  });

  it('condition: optional makes a step optional; required, mandatory and conditional do not', () => {
    const loaded = load('feature-pipeline.yaml');
    const optional = Object.fromEntries(loaded.workflow.steps.map((s) => [s.id, s.optional]));
    assert.deepEqual(optional, {
      sharpen: true, // condition: optional
      spec: false, // condition: required
      stories: false, // no condition
      blueprint: false, // condition: mandatory
      build: false,
      check: false,
      verify: false, // condition: conditional, with a warning
      'wrap-up': false,
    });
  });

  it('the older layout, without "workflow:", loads as the same workflow as its wrapped form', () => {
    const older = load('older-layout.yaml');
    const wrapped = load('older-layout-wrapped.yaml');
    assert.deepEqual(older.workflow, wrapped.workflow);
    assert.deepEqual(dependencies(older), dependencies(wrapped));
    assert.deepEqual(older.graph.topological, ['intent', 'context', 'prompt']);
    assert.deepEqual(warningsOf(older), []);
    assert.equal(older.workflow.type, 'utility');
    assert.equal(stepOf(older, 'context').context_tier, 'TIER2');
  });

  it('"sequence:" beside "workflow:" gives the steps; the step names in "requires" become dependencies', () => {
    const loaded = load('legacy-audit.yaml');
    assert.deepEqual(
      loaded.workflow.steps.map((s) => s.id),
      ['inventory', 'code_health', 'deps_health', 'priorities'],
    );
    assert.deepEqual(dependencies(loaded), {
      inventory: [],
      code_health: ['inventory'],
      deps_health: ['inventory'],
      priorities: ['code_health', 'deps_health'],
    });
    assert.deepEqual(stepOf(loaded, 'deps_health').needs, ['inventory']);
    assert.deepEqual(stepOf(loaded, 'deps_health').requires, ['inventory_report']); // a file of "inventory", not a step
    assert.deepEqual(stepOf(loaded, 'inventory').extra, {
      parameters: { phase: 'inventory', depth: 2 },
      output: '- an inventory of the code base\n',
    });
    assert.equal(stepOf(loaded, 'deps_health').extra, undefined);
    assert.equal(stepOf(loaded, 'code_health').notes, 'Scores every service.\n');
  });

  it('"gates:" on a step\'s outcome become the step\'s continueIf; the others are kept and not honoured', () => {
    const loaded = load('legacy-audit.yaml');
    assert.deepEqual(stepOf(loaded, 'inventory').continueIf, [
      { name: 'inventory_done', status: 'succeeded', message: 'The inventory must be complete before anything is judged' },
    ]);
    assert.deepEqual(stepOf(loaded, 'code_health').continueIf, [
      { name: 'health_done', status: 'succeeded', message: 'Code health must be known' },
    ]);
    assert.deepEqual(stepOf(loaded, 'priorities').continueIf, []);
    assert.deepEqual(
      loaded.workflow.gates?.map((g) => g.name),
      ['inventory_done', 'health_done', 'scores_high_enough'],
    );
  });

  it('"outputs" and "metadata" beside "workflow:" are kept, with a warning each; so are the keys of "sequence" steps', () => {
    const loaded = load('legacy-audit.yaml');
    assert.deepEqual(Object.keys(loaded.workflow.extra ?? {}), ['outputs', 'metadata']);
    assert.deepEqual((loaded.workflow.extra?.outputs as { reports: unknown[] }).reports.length, 2);
    assert.deepEqual(warningsOf(loaded), [
      '18:5 "parameters" is kept but not given to the agent, which gets only the step\'s prompt and action; put what it says in the step\'s "prompt" (1 more step of "sequence" has it)',
      '25:5 "output" is kept but not checked; list the files the step must make under "creates" (2 more steps of "sequence" have it)',
      '72:16 gate "scores_high_enough" is not honoured: Tapps Flow can honour only a condition on a step\'s outcome, like: <step>.status == "success" (or "failed")',
      '75:1 "outputs" is kept but not used: Tapps Flow does not check the files it lists (TappsCodingAgents ignores it too: it reads only "workflow:"); list a file a step must make under that step\'s "creates"',
      '84:1 "metadata" beside "workflow:" is kept but not used (TappsCodingAgents ignores it too: it reads only "workflow:"); to make it the workflow\'s, move it under "workflow:"',
    ]);
  });

  it('steps without inputs, each with its instruction in "metadata", and one that waits for them', () => {
    const loaded = load('parallel-services.yaml');
    assert.deepEqual(dependencies(loaded), {
      'tidy-billing': [],
      'tidy-search': [],
      'docs-search': [],
      'check-billing': ['tidy-billing'],
      'roll-up': ['tidy-search', 'docs-search', 'check-billing'],
    });
    assert.deepEqual(stepOf(loaded, 'tidy-search').metadata, { instruction: 'Add type hints' });
    assert.deepEqual(
      warningsOf(loaded).map((w) => w.slice(0, 40)),
      ['58:15 step "roll-up" will fail when it r'],
    );
  });
});

describe('TappsCodingAgents workflow files: what was rejected before', () => {
  const step = (extra: string) => workflowDoc(shellStep('a', extra));

  it("a step's consults: a list of expert names, kept", () => {
    const loaded = parseWorkflow(step('      consults: [expert-security, "expert-*"]\n'), 'wf.yaml');
    assert.deepEqual(loaded.workflow.steps[0].consults, ['expert-security', 'expert-*']);
    assert.deepEqual(loaded.warnings, []);
    assert.deepEqual(described(step('      consults: expert-security\n')), [
      '7:17 workflow.steps[0].consults: expected a list, got the text "expert-security"',
    ]);
  });

  it("a step's metadata: a mapping of anything, kept", () => {
    const loaded = parseWorkflow(step('      metadata:\n        instruction: Tidy up\n        gates: [quality]\n'), 'wf.yaml');
    assert.deepEqual(loaded.workflow.steps[0].metadata, { instruction: 'Tidy up', gates: ['quality'] });
    assert.deepEqual(loaded.warnings, []);
    assert.deepEqual(described(step('      metadata: [a]\n')), ['7:17 workflow.steps[0].metadata: expected a mapping, got a list']);
  });

  it('the older layout: loads, and its problems are placed and named in its own terms', () => {
    const older = 'id: w\nsteps:\n  - id: a\n    agent: shell\n    run: echo\n';
    const loaded = parseWorkflow(older, 'wf.yaml');
    assert.deepEqual(loaded.workflow, parseWorkflow(workflowDoc(shellStep('a')), 'wf.yaml').workflow);
    const broken = 'id: w\nsteps:\n  - id: a\n    agent: shell\n    run: echo\n    creats: [x]\n    needs: [b]\n';
    assert.deepEqual(described(broken), [
      '6:5 steps[0]: unknown key "creats" (did you mean "creates"?); expected one of: id, name, description, agent, action, prompt, run, requires, creates, needs, next, timeout_seconds, env, candidates, agents, score, context_tier, condition, scoring, gate, notes, consults, optional_steps, repeats, metadata',
      '7:13 step "a": unknown step "b" (did you mean "a"?); expected one of: a',
    ]);
    // A key the workflow does not have is kept, with a warning at it, as under "workflow:".
    const withOutputs = parseWorkflow('id: w\noutputs: {}\nsteps:\n  - { id: a, agent: shell, run: echo }\n', 'wf.yaml');
    assert.deepEqual(withOutputs.workflow.extra, { outputs: {} });
    assert.deepEqual(warningsOf(withOutputs), ['2:1 key "outputs" is not used by Tapps Flow; it is kept as it is']);
  });

  it('"sequence:" beside "workflow:": its problems are placed in the sequence', () => {
    const text = [
      'workflow:',
      '  id: w',
      'sequence:',
      '  - step: first',
      '    agent: shell',
      '    run: echo',
      '  - step: second',
      '    agent: shell',
      '    run: echo',
      '    requires: [first, missing.txt]',
      '  - step: Third one',
      '    agent: shell',
      '    run: echo',
      '',
    ].join('\n');
    const issues = described(text, { baseContains: () => false });
    assert.deepEqual(issues, [
      '10:23 step "second": "missing.txt" is required, but no step creates it and the repository does not contain it; expected a path listed in another step\'s "creates" or present in the repository',
      '11:11 sequence[2].step: invalid step id "Third one": it contains " "; expected letters, digits, ".", "_" or "-", starting with a letter or digit, at most 80 characters, with no ".." and not ending in "." or ".lock"',
    ]);
    assert.equal(textAt(text, 10, 23), 'missing.txt]');
  });

  it('"gates:" beside "workflow:": a gate on a step\'s outcome is honoured; one naming no step is not', () => {
    const text = `${workflowDoc(shellStep('a') + shellStep('b'))}gates:\n  - name: a_ok\n    condition: a.status == "success"\n  - name: b_fails\n    condition: "b.status == failed"\n  - name: ghost\n    condition: c.status == "success"\n`;
    const loaded = parseWorkflow(text, 'wf.yaml');
    assert.deepEqual(loaded.workflow.steps[0].continueIf, [
      { name: 'a_ok', status: 'succeeded', message: 'gate "a_ok" needs step "a" to succeed' },
    ]);
    assert.deepEqual(loaded.workflow.steps[1].continueIf, [
      { name: 'b_fails', status: 'failed', message: 'gate "b_fails" needs step "b" to fail' },
    ]);
    assert.deepEqual(warningsOf(loaded), ['16:16 gate "ghost" is not honoured: unknown step "c"; expected one of: a, b']);
  });

  it('"gates:" that cannot be honoured at all are kept, with a warning, as their parser ignores them', () => {
    const notAList = parseWorkflow(`${workflowDoc(shellStep('a'))}gates: 3\n`, 'wf.yaml');
    assert.deepEqual(notAList.workflow.extra, { gates: 3 });
    assert.match(warningsOf(notAList)[0], /^7:1 "gates" is kept but not used: expected a list of gates/);
    const noCondition = parseWorkflow(`${workflowDoc(shellStep('a'))}gates:\n  - { name: g, message: m }\n`, 'wf.yaml');
    assert.deepEqual(warningsOf(noCondition), ['8:5 gate "g" has no condition; it is not honoured']);
    assert.deepEqual(noCondition.workflow.steps[0].continueIf, []);
  });

  it('"outputs:" beside "workflow:": kept, with a warning at the key', () => {
    const text = `${workflowDoc(shellStep('a'))}outputs:\n  reports: [{ type: json, path: r.json }]\nextras: 1\n`;
    const loaded = parseWorkflow(text, 'wf.yaml');
    assert.deepEqual(loaded.workflow.extra, { outputs: { reports: [{ type: 'json', path: 'r.json' }] }, extras: 1 });
    assert.deepEqual(
      loaded.warnings.map((w) => `${w.line}:${w.column}`),
      ['7:1', '9:1'],
    );
    assert.match(loaded.warnings[1].message, /^unknown key "extras" beside "workflow:" is kept but not used/);
  });

  it('an optional step that a gate needs is run as required, with a warning', () => {
    const text = `${workflowDoc(shellStep('a', '      condition: optional\n'))}gates:\n  - { name: must, condition: a.status == "success" }\n`;
    const loaded = parseWorkflow(text, 'wf.yaml');
    assert.equal(loaded.workflow.steps[0].optional, false);
    assert.deepEqual(warningsOf(loaded), [
      '7:18 step "a": "condition: optional" is not honoured: gate "must" stops the run unless the step succeeds',
    ]);
  });

  it('gate targets and optional_steps must name steps, as their parser requires', () => {
    assert.deepEqual(described(workflowDoc(shellStep('a', '      gate: { on_fail: nope }\n      optional_steps: [zz]\n'))), [
      '7:24 step "a": gate on_fail: unknown step "nope"; expected one of: a or "next" or "retry"',
      '8:24 step "a": unknown step "zz"; expected one of: a',
    ]);
  });
});
