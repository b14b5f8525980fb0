import { strict as assert } from 'node:assert';
import { parseWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { described, shellStep, workflowDoc } from './issuesOf';

const withSettings = (lines: string) => workflowDoc(shellStep('a'), `  settings:\n${lines}`);
const withStep = (lines: string) => workflowDoc(shellStep('a', lines));

const SECONDS = 'expected a number of seconds greater than 0 and at most 604800 (7 days)';
const GRACE = 'expected a number of seconds from 0 to 3600 (1 hour)';
const BYTES = 'expected a whole number of bytes from 1024 to 1073741824 (1 GiB)';

describe('workflow files: numbers stay within bounds', () => {
  it('bounds timeout_seconds to more than 0 and at most 7 days, in settings and in steps', () => {
    for (const [value, got] of [
      ['0', 'the number 0'],
      ['-5', 'the number -5'],
      ['604801', 'the number 604801'],
      ['1e400', 'an infinite number'],
    ]) {
      assert.deepEqual(described(withSettings(`    timeout_seconds: ${value}\n`)), [
        `4:22 workflow.settings.timeout_seconds: ${SECONDS}, got ${got}`,
      ]);
      assert.deepEqual(described(withStep(`      timeout_seconds: ${value}\n`)), [
        `7:24 workflow.steps[0].timeout_seconds: ${SECONDS}, got ${got}`,
      ]);
    }
    for (const value of ['0.5', '604800']) {
      assert.doesNotThrow(() => parseWorkflow(withSettings(`    timeout_seconds: ${value}\n`), 'wf.yaml'));
      assert.doesNotThrow(() => parseWorkflow(withStep(`      timeout_seconds: ${value}\n`), 'wf.yaml'));
    }
  });

  it('keeps every timeout within what a timer can wait (2^31-1 ms)', () => {
    const { workflow } = parseWorkflow(withStep('      timeout_seconds: 604800\n'), 'wf.yaml');
    assert.ok(workflow.steps[0].timeout_seconds! * 1000 <= 2 ** 31 - 1);
  });

  it('bounds kill_grace_seconds to 0..3600', () => {
    assert.deepEqual(described(withSettings('    kill_grace_seconds: -1\n')), [
      `4:25 workflow.settings.kill_grace_seconds: ${GRACE}, got the number -1`,
    ]);
    assert.deepEqual(described(withSettings('    kill_grace_seconds: 3601\n')), [
      `4:25 workflow.settings.kill_grace_seconds: ${GRACE}, got the number 3601`,
    ]);
    for (const value of ['0', '3600', '2.5'])
      assert.doesNotThrow(() => parseWorkflow(withSettings(`    kill_grace_seconds: ${value}\n`), 'wf.yaml'));
  });

  it('bounds log_max_bytes to a whole number from 1 KiB to 1 GiB', () => {
    for (const [value, got] of [
      ['1023', 'the number 1023'],
      ['1073741825', 'the number 1073741825'],
      ['2048.5', 'the number 2048.5'],
      ['1e30', 'the number 1e+30'],
    ]) {
      assert.deepEqual(described(withSettings(`    log_max_bytes: ${value}\n`)), [
        `4:20 workflow.settings.log_max_bytes: ${BYTES}, got ${got}`,
      ]);
    }
    for (const value of ['1024', '1073741824'])
      assert.doesNotThrow(() => parseWorkflow(withSettings(`    log_max_bytes: ${value}\n`), 'wf.yaml'));
  });

  it('rejects infinite and not-a-number values wherever a number is expected', () => {
    assert.deepEqual(described(withSettings('    context_tier_default: .inf\n    max_parallel: .nan\n')), [
      '4:27 workflow.settings.context_tier_default: expected a finite number, got an infinite number',
      '5:19 workflow.settings.max_parallel: expected a whole number from 1 to 8, got a value that is not a number',
    ]);
    assert.deepEqual(described(withStep('      context_tier: -.inf\n')), [
      '7:21 workflow.steps[0].context_tier: expected a context tier: a finite number, or text like "TIER2" or "2", got an infinite number',
    ]);
    assert.deepEqual(described('workflow:\n  id: w\n  version: .nan\n' + '  steps:\n' + shellStep('a')), [
      '3:12 workflow.version: expected a version string or a finite number, got a value that is not a number',
    ]);
  });
});
