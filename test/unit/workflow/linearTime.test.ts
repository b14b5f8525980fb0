import { strict as assert } from 'node:assert';
import { MAX_REPORTED_ISSUES, MAX_STEPS, MAX_WORKFLOW_BYTES } from '../../../src/core/workflow/limits';
import { parseWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { issuesOf, shellStep, textAt, workflowDoc } from './issuesOf';

/** A step with `count` keys that the format does not know, one a line. */
function unknownKeys(count: number): string {
  return workflowDoc(shellStep('a', Array.from({ length: count }, (_, i) => `      k${i}: 1\n`).join('')));
}

/** A step with `count` likely typos of `timeout_seconds`, one a line: each an error. */
function typoKeys(count: number): string {
  return workflowDoc(shellStep('a', Array.from({ length: count }, (_, i) => `      timeout_seconds${i}: 1\n`).join('')));
}

describe('workflow files: validation time and report size', () => {
  it('keeps 50,000 unknown keys, warning of the first 50 in file order plus a count of the rest, in linear time', function () {
    const text = unknownKeys(50_000);
    assert.ok(Buffer.byteLength(text) <= MAX_WORKFLOW_BYTES, `${Buffer.byteLength(text)} bytes: the file must fit the size limit`);
    const started = performance.now();
    const loaded = parseWorkflow(text, 'wf.yaml');
    const ms = performance.now() - started;
    // A hang detector, not a speed assertion: the quadratic checks this replaces took minutes here.
    assert.ok(ms < 5000, `validation took ${ms.toFixed(0)} ms`);
    this.test!.title += ` (${ms.toFixed(0)} ms)`;
    const { warnings } = loaded;
    assert.equal(warnings.length, MAX_REPORTED_ISSUES + 1);
    assert.deepEqual(
      warnings.slice(0, 3).map((i) => `${i.line}:${i.column} ${textAt(text, i.line, i.column).slice(0, 3)}`),
      ['7:7 k0:', '8:7 k1:', '9:7 k2:'],
    );
    assert.equal(warnings[0].message, 'step "a": key "k0" is not used by Tapps Flow; it is kept as it is');
    const last = warnings[MAX_REPORTED_ISSUES];
    assert.equal(last.message, `… and ${50_000 - MAX_REPORTED_ISSUES} more warnings`);
    assert.deepEqual([last.line, last.column], [7 + MAX_REPORTED_ISSUES, 7], 'the count sits at the first warning not listed');
    assert.equal(Object.keys(loaded.workflow.steps[0].extra ?? {}).length, 50_000);
  });

  it('reports 30,000 likely typos of a key as the first 50 in file order plus a count of the rest, in linear time', function () {
    const text = typoKeys(30_000);
    assert.ok(Buffer.byteLength(text) <= MAX_WORKFLOW_BYTES, `${Buffer.byteLength(text)} bytes: the file must fit the size limit`);
    const started = performance.now();
    const issues = issuesOf(text);
    const ms = performance.now() - started;
    assert.ok(ms < 5000, `validation took ${ms.toFixed(0)} ms`);
    this.test!.title += ` (${ms.toFixed(0)} ms)`;
    assert.equal(issues.length, MAX_REPORTED_ISSUES + 1);
    assert.deepEqual(
      issues.slice(0, 2).map((i) => `${i.line}:${i.column} ${textAt(text, i.line, i.column).slice(0, 17)}`),
      ['7:7 timeout_seconds0:', '8:7 timeout_seconds1:'],
    );
    assert.match(
      issues[0].message,
      /^workflow\.steps\[0\]: unknown key "timeout_seconds0" \(did you mean "timeout_seconds"\?\); expected one of: id, /,
    );
    const last = issues[MAX_REPORTED_ISSUES];
    assert.equal(last.message, `… and ${30_000 - MAX_REPORTED_ISSUES} more problems`);
    assert.deepEqual([last.line, last.column], [7 + MAX_REPORTED_ISSUES, 7], 'the count sits at the first problem not listed');
  });

  it('lists every problem when there are at most 50', () => {
    const issues = issuesOf(typoKeys(MAX_REPORTED_ISSUES));
    assert.equal(issues.length, MAX_REPORTED_ISSUES);
    assert.ok(issues.every((i) => i.message.includes('unknown key')));
  });

  it('checks 2,000 duplicate keys quickly', () => {
    const text = workflowDoc(shellStep('a', '      env:\n' + '        A: x\n'.repeat(2001)));
    const started = performance.now();
    const issues = issuesOf(text);
    assert.ok(performance.now() - started < 5000);
    assert.equal(issues.length, MAX_REPORTED_ISSUES + 1);
    assert.match(issues[0].message, /^duplicate key "A": it is already defined at line 8, column 9;/);
    assert.equal(issues[MAX_REPORTED_ISSUES].message, `… and ${2000 - MAX_REPORTED_ISSUES} more problems`);
  });

  it(`builds the graph of ${MAX_STEPS} steps that all depend on each other quickly, and rejects ${MAX_STEPS + 1}`, () => {
    // Each step requires the folder every step creates into: a million dependencies, all in cycles.
    const step = (i: number) => `    - { id: s${i}, agent: shell, run: x, requires: [out/], creates: [out/s${i}.txt] }\n`;
    const all = (count: number) => workflowDoc(Array.from({ length: count }, (_, i) => step(i)).join(''));
    const started = performance.now();
    const issues = issuesOf(all(MAX_STEPS));
    assert.ok(performance.now() - started < 5000, `took ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(issues.length, MAX_REPORTED_ISSUES + 1);
    assert.match(issues[0].message, /^step "s0": the steps depend on each other in a cycle: s0 → s1 → s0;/);
    assert.deepEqual(
      issuesOf(all(MAX_STEPS + 1)).map((i) => `${i.line}:${i.column} ${i.message}`),
      [`4:5 workflow.steps: expected at most ${MAX_STEPS} steps, got ${MAX_STEPS + 1}`],
    );
  });
});
