import { strict as assert } from 'node:assert';
import { buildCli, cli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';
import { assertPlantedStartSignalsNothing, assertRefusedWithNothingWritten, leftovers, statusReport } from './helpers/runs';

interface Report {
  status: string;
  aggregate: { tree: string } | null;
  candidates: Array<{ step: string; candidate: number; status: string; picked: boolean }>;
}

const SPEC: WorkflowSpec = {
  settings: { max_parallel: 2 },
  steps: [
    {
      id: 'best',
      candidates: 3,
      run: 'case "$TAPPS_STEP_ID" in *@1) printf "a\\nb\\n" > f.txt;; *@2) echo a > f.txt;; *@3) sleep 0.5; echo c > f.txt;; esac',
    },
    { id: 'other', run: 'echo o > o.txt' },
  ],
};

describe('hostile: candidates', function () {
  this.timeout(180_000);
  let repo: TempRepo;
  const status = (runId: string) => statusReport<Report>(repo, runId);
  before(() => buildCli());
  beforeEach(async () => {
    repo = await makeTempRepo({ 'README.md': '# hostile candidates\n' });
  });
  afterEach(() => repo.cleanup());

  it('kill -9 of the engine right after a candidate ended: status tells the truth, resume picks what an uncrashed run picks', async () => {
    const workflow = await writeWorkflow(repo, SPEC);
    const clean = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'clean', '--json']);
    assert.equal(clean.code, 0, clean.stderr);
    const expected = JSON.parse(clean.stdout) as Report;
    const crashed = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'crashed'], {
      env: { ...process.env, TAPPS_TEST_CRASH_AT: 'candidate-finished' },
    });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const found = await status('crashed');
    assert.equal(found.status, 'interrupted');
    assert.ok(
      found.candidates.some((c) => c.status !== 'running'),
      'the candidate that ended is recorded',
    );
    assert.ok(!found.candidates.some((c) => c.picked), 'none is picked before every candidate ended');
    const resumed = await cli(['resume', 'crashed', '--repo', repo.dir, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const done = JSON.parse(resumed.stdout) as Report;
    assert.equal(done.aggregate?.tree, expected.aggregate?.tree);
    assert.deepEqual(
      done.candidates.map((c) => [c.candidate, c.status, c.picked]),
      expected.candidates.map((c) => [c.candidate, c.status, c.picked]),
    );
    assert.equal(leftovers('crashed'), 0);
    const cleaned = await cli(['cleanup', '--keep', '0', '--repo', repo.dir]);
    assert.equal(cleaned.code, 0, cleaned.stderr);
  });

  it('a planted candidate start naming a process of no run never gets it signalled', async () => {
    await assertPlantedStartSignalsNothing(
      repo,
      (pid, seq) => ({
        seq,
        time: '2026-01-01T00:00:01.000Z',
        type: 'candidate_started',
        step: 'a',
        candidate: 1,
        agent: 'shell',
        worktree: '/',
        pid,
        identity: null,
        token: '0123456789abcdef0123456789abcdef',
        base: repo.git(['rev-parse', 'HEAD']),
      }),
      [['status'], ['status', 'planted']],
    );
  });

  for (const [what, step, expected] of [
    ['more than 8 candidates', { id: 's', run: 'true', candidates: 9 }, /expected a whole number of attempts from 1 to 8/],
    [
      'candidates and agents both',
      { id: 's', agents: ['shell'], candidates: 2, run: 'true' },
      /"candidates" and "agents" both say how many attempts/,
    ],
    ['an unknown agent among agents', { id: 's', agents: ['shell', 'robot'], run: 'true' }, /unknown agent "robot"/],
    ['an empty score command', { id: 's', run: 'true', candidates: 2, score: ' ' }, /expected a command that prints a number/],
  ] as const) {
    it(`${what} is refused with exit 2, a position, and nothing written`, () =>
      assertRefusedWithNothingWritten(repo, { steps: [step] }, expected));
  }
});
