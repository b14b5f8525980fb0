import { strict as assert } from 'node:assert';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { readStateFile, runWorkflow, statuses, type StepSpec } from '../helpers/workflowRun';

/** Eight steps, each adding a file of its own: `parts/s<i>.txt`, the later ones finishing first. */
function eightSteps(): StepSpec[] {
  return Array.from({ length: 8 }, (_, i) => ({
    id: `s${i + 1}`,
    run: `sleep 0.${8 - i}; mkdir -p parts && echo ${i + 1} > parts/s${i + 1}.txt`,
  }));
}

/** A check that fails when every one of `parts` is in the commit checked. */
function failsWith(...parts: string[]): string {
  return `! { ${parts.map((p) => `test -e parts/${p}.txt`).join(' && ')}; }`;
}

describe('checks: the aggregate verified, the steps that broke it, and the alternative', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'README.md': '# checked\n' });
  });
  afterEach(() => repo.cleanup());

  it('two steps that each pass alone and fail together: the pair is named, and the alternative leaves out the later one and passes', async () => {
    const { run, snapshot } = await runWorkflow(repo, { checks: [{ name: 'test', run: failsWith('s3', 's6') }], steps: eightSteps() });
    assert.equal(snapshot.status, 'checks_failed');
    assert.deepEqual(snapshot.culprits, [
      { check: 'test', outcome: 'found', steps: ['s3', 's6'], runs: snapshot.culprits[0].runs, evidence: snapshot.culprits[0].evidence },
    ]);
    assert.ok(snapshot.alternative, 'an alternative aggregate was made');
    assert.deepEqual(snapshot.alternative.leftOut, ['s6']);
    assert.equal(repo.git(['rev-parse', `refs/tapps-flow/runs/${snapshot.runId}/alternative`]), snapshot.alternative.commit);
    const kept = repo.git(['ls-tree', '--name-only', `${snapshot.alternative.commit}:parts`]).split('\n');
    assert.deepEqual(kept, ['s1.txt', 's2.txt', 's3.txt', 's4.txt', 's5.txt', 's7.txt', 's8.txt']);
    const alternativeRun = snapshot.checks.find((c) => c.target === 'alternative');
    assert.equal(alternativeRun?.status, 'passed');
    const report = JSON.parse(await readStateFile(run, 'conflicts.json')) as { checks: Array<Record<string, unknown>> };
    assert.equal(report.checks.length, 1);
    assert.equal(report.checks[0].kind, 'check');
    assert.deepEqual(report.checks[0].steps, ['s3', 's6']);
    assert.match(String(report.checks[0].detail), /fails when `s3` and `s6` are combined/);
    assert.match(await readStateFile(run, String(report.checks[0].log)), /check test: failed/);
    assert.match(await readStateFile(run, 'conflicts.md'), /## Checks that fail/);
    const manifest = JSON.parse(await readStateFile(run, 'manifest.json')) as Record<string, unknown>;
    assert.deepEqual(manifest.checks, [{ name: 'test', passed: false }]);
    console.log(`      check runs spent on the pair among 8: ${snapshot.culprits[0].runs}`);
  });

  it('one culprit among 8 steps is found within 1 (the base) + ⌈log2 8⌉ + 1 check runs', async () => {
    const { snapshot } = await runWorkflow(repo, { checks: [{ name: 'test', run: failsWith('s5') }], steps: eightSteps() });
    assert.equal(snapshot.status, 'checks_failed');
    assert.deepEqual(snapshot.culprits[0].steps, ['s5']);
    assert.ok(snapshot.culprits[0].runs <= 5, `${snapshot.culprits[0].runs} check runs`);
    assert.equal(snapshot.checks.filter((c) => c.target === 'base').length, 1);
    assert.deepEqual(snapshot.alternative?.leftOut, ['s5']);
  });

  it('a check the base itself fails names no step, and no alternative is offered', async () => {
    const { snapshot } = await runWorkflow(repo, {
      checks: [{ name: 'lint', run: 'test -e never-there' }],
      steps: eightSteps().slice(0, 2),
    });
    assert.equal(snapshot.status, 'checks_failed');
    assert.deepEqual(
      snapshot.culprits.map((c) => [c.outcome, c.steps]),
      [['base-fails', []]],
    );
    assert.equal(snapshot.alternative, null);
  });

  it('checks that pass leave the run succeeded and are recorded in the manifest', async () => {
    const { run, snapshot } = await runWorkflow(repo, {
      checks: [
        { name: 'count', run: 'test $(ls parts | wc -l) -eq 2' },
        { name: 'readme', run: 'grep -q checked README.md', timeout_seconds: 30 },
      ],
      steps: eightSteps().slice(0, 2),
    });
    assert.equal(snapshot.status, 'succeeded');
    assert.deepEqual(
      snapshot.checks.map((c) => [c.check, c.target, c.status]),
      [
        ['count', 'aggregate', 'passed'],
        ['readme', 'aggregate', 'passed'],
      ],
    );
    const manifest = JSON.parse(await readStateFile(run, 'manifest.json')) as Record<string, unknown>;
    assert.deepEqual(manifest.checks, [
      { name: 'count', passed: true },
      { name: 'readme', passed: true },
    ]);
  });

  it("a check on both runs on the step's result and on the aggregate, each recorded, even where their trees are the same", async () => {
    const { snapshot } = await runWorkflow(repo, {
      checks: [{ name: 'lint', run: 'test -e parts/only.txt', on: 'both' }],
      steps: [{ id: 'only', run: 'mkdir -p parts && echo 1 > parts/only.txt' }],
    });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(snapshot.aggregate?.tree, snapshot.steps[0].tree, 'one step: the aggregate is its result');
    assert.deepEqual(
      snapshot.checks.map((c) => [c.target, c.status]),
      [
        ['step', 'passed'],
        ['aggregate', 'passed'],
      ],
    );
  });

  it("a step-level check that fails on a step's result fails that step, naming the check; the others are folded", async () => {
    const { snapshot } = await runWorkflow(repo, {
      checks: [{ name: 'no-secrets', run: '! grep -rq SECRET parts', on: 'steps' }],
      steps: [
        { id: 'good', run: 'mkdir -p parts && echo fine > parts/good.txt' },
        { id: 'leaky', run: 'mkdir -p parts && echo SECRET > parts/leaky.txt' },
      ],
    });
    assert.deepEqual(statuses(snapshot), { good: 'succeeded', leaky: 'failed' });
    assert.match(snapshot.steps[1].error ?? '', /check "no-secrets" failed on its result \(exit code 1\)/);
    assert.equal(snapshot.status, 'failed');
    assert.deepEqual(snapshot.checks.map((c) => [c.step, c.status]).sort(), [
      ['good', 'passed'],
      ['leaky', 'failed'],
    ]);
  });
});

describe('checks: determinism', function () {
  this.timeout(120_000);

  it('the same steps finishing in the opposite order give the same culprits, alternative and report bytes', async () => {
    const outcomes: string[] = [];
    for (const reversed of [false, true]) {
      const repo = await makeTempRepo({ 'README.md': '# checked\n' });
      try {
        const steps = eightSteps().map((s, i) => ({ ...s, run: s.run!.replace(/sleep 0\.\d/, `sleep 0.${reversed ? i + 1 : 8 - i}`) }));
        const { run, snapshot } = await runWorkflow(repo, { checks: [{ name: 'test', run: failsWith('s2', 's7') }], steps });
        outcomes.push(
          JSON.stringify({
            aggregate: snapshot.aggregate?.tree,
            culprits: snapshot.culprits.map((c) => ({ ...c })),
            alternative: snapshot.alternative?.tree,
            conflictsJson: await readStateFile(run, 'conflicts.json'),
            conflictsMd: await readStateFile(run, 'conflicts.md'),
            manifestChecks: (JSON.parse(await readStateFile(run, 'manifest.json')) as { checks: unknown }).checks,
          }),
        );
      } finally {
        await repo.cleanup();
      }
    }
    assert.equal(outcomes[0], outcomes[1]);
  });
});
