import { strict as assert } from 'node:assert';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { readStateFile, runWorkflow, stepOf, type StepSpec } from '../helpers/workflowRun';

/** A shell step whose candidates write different files: candidate `n` runs `by[n - 1]`. */
function candidateStep(id: string, by: readonly string[], extra: Partial<StepSpec> = {}): StepSpec {
  const cases = by.map((run, i) => `*@${i + 1}) ${run};;`).join(' ');
  return { id, run: `case "$TAPPS_STEP_ID" in ${cases} esac`, candidates: by.length, ...extra };
}

describe('checks: candidates (best-of-N)', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'README.md': '# candidates\n' });
  });
  afterEach(() => repo.cleanup());

  it("the candidate that passes the step's checks wins over one that fails them; among those that pass, the smaller change", async () => {
    const { snapshot, events } = await runWorkflow(repo, {
      checks: [{ name: 'good', run: 'grep -q good out.txt', on: 'steps' }],
      steps: [
        candidateStep('write', ['echo bad > out.txt', 'echo good > out.txt', "printf 'good\\nand\\nmore\\n' > out.txt"]),
        { id: 'after', run: 'cp out.txt seen.txt', needs: ['write'] },
      ],
    });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(stepOf(snapshot, 'after').status, 'succeeded', 'the step after a candidate step runs, before the run ends');
    assert.equal(repo.show(snapshot.aggregate!.commit, 'seen.txt'), 'good\n', "it started from the winner's result");
    const step = stepOf(snapshot, 'write');
    assert.equal(step.picked, 2);
    assert.deepEqual(
      step.candidates?.map((c) => [c.n, c.status, c.checksPassed, c.checksRun, c.diffSize]),
      [
        [1, 'succeeded', 0, 1, 1],
        [2, 'succeeded', 1, 1, 1],
        [3, 'succeeded', 1, 1, 3],
      ],
    );
    assert.equal(step.result, step.candidates?.[1].result, "the step's result is the winner's");
    assert.equal(repo.show(snapshot.aggregate!.commit, 'out.txt'), 'good\n');
    for (const c of step.candidates ?? [])
      assert.equal(
        repo.git(['rev-parse', `refs/tapps-flow/runs/${snapshot.runId}/candidates/write/${c.n}`]),
        c.result,
        'every candidate is kept',
      );
    const picked = events.find((e) => e.type === 'candidate_picked');
    assert.deepEqual(picked && { ...picked, seq: 0, time: '' }, {
      seq: 0,
      time: '',
      type: 'candidate_picked',
      step: 'write',
      candidate: 2,
      ranking: [2, 3, 1],
      reason: 'the smallest change (1 line)',
      by: 'ranking',
    });
  });

  it('one attempt per agent of agents:, ranked by a score command (higher wins)', async () => {
    const { snapshot } = await runWorkflow(repo, {
      agents: {
        terse: { command: ['sh', '-c', 'echo 1 > n.txt'] },
        verbose: { command: ['sh', '-c', 'echo 7 > n.txt'] },
      },
      steps: [{ id: 'count', agents: ['terse', 'verbose'], score: 'echo "score: $(cat n.txt)"' }],
    });
    assert.equal(snapshot.status, 'succeeded');
    const step = stepOf(snapshot, 'count');
    assert.deepEqual(
      step.candidates?.map((c) => [c.n, c.agent, c.score]),
      [
        [1, 'terse', 1],
        [2, 'verbose', 7],
      ],
    );
    assert.equal(step.picked, 2);
    assert.equal(repo.show(snapshot.aggregate!.commit, 'n.txt'), '7\n');
  });

  it('a step none of whose candidates succeeds fails, naming how each ended', async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [candidateStep('broken', ['exit 3', 'exit 4']), { id: 'after', run: 'true', needs: ['broken'] }],
    });
    assert.equal(snapshot.status, 'failed');
    assert.equal(stepOf(snapshot, 'broken').status, 'failed');
    assert.match(stepOf(snapshot, 'broken').error ?? '', /no candidate succeeded \(candidate 1 failed and candidate 2 failed\)/);
    assert.equal(stepOf(snapshot, 'after').status, 'skipped');
  });

  it('each candidate counts toward the bound: with max_parallel 2, never more than 2 attempts run at once', async () => {
    const { events } = await runWorkflow(repo, {
      settings: { max_parallel: 2 },
      steps: [candidateStep('busy', ['sleep 0.4; echo 1 > a', 'sleep 0.4; echo 2 > a', 'sleep 0.4; echo 3 > a', 'sleep 0.4; echo 4 > a'])],
    });
    let running = 0;
    let most = 0;
    const begun = new Set<number>();
    for (const e of events) {
      if (e.type === 'candidate_started' && !begun.has(e.candidate)) {
        begun.add(e.candidate);
        most = Math.max(most, ++running);
      }
      if (e.type === 'candidate_finished') running--;
    }
    assert.equal(begun.size, 4);
    assert.equal(most, 2);
  });

  it('the same candidates finishing in the opposite order pick the same winner, aggregate and report bytes', async () => {
    const outcomes: string[] = [];
    for (const reversed of [false, true]) {
      const r = await makeTempRepo({ 'README.md': '# candidates\n' });
      try {
        const sleeps = reversed ? [0.1, 0.5, 0.9] : [0.9, 0.5, 0.1];
        const { run, snapshot } = await runWorkflow(r, {
          steps: [
            candidateStep(
              'pick',
              ["printf 'a\\nb\\n' > p.txt", 'echo a > p.txt', 'echo a > p.txt'].map((cmd, i) => `sleep ${sleeps[i]}; ${cmd}`),
            ),
            { id: 'other', run: 'echo o > o.txt' },
          ],
        });
        const step = stepOf(snapshot, 'pick');
        outcomes.push(
          JSON.stringify({
            picked: step.picked,
            result: step.result,
            aggregate: snapshot.aggregate?.tree,
            conflicts: await readStateFile(run, 'conflicts.json'),
            manifest: JSON.parse(await readStateFile(run, 'manifest.json')) as unknown,
          }).replace(new RegExp(`${snapshot.runId}|${r.root}`, 'g'), 'X'),
        );
      } finally {
        await r.cleanup();
      }
    }
    assert.equal(outcomes[0], outcomes[1]);
    assert.match(outcomes[0], /"picked":2/, 'candidates 2 and 3 tie; the first in definition order wins');
  });
});
