import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CrashPoint } from '../../src/core/util/crashPoint';
import { buildCli, cli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';

interface Report {
  status: string;
  steps: Array<{ id: string; status: string; result: string | null }>;
  aggregate: { commit: string; tree: string } | null;
}

const SPEC: WorkflowSpec = {
  settings: { max_parallel: 2 },
  steps: [
    { id: 'a', run: 'echo a > a.txt' },
    { id: 'b', run: 'echo b > b.txt' },
    { id: 'c', run: 'cat a.txt b.txt > c.txt', needs: ['a', 'b'] },
  ],
};

/**
 * The engine is killed (`kill -9` of itself, see src/core/util/crashPoint.ts) at each point of a
 * run where a crash could leave something half done. After each: `status` tells the truth,
 * `resume` finishes the run with the aggregate an uncrashed run makes, and nothing left behind
 * (a temporary index, a lock, a trash folder) blocks a later run or cleanup.
 */
describe('hostile: kill -9 of the engine at every crash point', function () {
  this.timeout(180_000);
  let repo: TempRepo;
  let workflow: string;
  let clean: Report;

  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# crash\n' });
    workflow = await writeWorkflow(repo, SPEC);
    const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'clean', '--json']);
    assert.equal(result.code, 0, result.stderr);
    clean = JSON.parse(result.stdout) as Report;
  });
  after(() => repo.cleanup());

  const status = async (runId: string): Promise<Report> => {
    const result = await cli(['status', runId, '--repo', repo.dir, '--json']);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Report;
  };

  const cases: Array<{ point: CrashPoint; expect: (r: Report) => void }> = [
    {
      point: 'base-captured',
      // No run_started was recorded: there is no run to show, and the id is free again.
      expect: () => undefined,
    },
    {
      point: 'step-recorded',
      expect: (r) => {
        assert.equal(r.status, 'interrupted');
        assert.ok(
          r.steps.some((s) => s.status === 'succeeded'),
          'a recorded step keeps its result',
        );
        assert.ok(!r.steps.some((s) => s.status === 'running' || s.status === 'queued'), 'nothing claims to run');
      },
    },
    {
      point: 'steps-done',
      expect: (r) => {
        assert.equal(r.status, 'interrupted');
        assert.deepEqual(
          r.steps.map((s) => s.status),
          ['succeeded', 'succeeded', 'succeeded'],
        );
        assert.equal(r.aggregate, null);
      },
    },
    {
      point: 'aggregate-written',
      expect: (r) => {
        assert.equal(r.status, 'interrupted');
        assert.equal(r.aggregate, null, 'the aggregate is not recorded until its reports are written');
      },
    },
    {
      point: 'run-finished',
      expect: (r) => {
        assert.equal(r.status, 'succeeded');
        assert.equal(r.aggregate?.tree, clean.aggregate?.tree);
      },
    },
  ];

  for (const { point, expect } of cases) {
    it(`at ${point}: status tells the truth, resume finishes, nothing blocks what comes after`, async () => {
      const runId = `crash-${point}`;
      const crashed = await cli(['run', workflow, '--repo', repo.dir, '--run-id', runId], {
        env: { ...process.env, TAPPS_TEST_CRASH_AT: point },
      });
      assert.equal(crashed.signal, 'SIGKILL', `the engine died at ${point}: ${crashed.stderr}`);

      if (point === 'base-captured') {
        const listed = await cli(['status', '--repo', repo.dir]);
        assert.equal(listed.code, 0, listed.stderr);
        assert.doesNotMatch(listed.stdout, new RegExp(runId));
        const again = await cli(['run', workflow, '--repo', repo.dir, '--run-id', runId, '--json']);
        assert.equal(again.code, 0, `the id is free again: ${again.stderr}`);
        assert.equal((JSON.parse(again.stdout) as Report).aggregate?.tree, clean.aggregate?.tree);
      } else {
        const report = await status(runId);
        expect(report);
        if (report.status !== 'succeeded') {
          const resumed = await cli(['resume', runId, '--repo', repo.dir, '--json']);
          assert.equal(resumed.code, 0, resumed.stderr);
          const done = JSON.parse(resumed.stdout) as Report;
          assert.equal(done.status, 'succeeded');
          assert.equal(done.aggregate?.commit, clean.aggregate?.commit, 'the aggregate of an uncrashed run');
        } else {
          const resumed = await cli(['resume', runId, '--repo', repo.dir]);
          assert.equal(resumed.code, 2, 'a finished run has nothing to resume');
          assert.match(resumed.stderr, /nothing to resume/);
        }
        assert.equal((await status(runId)).status, 'succeeded');
      }
      // Nothing left behind blocks a later run or cleanup.
      const later = await cli(['run', workflow, '--repo', repo.dir, '--run-id', `${runId}-after`]);
      assert.equal(later.code, 0, later.stderr);
      const cleaned = await cli(['cleanup', '--keep', '0', '--repo', repo.dir]);
      assert.equal(cleaned.code, 0, cleaned.stderr);
      const tmp = path.join(repo.dir, '.git', 'tapps-flow', 'tmp');
      assert.deepEqual(existsSync(tmp) ? await readdir(tmp) : [], [], 'no temporary file is left');
      const locks = path.join(repo.dir, '.git', 'tapps-flow', 'locks');
      assert.deepEqual(
        (existsSync(locks) ? await readdir(locks) : []).filter((n) => n.endsWith('.lock')),
        [],
        'no lock is left held',
      );
      const trash = path.join(repo.dir, '.git', 'tapps-flow', 'worktrees', '.trash');
      assert.deepEqual(existsSync(trash) ? await readdir(trash) : [], [], 'no trash is left');
      assert.equal(
        repo
          .git(['worktree', 'list', '--porcelain'])
          .split('\n')
          .filter((l) => l.startsWith('worktree ')).length,
        1,
      );
    });
  }
});

