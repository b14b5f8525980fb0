import { strict as assert } from 'node:assert';
import { resolutionWords } from '../../../src/cli/runSummary';
import { shownLastLines, stepCounts, stepOutcome, stepReason } from '../../../src/cli/stepRows';
import { clean, shellArg, userLocale } from '../../../src/cli/words';
import type { StepStatus } from '../../../src/core/state/events';

const steps = (...statuses: StepStatus[]) => statuses.map((status) => ({ status }));

describe('the words of the CLI', () => {
  it('counts the steps by state, as the rows show them', () => {
    assert.equal(stepCounts(steps('running', 'queued', 'pending', 'running')), '4 steps: 2 running, 1 queued, 1 pending');
    assert.equal(stepCounts(steps('succeeded', 'succeeded')), '2 steps succeeded');
    assert.equal(stepCounts(steps('pending')), '1 step pending');
    assert.equal(stepCounts(steps('succeeded', 'timed_out', 'skipped')), '3 steps: 1 succeeded, 1 timed out, 1 skipped');
  });

  it('says a step state once, with its reason', () => {
    const skipped = { status: 'skipped' as const, error: 'skipped: it depends on "a", which failed' };
    assert.equal(stepReason(skipped), 'it depends on "a", which failed');
    assert.equal(stepOutcome(skipped), 'skipped: it depends on "a", which failed');
    const cancelled = { status: 'cancelled' as const, error: 'cancelled by the user' };
    assert.equal(stepReason(cancelled), 'by the user');
    assert.equal(stepOutcome(cancelled), 'cancelled by the user');
    const failed = { status: 'failed' as const, error: "the agent exited with code 3; see the step's log" };
    assert.equal(stepOutcome(failed), "failed: the agent exited with code 3; see the step's log");
    assert.equal(
      stepOutcome({ status: 'timed_out', error: 'timed out after 1 s; its process tree was stopped' }),
      'timed out after 1 s; its process tree was stopped',
    );
  });

  it('shows at most 5 last lines of output: no blank lines, progress lines or stack frames, no control characters', () => {
    const lines = ['a', 'b', '', '::progress:: 50 half', 'c', 'Error: boom', '    at f (/x.js:1:2)', '\x1b[2Jd', 'e'];
    assert.deepEqual(shownLastLines(lines), ['b', 'c', 'Error: boom', '\\x1b[2Jd', 'e']);
    assert.equal(shownLastLines(['x'.repeat(500)])[0].length, 200);
  });

  it('makes text from a run safe for a terminal', () => {
    assert.equal(clean('a\x1b]0;title\x07b\tc'), 'a\\x1b]0;title\\x07b\tc');
    assert.equal(clean('line\nnext'), 'line\\x0anext');
  });

  it('quotes a printed argument only when the shell needs it', () => {
    assert.equal(shellArg('examples/demo-repo'), 'examples/demo-repo');
    if (process.platform !== 'win32') {
      assert.equal(shellArg('my repo'), `'my repo'`);
      assert.equal(shellArg(`it's`), `'it'\\''s'`);
    }
  });

  it('reads the locale as POSIX tools do: LC_ALL, then LC_TIME, then LANG', () => {
    assert.equal(userLocale({ LANG: 'de_DE.UTF-8' }), 'de-DE');
    assert.equal(userLocale({ LANG: 'de_DE.UTF-8', LC_TIME: 'fr_FR.UTF-8' }), 'fr-FR');
    assert.equal(userLocale({ LANG: 'de_DE.UTF-8', LC_TIME: 'fr_FR', LC_ALL: 'en_GB.UTF-8' }), 'en-GB');
    assert.notEqual(userLocale({ LANG: 'C' }), 'und');
    assert.notEqual(userLocale({ LANG: 'not a locale!' }), 'und');
  });

  it('says a resolution as the user made it', () => {
    assert.equal(resolutionWords('take auth-rename'), "took auth-rename's version");
    assert.equal(resolutionWords('merged by hand'), 'merged by hand');
  });
});
