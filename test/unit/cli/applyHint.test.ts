import { strict as assert } from 'node:assert';
import { summaryLines } from '../../../src/cli/runSummary';
import type { RunSnapshot } from '../../../src/core/state/snapshot';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow } from '../helpers/workflowRun';

/** The "Apply …" hint of a run's summary, if it prints one. */
function applyHint(snapshot: RunSnapshot): string | undefined {
  return summaryLines(snapshot, { stateDir: '/state', now: Date.now(), steps: false, repo: undefined }).find((l) => l.startsWith('Apply'));
}

describe("the CLI's hint to apply a run's result", function () {
  this.timeout(60_000);
  let repo: TempRepo;
  before(async () => {
    repo = await makeTempRepo({ 'doc.txt': 'one\n' });
  });
  after(() => repo.cleanup());

  it('is printed when a step succeeded, and not when every step failed', async () => {
    const whole = await runWorkflow(repo, { steps: [{ id: 'a', run: 'echo a > a.txt' }] });
    assert.match(applyHint(whole.snapshot) ?? '', /^Apply it with: .* apply /);

    const partial = await runWorkflow(repo, {
      steps: [
        { id: 'good', run: 'echo g > g.txt' },
        { id: 'bad', run: 'exit 3' },
      ],
    });
    assert.equal(partial.snapshot.status, 'failed');
    assert.match(applyHint(partial.snapshot) ?? '', /^Apply what the other steps did with: .* apply /);

    const none = await runWorkflow(repo, {
      steps: [
        { id: 'bad1', run: 'exit 3' },
        { id: 'bad2', run: 'exit 4' },
      ],
    });
    assert.equal(none.snapshot.status, 'failed');
    assert.ok(none.snapshot.steps.every((s) => s.status !== 'succeeded'));
    assert.equal(applyHint(none.snapshot), undefined);
    // The same run with an aggregate (as a run whose failed steps were optional has one): still no hint.
    const withAggregate = { ...none.snapshot, aggregate: partial.snapshot.aggregate };
    assert.ok(withAggregate.aggregate);
    assert.equal(applyHint(withAggregate), undefined);
    assert.match(applyHint({ ...withAggregate, steps: partial.snapshot.steps }) ?? '', /^Apply what the other steps did/);
  });
});