describe('hostile: a run whose lock is taken away while it runs', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# lock\n' });
  });
  after(() => repo.cleanup());

  it('stops its steps and records nothing more; status shows it interrupted and resume finishes it', async () => {
    const lockDir = path.join(repo.dir, '.git', 'tapps-flow', 'locks');
    const flag = path.join(repo.outside, 'robbed-once');
    // The step deletes its own run's lock (a step is code no one reviewed), then would run on.
    const workflow = await writeWorkflow(
      repo,
      {
        steps: [
          {
            id: 'thief',
            run: `if [ -f "${flag}" ]; then echo ok > ok.txt; else touch "${flag}"; rm -rf "${lockDir}/run-$TAPPS_RUN_ID.lock"; sleep 60; fi`,
          },
        ],
      },
      'thief.yaml',
    );
    const started = Date.now();
    const first = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'robbed']);
    assert.equal(first.code, 1, first.stderr);
    assertStoppedInTime(started);
    assert.match(
      first.stderr,
      // The command is named as it works from where the CLI was started (see the CLI's commandName).
      /^tapps-flow: Run robbed stopped: its lock .* was taken away while it ran.*Resume it with: (?:npx --no -- tapps-flow|tapps-flow|node \S+cli\.js) resume robbed\n$/,
    );
    const events = await readFile(path.join(repo.dir, '.tapps-agents', 'workflow-state', 'robbed', 'events.jsonl'), 'utf8');
    assert.doesNotMatch(events, /"run_finished"/, 'nothing recorded after the lock was lost');
    const status = await cli(['status', 'robbed', '--repo', repo.dir, '--json']);
    assert.equal((JSON.parse(status.stdout) as Report).status, 'interrupted');
    const resumed = await cli(['resume', 'robbed', '--repo', repo.dir, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((JSON.parse(resumed.stdout) as Report).status, 'succeeded');
  });
});

/** The step slept 60 s: a run that stops its steps on losing its lock ends well before. */
function assertStoppedInTime(started: number): void {
  assert.ok(Date.now() - started < 45_000, `the run went on for ${Date.now() - started} ms after losing its lock`);
}

