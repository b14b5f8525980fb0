import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildCli, cli, startCli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { waitFor } from '../unit/helpers/wait';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';
import {
  assertPlantedStartSignalsNothing,
  assertRefusedWithNothingWritten,
  CONTAINMENT_MODES,
  leftovers,
  statusReport,
} from './helpers/runs';

interface Report {
  status: string;
  aggregate: { tree: string } | null;
  culprits: Array<{ check: string; steps: string[] }>;
  alternative: { tree: string; leftOut: string[] } | null;
  checks: Array<{ check: string; status: string }>;
}

const PAIR: WorkflowSpec = {
  checks: [{ name: 'test', run: '! { test -e b.txt && test -e c.txt; }' }],
  steps: [
    { id: 'a', run: 'echo a > a.txt' },
    { id: 'b', run: 'echo b > b.txt' },
    { id: 'c', run: 'echo c > c.txt' },
  ],
};

/** The worktrees git knows besides the main one. */
function extraWorktrees(repo: TempRepo): string[] {
  return repo
    .git(['worktree', 'list', '--porcelain'])
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .slice(1);
}

describe('hostile: checks', function () {
  this.timeout(180_000);
  let repo: TempRepo;
  const status = (runId: string) => statusReport<Report>(repo, runId);
  before(() => buildCli());
  beforeEach(async () => {
    repo = await makeTempRepo({ 'README.md': '# hostile checks\n' });
  });
  afterEach(() => repo.cleanup());

  it('kill -9 of the engine right after a check run ended: status tells the truth, resume finishes with what an uncrashed run finds', async () => {
    const workflow = await writeWorkflow(repo, PAIR);
    const clean = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'clean', '--json']);
    assert.equal(clean.code, 5, clean.stderr);
    const expected = JSON.parse(clean.stdout) as Report;
    const crashed = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'crashed'], {
      env: { ...process.env, TAPPS_TEST_CRASH_AT: 'check-finished' },
    });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const found = await status('crashed');
    assert.equal(found.status, 'interrupted');
    assert.equal(found.aggregate?.tree, expected.aggregate?.tree, 'the aggregate made before the checks is kept');
    assert.ok(found.checks.length >= 1, 'the check run that ended is recorded');
    const resumed = await cli(['resume', 'crashed', '--repo', repo.dir, '--json']);
    assert.equal(resumed.code, 5, resumed.stderr);
    const done = JSON.parse(resumed.stdout) as Report;
    assert.equal(done.status, 'checks_failed');
    assert.deepEqual(done.culprits, expected.culprits);
    assert.equal(done.alternative?.tree, expected.alternative?.tree);
    assert.equal(leftovers('crashed'), 0);
    const cleaned = await cli(['cleanup', '--keep', '0', '--repo', repo.dir]);
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.deepEqual(extraWorktrees(repo), [], 'no worktree is left registered once cleaned up');
  });

  for (const mode of CONTAINMENT_MODES) {
    it(`a check that leaves a daemon behind (setsid, nohup) does not outlive its check run (${mode.name})`, async () => {
      const late = path.join(repo.outside, 'late-write');
      const workflow = await writeWorkflow(repo, {
        checks: [
          {
            name: 'daemon',
            run: `setsid sh -c 'sleep 2; echo escaped > ${late}' & nohup sh -c 'sleep 2; echo escaped > ${late}' >/dev/null 2>&1 & exit 0`,
          },
        ],
        steps: [{ id: 'a', run: 'echo a > a.txt' }],
      });
      const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'daemon', '--json'], {
        env: { ...process.env, ...mode.env },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(leftovers('daemon'), 0, 'no process of the check is left once the run has ended');
      await sleep(3_000);
      assert.equal(existsSync(late), false, 'the daemon wrote after its check ended');
    });
  }

  it("cancelling the run while a check runs stops the check's processes and ends the run cancelled", async () => {
    const started = path.join(repo.outside, 'check-started');
    const workflow = await writeWorkflow(repo, {
      settings: { kill_grace_seconds: 1 },
      checks: [{ name: 'slow', run: `touch ${started}; sleep 60` }],
      steps: [{ id: 'a', run: 'echo a > a.txt' }],
    });
    const { child, done } = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'cancelled', '--json']);
    await waitFor('the check to start', () => Promise.resolve(existsSync(started)), 30_000);
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    const report = await status('cancelled');
    assert.equal(report.status, 'cancelled');
    assert.deepEqual(
      report.checks.map((c) => [c.check, c.status]),
      [['slow', 'cancelled']],
    );
    assert.equal(leftovers('cancelled'), 0, "the check's processes are gone");
  });

  it('a planted check start naming a process of no run never gets it signalled', async () => {
    await assertPlantedStartSignalsNothing(
      repo,
      (pid, seq) => ({
        seq,
        time: '2026-01-01T00:00:01.000Z',
        type: 'check_started',
        n: 1,
        check: 'test',
        target: 'aggregate',
        steps: ['a'],
        commit: repo.git(['rev-parse', 'HEAD']),
        tree: repo.git(['rev-parse', 'HEAD^{tree}']),
        worktree: '/',
        pid,
        identity: null,
        token: '0123456789abcdef0123456789abcdef',
      }),
      [['status'], ['status', 'planted'], ['cleanup', '--dry-run']],
    );
  });

  for (const [what, checks, expected] of [
    [
      'a duplicate check name',
      [
        { name: 'test', run: 'true' },
        { name: 'Test', run: 'true' },
      ],
      /duplicate check name "Test"/,
    ],
    ['a check name that is a path', [{ name: '../../x', run: 'true' }], /invalid check id "\.\.\/\.\.\/x"/],
    [
      'an unknown place to run',
      [{ name: 'test', run: 'true', on: 'sometimes' }],
      /checks\[0\]\.on: expected one of "aggregate", "steps", "both", got the text "sometimes"/,
    ],
    ['an empty command', [{ name: 'test', run: '  ' }], /expected a command to run/],
    ['too many checks', Array.from({ length: 33 }, (_, i) => ({ name: `c${i}`, run: 'true' })), /expected at most 32 checks/],
  ] as const) {
    it(`${what} is refused with exit 2, a position, and nothing written`, () =>
      assertRefusedWithNothingWritten(repo, { checks, steps: [{ id: 'a', run: 'echo a > a.txt' }] }, expected));
  }
});
