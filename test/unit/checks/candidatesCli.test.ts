import { strict as assert } from 'node:assert';
import { buildCli, cli } from '../helpers/cli';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { writeWorkflow } from '../helpers/workflowRun';

interface Report {
  status: string;
  aggregate: { commit: string };
  candidates: Array<{ step: string; candidate: number; status: string; picked: boolean; diffSize: number | null }>;
}

describe('checks: candidates in the CLI (status, --json, pick)', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  const report = async (): Promise<Report> => JSON.parse((await cli(['status', 'best', '--repo', repo.dir, '--json'])).stdout) as Report;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# pick\n' });
    const workflow = await writeWorkflow(repo, {
      steps: [
        {
          id: 'write',
          candidates: 3,
          run: 'case "$TAPPS_STEP_ID" in *@1) echo one > w.txt;; *@2) exit 9;; *@3) printf "three\\nlines\\nhere\\n" > w.txt;; esac',
        },
        { id: 'other', run: 'echo o > o.txt' },
        { id: 'later', run: 'cat w.txt > copy.txt', needs: ['write'] },
      ],
    });
    const run = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'best', '--json']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const steps = (JSON.parse(run.stdout) as { steps: Array<{ id: string; status: string }> }).steps;
    assert.deepEqual(
      steps.map((s) => [s.id, s.status]),
      [
        ['write', 'succeeded'],
        ['other', 'succeeded'],
        ['later', 'succeeded'],
      ],
      'the step after the candidate step ran, before the run ended',
    );
  });
  after(() => repo.cleanup());

  it('status lists each candidate under its step, the picked one marked, the failed one with its log; --json lists them', async () => {
    const status = await cli(['status', 'best', '--repo', repo.dir]);
    assert.match(status.stdout, /candidate 1 \(shell\) {2}succeeded {2}1 line changed · picked/);
    assert.match(
      status.stdout,
      /candidate 2 \(shell\) {2}failed\n\s+the agent exited with code 9; see the step's log; log: .*steps\/write\/candidates\/2\/log\.txt/,
    );
    assert.match(status.stdout, /candidate 3 \(shell\) {2}succeeded {2}3 lines changed/);
    const json = await report();
    assert.deepEqual(
      json.candidates.map((c) => [c.step, c.candidate, c.status, c.picked, c.diffSize]),
      [
        ['write', 1, 'succeeded', true, 1],
        ['write', 2, 'failed', false, null],
        ['write', 3, 'succeeded', false, 3],
      ],
    );
  });

  it('pick refuses, with exit 2 and nothing changed: a candidate that failed, one that does not exist, a step others started from', async () => {
    const before = (await report()).aggregate.commit;
    const failed = await cli(['pick', 'best', 'write', '2', '--repo', repo.dir]);
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /Candidate 2 of step write did not succeed \(failed\)/);
    const missing = await cli(['pick', 'best', 'write', '7', '--repo', repo.dir]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /has no candidate 7; its candidates: 1, 2 and 3/);
    const bad = await cli(['pick', 'best', 'write', 'x', '--repo', repo.dir]);
    assert.equal(bad.code, 2);
    const single = await cli(['pick', 'best', 'other', '1', '--repo', repo.dir]);
    assert.equal(single.code, 2);
    assert.match(single.stderr, /made one attempt/);
    const dependents = await cli(['pick', 'best', 'write', '3', '--repo', repo.dir]);
    assert.equal(dependents.code, 2);
    assert.match(dependents.stderr, /later started from candidate 1 of step write/);
    assert.equal((await report()).aggregate.commit, before);
  });
});

describe('checks: pick re-folds the aggregate with another candidate', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# pick\n' });
  });
  after(() => repo.cleanup());

  it("the step's result and the aggregate become the candidate's; picking it again changes nothing", async () => {
    const workflow = await writeWorkflow(repo, {
      steps: [
        { id: 'write', candidates: 2, run: 'case "$TAPPS_STEP_ID" in *@1) echo one > w.txt;; *@2) printf "two\\nlines\\n" > w.txt;; esac' },
        { id: 'other', run: 'echo o > o.txt' },
      ],
    });
    assert.equal((await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'refold'])).code, 0);
    const pick = await cli(['pick', 'refold', 'write', '2', '--repo', repo.dir]);
    assert.equal(pick.code, 0, pick.stderr);
    assert.match(pick.stdout, /Step write of run refold now uses candidate 2; the aggregate was folded again: [0-9a-f]{40}\./);
    const json = JSON.parse((await cli(['status', 'refold', '--repo', repo.dir, '--json'])).stdout) as Report & {
      steps: Array<{ id: string; result: string }>;
    };
    assert.equal(json.status, 'succeeded');
    assert.equal(repo.show(json.aggregate.commit, 'w.txt'), 'two\nlines\n');
    assert.equal(repo.show(json.aggregate.commit, 'o.txt'), 'o\n', "the other step's result is still folded in");
    assert.equal(json.candidates.find((c) => c.picked)?.candidate, 2);
    assert.equal(repo.git(['rev-parse', 'refs/tapps-flow/runs/refold/steps/write']), json.steps[0].result);
    const again = await cli(['pick', 'refold', 'write', '2', '--repo', repo.dir]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already; nothing was changed/);
    const apply = await cli(['apply', 'refold', '--repo', repo.dir]);
    assert.equal(apply.code, 0, apply.stderr);
    assert.equal(await repo.read('w.txt'), 'two\nlines\n');
  });
});