describe('hostile: kill -9 in the middle of a resolve', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'shared.txt': 'one\ntwo\nthree\n' });
  });
  after(() => repo.cleanup());

  it('after its new aggregate is in git and before its events: the run stays usable, resolve and apply work', async () => {
    const workflow = await writeWorkflow(
      repo,
      {
        steps: [
          { id: 'left', run: "sed -i 's/two/LEFT/' shared.txt" },
          { id: 'right', run: "sed -i 's/two/RIGHT/' shared.txt" },
        ],
      },
      'clash.yaml',
    );
    const run = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'clash']);
    assert.equal(run.code, 3, run.stderr);
    const crashed = await cli(['resolve', 'clash', 'shared.txt', '--take', 'right', '--repo', repo.dir], {
      env: { ...process.env, TAPPS_TEST_CRASH_AT: 'resolve-ref-written' },
    });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const status = await cli(['status', 'clash', '--repo', repo.dir, '--json']);
    assert.equal((JSON.parse(status.stdout) as Report & { conflicts: unknown[] }).conflicts.length, 1, 'the resolution was not recorded');
    const again = await cli(['resolve', 'clash', 'shared.txt', '--take', 'right', '--repo', repo.dir]);
    assert.equal(again.code, 0, again.stderr);
    const applied = await cli(['apply', 'clash', '--repo', repo.dir]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(await repo.read('shared.txt'), 'one\nRIGHT\nthree\n');
  });

  it('after its new aggregate is recorded and before the conflict is: the conflict stays listed, apply refuses, a resolve again works', async () => {
    repo.git(['checkout', '--', 'shared.txt']);
    const workflow = await writeWorkflow(
      repo,
      {
        steps: [
          { id: 'left', run: "sed -i 's/three/LEFT/' shared.txt" },
          { id: 'right', run: "sed -i 's/three/RIGHT/' shared.txt" },
        ],
      },
      'clash-again.yaml',
    );
    const run = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'clash-again']);
    assert.equal(run.code, 3, run.stderr);
    const crashed = await cli(['resolve', 'clash-again', 'shared.txt', '--take', 'right', '--repo', repo.dir], {
      env: { ...process.env, TAPPS_TEST_CRASH_AT: 'resolve-aggregate-recorded' },
    });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const status = JSON.parse((await cli(['status', 'clash-again', '--repo', repo.dir, '--json'])).stdout) as Report & {
      conflicts: unknown[];
    };
    assert.equal(status.status, 'conflicted', 'a run whose resolution was not recorded says resolved');
    assert.equal(status.conflicts.length, 1);
    const refused = await cli(['apply', 'clash-again', '--repo', repo.dir]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /unresolved conflict/);
    const again = await cli(['resolve', 'clash-again', 'shared.txt', '--take', 'right', '--repo', repo.dir]);
    assert.equal(again.code, 0, again.stderr);
    const applied = await cli(['apply', 'clash-again', '--repo', repo.dir]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(await repo.read('shared.txt'), 'one\ntwo\nRIGHT\n');
  });
});

describe('hostile: kill -9 in the middle of deleting a run', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# deleting\n' });
  });
  after(() => repo.cleanup());

  it('after its state folder is set aside: no run is listed as damaged, and the next cleanup deletes what was left', async () => {
    const workflow = await writeWorkflow(repo, { steps: [{ id: 'only', run: 'echo x > x.txt' }] }, 'doomed.yaml');
    assert.equal((await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'doomed'])).code, 0);
    const crashed = await cli(['cleanup', '--keep', '0', '--repo', repo.dir], {
      env: { ...process.env, TAPPS_TEST_CRASH_AT: 'run-state-aside' },
    });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const runs = path.join(repo.dir, '.tapps-agents', 'workflow-state');
    assert.deepEqual((await readdir(runs)).filter((n) => n.startsWith('.deleted-doomed.')).length, 1, 'set aside');
    const status = await cli(['status', '--repo', repo.dir]);
    assert.equal(status.code, 0, status.stderr);
    assert.doesNotMatch(status.stdout + status.stderr, /doomed|damaged|not a run folder/);
    const again = await cli(['cleanup', '--repo', repo.dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await readdir(runs), []);
  });
});
