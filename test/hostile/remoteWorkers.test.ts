import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Job, Queue, Worker } from 'bullmq';
import { queueAddress } from '../../src/core/remote/queueUrl';
import { QUEUE_NAME } from '../../src/core/remote/stepJob';
import { buildCli, cli, startCli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { waitFor } from '../unit/helpers/wait';
import { writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';
import { taggedProcesses } from '../../src/core/process/stepProcesses';
import { deleteRun } from '../../src/core/cleanup/cleanup';
import { leftovers, stateOf, statusReport } from './helpers/runs';
import { Team } from './helpers/team';

interface Report {
  readonly status: string;
  readonly aggregate: { readonly tree: string } | null;
  readonly steps: ReadonlyArray<{
    readonly id: string;
    readonly status: string;
    readonly error: string | null;
    readonly worker?: string | null;
  }>;
}

/** Eight steps, some side by side, some after others, two of them writing the same file (a conflict in the report). */
const EIGHT: WorkflowSpec = {
  steps: [
    { id: 'a', run: 'echo a > a.txt', creates: ['a.txt'] },
    { id: 'b', run: 'echo b > b.txt; echo "::progress:: 50 half way"', creates: ['b.txt'] },
    { id: 'c', run: 'printf "one\\nc\\nthree\\n" > shared.txt', creates: ['shared.txt'] },
    { id: 'd', run: 'printf "one\\nd\\nthree\\n" > shared.txt', creates: ['shared.txt'] },
    { id: 'e', run: 'cat a.txt b.txt > e.txt', requires: ['a.txt', 'b.txt'], creates: ['e.txt'] },
    { id: 'f', run: 'mkdir -p out && echo f > out/f.txt', creates: ['out/f.txt'] },
    { id: 'g', run: 'cat e.txt > g.txt && rm README.md', requires: ['e.txt'], creates: ['g.txt'] },
    { id: 'h', run: 'echo h >> README.md', needs: ['f'] },
  ],
};

describe('hostile: steps on workers (queue runner, real redis-server, a bare remote, worker processes)', function () {
  this.timeout(180_000);
  let repo: TempRepo;
  let team: Team;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# team\n', 'notes.txt': 'kept\n' });
    team = await Team.start(repo);
    await team.startWorker('w1', ['--concurrency', '4']);
    await team.startWorker('w2', ['--concurrency', '4']);
  });
  after(async () => {
    await team?.stop();
    await repo?.cleanup();
  });

  it('the same 8 steps run here and on two workers give the same aggregate tree and the same report bytes', async () => {
    const workflow = await writeWorkflow(repo, EIGHT, 'eight.yaml');
    // Uncommitted work travels with the base.
    await repo.write('notes.txt', 'edited, not committed\n');
    const local = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'local-8', '--runner', 'local']);
    const queued = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'queued-8', ...team.flags]);
    assert.equal(local.code, 3, `${local.stdout}\n${local.stderr}`); // conflicted: c and d
    assert.equal(queued.code, 3, `${queued.stdout}\n${queued.stderr}`);
    const [a, b] = [await statusReport<Report>(repo, 'local-8'), await statusReport<Report>(repo, 'queued-8')];
    assert.equal(b.aggregate?.tree, a.aggregate?.tree, 'the same aggregate tree');
    for (const file of ['conflicts.md', 'conflicts.json']) {
      const read = (run: string) => readFile(stateOf(repo, run, file), 'utf8');
      assert.equal(await read('queued-8'), await read('local-8'), `${file}: the same bytes`);
    }
    const workers = new Set(b.steps.map((s) => s.worker));
    assert.ok(
      [...workers].every((w) => w === 'w1' || w === 'w2'),
      `every step ran on a worker: ${[...workers].join(', ')}`,
    );
    assert.match(queued.stdout, /uncommitted work included/);
    const events = await readFile(stateOf(repo, 'queued-8', 'events.jsonl'), 'utf8');
    assert.match(events, /"step":"b","type":"step_progress","percent":50,"message":"half way"/, "a worker's progress is recorded");
    const log = await readFile(stateOf(repo, 'queued-8', 'steps', 'b', 'log.txt'), 'utf8');
    assert.match(log, /::progress:: 50 half way/, "the worker's log lines are in the step's log");
    assert.deepEqual(team.remoteRefs('queued-8'), [], "the run's refs are deleted from the remote when it ends");
    assert.equal(repo.show('refs/tapps-flow/runs/queued-8/base', 'notes.txt'), 'edited, not committed\n');
    repo.git(['checkout', '--', 'notes.txt']);
  });

  it('kill -9 of a worker in the middle of a step: the step is retried on the other worker and the run succeeds with the same aggregate', async () => {
    const spec: WorkflowSpec = {
      settings: { max_parallel: 1 },
      steps: [{ id: 'slow', run: 'sleep 2; echo done > slow.txt', creates: ['slow.txt'] }],
    };
    const workflow = await writeWorkflow(repo, spec, 'slow.yaml');
    const local = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'slow-local']);
    assert.equal(local.code, 0, local.stderr);
    const run = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'slow-queued', ...team.flags]);
    const taker = await waitFor('a worker to take the step', () =>
      [...team.workers.values()].find((w) => w.output.includes('step slow of run slow-queued (attempt 1): taken')),
    );
    await waitFor("the step's processes on the worker", () => leftovers('slow-queued') > 0, 30_000);
    await taker.kill('SIGKILL');
    const result = await run.done;
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const report = await statusReport<Report>(repo, 'slow-queued');
    assert.equal(report.aggregate?.tree, (await statusReport<Report>(repo, 'slow-local')).aggregate?.tree);
    const other = [...team.workers.values()].find((w) => w !== taker)!;
    assert.equal(report.steps[0].worker, other.name, 'the step ended on the other worker');
    const events = await readFile(stateOf(repo, 'slow-queued', 'events.jsonl'), 'utf8');
    assert.match(events, new RegExp(`"step":"slow","type":"step_retried","attempt":2,"reason":"worker ${taker.name} stopped answering`));
    await team.startWorker(taker.name, ['--concurrency', '4']);
  });

  it('cancel from the CLI stops the remote step and its processes on the worker', async () => {
    const workflow = await writeWorkflow(repo, { steps: [{ id: 'long', run: 'sleep 120' }] }, 'long.yaml');
    const run = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'cancel-q', ...team.flags]);
    await waitFor("the step's processes on a worker", () => leftovers('cancel-q') > 0, 30_000);
    const cancel = await cli(['cancel', 'cancel-q', '--repo', repo.dir]);
    assert.equal(cancel.code, 0, cancel.stderr);
    const result = await run.done;
    assert.equal(result.code, 130, `${result.stdout}\n${result.stderr}`);
    await waitFor("the step's processes to be gone", () => leftovers('cancel-q') === 0, 15_000);
    const report = await statusReport<Report>(repo, 'cancel-q');
    assert.equal(report.steps[0].status, 'cancelled');
  });

  it('the engine killed mid-step: the worker goes on alone; resume stops that job and runs the step again', async () => {
    const workflow = await writeWorkflow(
      repo,
      { steps: [{ id: 'orphaned', run: 'sleep 15; echo o > o.txt', creates: ['o.txt'] }] },
      'engine-dies.yaml',
    );
    const run = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'engine-dies', ...team.flags]);
    const events = stateOf(repo, 'engine-dies', 'events.jsonl');
    await waitFor(
      'the step started on a worker, with its job',
      async () => (await readFile(events, 'utf8').catch(() => '')).includes('"job":'),
      30_000,
    );
    const earlier = new Set(
      taggedProcesses()
        .filter((p) => p.runId === 'engine-dies')
        .map((p) => p.token),
    );
    assert.ok(earlier.size > 0, "the step's processes on the worker");
    run.child.kill('SIGKILL');
    await run.done;
    assert.ok(leftovers('engine-dies') > 0, 'the worker goes on without the engine');
    const resumed = startCli(['resume', 'engine-dies', '--repo', repo.dir, '--queue', team.url]);
    // Well before its 15 s end: the resumed run asked the earlier job to stop.
    await waitFor('the earlier job stopped', () => taggedProcesses().every((p) => !earlier.has(p.token)), 12_000);
    const result = await resumed.done;
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal((await statusReport<Report>(repo, 'engine-dies')).steps[0].status, 'succeeded');
    assert.deepEqual(team.remoteRefs('engine-dies'), []);
  });

  it('Redis stopped mid-run: the run fails with a clear message instead of hanging, and resumes once Redis is back', async () => {
    const workflow = await writeWorkflow(
      repo,
      {
        steps: [
          { id: 'quick', run: 'echo q > q.txt', creates: ['q.txt'] },
          { id: 'held', run: 'sleep 4; echo h > h.txt', creates: ['h.txt'] },
        ],
      },
      'redis.yaml',
    );
    const run = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'redis-lost', ...team.flags]);
    await waitFor('the held step to run on a worker', () => leftovers('redis-lost') > 0, 30_000);
    const stoppedAt = Date.now();
    await team.stopRedis();
    const result = await run.done;
    assert.ok(Date.now() - stoppedAt < 40_000, 'the run ended soon after the queue was lost');
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
    const report = await statusReport<Report>(repo, 'redis-lost');
    const held = report.steps.find((s) => s.id === 'held')!;
    assert.equal(held.status, 'failed');
    assert.match(
      held.error ?? '',
      /the queue at redis:\/\/127\.0\.0\.1:\d+ stopped answering .*Start the queue again, then resume the run: tapps-flow resume redis-lost/,
    );
    await team.startRedis();
    const resumed = await cli(['resume', 'redis-lost', '--repo', repo.dir, '--queue', team.url]);
    assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
    assert.equal((await statusReport<Report>(repo, 'redis-lost')).status, 'succeeded');
  });

  it('an unreachable queue or remote is refused before anything is written (exit 2)', async () => {
    const workflow = await writeWorkflow(repo, { steps: [{ id: 's', run: 'true' }] }, 'refused.yaml');
    const cases = [
      { args: ['--queue', 'redis://127.0.0.1:1'], message: /The queue at redis:\/\/127\.0\.0\.1:1 does not answer/ },
      {
        args: ['--queue', team.url, '--remote', path.join(repo.root, 'nowhere.git')],
        message: /The team remote .*nowhere\.git cannot be reached/,
      },
      {
        args: ['--queue', 'http://example.com'],
        message: /The queue's address "http:\/\/example\.com" cannot be used: its scheme is "http"/,
      },
      { args: [], message: /no queue is set/, env: { TAPPS_QUEUE_URL: '' } },
    ];
    for (const [i, c] of cases.entries()) {
      const runId = `refused-${i}`;
      const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', runId, '--runner', 'queue', ...c.args], {
        env: { ...process.env, ...(c.env ?? {}) },
      });
      assert.equal(result.code, 2, `${c.args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, c.message);
      assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
      assert.ok(!existsSync(stateOf(repo, runId)), 'no state written');
      assert.equal(repo.git(['for-each-ref', `refs/tapps-flow/runs/${runId}/`]), '', 'no ref written');
    }
  });
});

describe('hostile: what travels through the queue is checked at both ends', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  let team: Team;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# checked\n' });
    team = await Team.start(repo);
  });
  after(async () => {
    await team?.stop();
    await repo?.cleanup();
  });

  it("a worker that names a result the remote does not hold, or one off the step's base, has it refused", async () => {
    // A worker of the test's own: it takes the job and answers with a commit of its choosing.
    const other = repo.git(['commit-tree', repo.git(['rev-parse', 'HEAD^{tree}']), '-m', 'not on the base']);
    const answers = [
      { name: 'unheld', commit: 'f'.repeat(40), tree: 'e'.repeat(40), message: /could not fetch through the team remote/ },
      { name: 'offbase', commit: other, tree: repo.git(['rev-parse', 'HEAD^{tree}']), message: /is not on the step's base/ },
    ];
    for (const answer of answers) {
      const liar = new Worker(
        QUEUE_NAME,
        (job) => {
          const data = job.data as { runId: string; key: string };
          // The commit the worker names is on the remote, under the step's ref (or nowhere at all).
          if (answer.name === 'offbase')
            repo.git(['push', '-q', team.remote, `${answer.commit}:refs/tapps-flow/runs/${data.runId}/steps/${data.key}`]);
          return Promise.resolve({
            worker: 'liar',
            outcome: { status: 'succeeded', commit: answer.commit, tree: answer.tree, warnings: [], submoduleWrites: [] },
          });
        },
        { connection: queueAddress(team.url).options },
      );
      try {
        const workflow = await writeWorkflow(repo, { steps: [{ id: 's', run: 'true' }] }, `liar-${answer.name}.yaml`);
        const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', `liar-${answer.name}`, ...team.flags]);
        assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
        const step = (await statusReport<Report>(repo, `liar-${answer.name}`)).steps[0];
        assert.equal(step.status, 'failed');
        assert.match(step.error ?? '', answer.message);
        assert.equal(repo.git(['for-each-ref', `refs/tapps-flow/runs/liar-${answer.name}/steps/`]), '', 'nothing is kept as its result');
      } finally {
        await liar.close();
      }
    }
  });

  it('the only worker killed mid-step: the run notices by itself, and the step waits for the next worker', async () => {
    const lone = await team.startWorker('lone');
    const workflow = await writeWorkflow(
      repo,
      { steps: [{ id: 'slow', run: 'sleep 2; echo s > s.txt', creates: ['s.txt'] }] },
      'lone.yaml',
    );
    const run = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'lone-worker', ...team.flags]);
    await waitFor('the worker to take the step', () => lone.output.includes('(attempt 1): taken'));
    await lone.kill('SIGKILL');
    const events = stateOf(repo, 'lone-worker', 'events.jsonl');
    await waitFor('the retry to be recorded', async () => (await readFile(events, 'utf8')).includes('"type":"step_retried"'), 30_000);
    await waitFor(
      'the run to say the step waits for a worker',
      async () => (await readFile(events, 'utf8')).includes('"reason":"worker"'),
      30_000,
    );
    const late = await team.startWorker('late');
    const result = await run.done;
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal((await statusReport<Report>(repo, 'lone-worker')).steps[0].worker, 'late');
    await late.kill('SIGTERM');
  });

  it('a worker started again stops what the steps of its killed self left running (no bubblewrap: tagged processes)', async () => {
    const env = { TAPPS_NO_BWRAP: '1' };
    const worker = await team.startWorker('tagged', [], env);
    const spec: WorkflowSpec = { settings: { queue_attempts: 1 }, steps: [{ id: 'stuck', run: 'sleep 120' }] };
    const workflow = await writeWorkflow(repo, spec, 'left-running.yaml');
    const run = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'left-running', ...team.flags]);
    await waitFor("the step's processes on the worker", () => leftovers('left-running') > 0, 30_000);
    await worker.kill('SIGKILL');
    const result = await run.done;
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
    const step = (await statusReport<Report>(repo, 'left-running')).steps[0];
    assert.match(step.error ?? '', /worker tagged stopped answering while it ran the step, and it was tried 1 time in all/);
    assert.ok(leftovers('left-running') > 0, 'without bubblewrap they outlive their worker');
    // Beside its tag, a file it did not write whole: read as nothing, never a reason not to start.
    await writeFile(path.join(team.workerDir('tagged'), 'running', 'torn.json'), '{"runId":"left-');
    const again = await team.startWorker('tagged', [], env);
    assert.match(again.output, /stopped the processes step stuck of run left-running left running when this worker last stopped/);
    assert.equal(leftovers('left-running'), 0);
    await again.kill('SIGTERM');
  });

  it("a second worker given a running worker's folder is refused (exit 2), and the first one's step goes on", async () => {
    // Without bubblewrap: were the second one to sweep the folder, it would stop the first one's step.
    const env = { TAPPS_NO_BWRAP: '1' };
    const owner = await team.startWorker('owner', [], env);
    const spec: WorkflowSpec = {
      settings: { queue_attempts: 1 },
      steps: [{ id: 'slow', run: 'sleep 3; echo s > s.txt', creates: ['s.txt'] }],
    };
    const workflow = await writeWorkflow(repo, spec, 'shared-folder.yaml');
    const run = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'shared-folder', ...team.flags]);
    await waitFor("the step's processes on the worker", () => leftovers('shared-folder') > 0, 30_000);
    const intruder = startCli(team.workerArgs('intruder', team.workerDir('owner')), { env: { ...process.env, ...env } });
    try {
      await waitFor('the second worker to end', () => intruder.child.exitCode !== null, 20_000);
      const refused = await intruder.done;
      assert.equal(refused.code, 2, `${refused.stdout}\n${refused.stderr}`);
      assert.match(
        refused.stderr,
        /the folder .*owner is in use by another worker, pid \d+ .*\(the worker owner, since .*give each worker a folder of its own/,
      );
      assert.doesNotMatch(refused.stdout, /stopped the processes/);
      const result = await run.done;
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      assert.equal((await statusReport<Report>(repo, 'shared-folder')).steps[0].worker, 'owner');
    } finally {
      intruder.child.kill('SIGKILL');
      await owner.kill('SIGTERM');
    }
    // Stopped, the folder is free again.
    const next = await team.startWorker('owner', [], env);
    await next.kill('SIGTERM');
  });

  it('--queue and --remote given to a run whose steps run here are said to be unused, and nothing is pushed', async () => {
    const workflow = await writeWorkflow(repo, { steps: [{ id: 'here', run: 'echo h > h.txt' }] }, 'here.yaml');
    const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'here', '--queue', team.url, '--remote', team.remote]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(
      result.stderr,
      /^warning: --queue and --remote not used: the steps of run here run on this machine \(add --runner queue to run them on workers\)$/m,
    );
    assert.equal((await statusReport<Report>(repo, 'here')).steps[0].worker, null);
    assert.deepEqual(team.remoteRefs('here'), []);
  });

  it('a job that is not a step is failed by the worker with what is wrong, and the worker goes on', async () => {
    // The queue's address given to the worker in its environment, which its steps must not see.
    const worker = await team.startWorker('strict', [], { TAPPS_QUEUE_URL: team.url, TAPPS_QUEUE_REMOTE: team.remote });
    const queue = new Queue(QUEUE_NAME, { connection: queueAddress(team.url).options });
    try {
      const job = await queue.add('step', { version: 1, runId: '../../etc', key: 'x', attempt: 1 });
      await waitFor('the job to fail', async () => (await job.getState()) === 'failed', 20_000);
      const failed = await Job.fromId(queue, job.id!);
      assert.match(failed?.failedReason ?? '', /its job is not a step of this version \(1\) of Tapps Flow: runId: /);
      assert.equal(worker.child.exitCode, null, 'the worker still runs');
      const run = 'test -z "${TAPPS_QUEUE_URL-}${TAPPS_QUEUE_REMOTE-}" && echo ok > ok.txt';
      const workflow = await writeWorkflow(repo, { steps: [{ id: 'after', run, creates: ['ok.txt'] }] }, 'after.yaml');
      const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'after-bad-job', ...team.flags]);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    } finally {
      await queue.close();
      await worker.kill('SIGTERM');
    }
  });

  it('cleanup of a run whose engine died deletes its refs from the team remote, and keeps the run while it cannot', async () => {
    const worker = await team.startWorker('sweeper');
    const workflow = await writeWorkflow(
      repo,
      { steps: [{ id: 'left', run: 'sleep 2; echo l > l.txt', creates: ['l.txt'] }] },
      'left.yaml',
    );
    /** A run whose engine is killed while its step runs on the worker, which then finishes the step. */
    const leaveRun = async (runId: string) => {
      const run = startCli(['run', workflow, '--repo', repo.dir, '--run-id', runId, ...team.flags]);
      const events = stateOf(repo, runId, 'events.jsonl');
      await waitFor('the step taken by the worker', async () => (await readFile(events, 'utf8').catch(() => '')).includes('"job":'));
      run.child.kill('SIGKILL');
      await run.done;
      await waitFor('the worker to push its result', () => worker.output.includes(`step left of run ${runId} (attempt 1): succeeded`));
      return team.remoteRefs(runId);
    };
    const state = stateOf(repo, 'engine-gone');
    const left = await leaveRun('engine-gone');
    assert.ok(left.includes('refs/tapps-flow/runs/engine-gone/base') && left.length === 2, left.join(', '));
    // Delete Run… in the editor: the same, through the remote of the user's settings.
    const other = await leaveRun('engine-gone-too');
    await assert.rejects(
      deleteRun(repo.dir, 'engine-gone-too', path.join(repo.root, 'elsewhere.git')),
      /went through the team remote origin/,
    );
    assert.deepEqual(team.remoteRefs('engine-gone-too'), other);
    await deleteRun(repo.dir, 'engine-gone-too');
    assert.deepEqual(team.remoteRefs('engine-gone-too'), []);
    const cleanup = (...extra: string[]) => cli(['cleanup', '--repo', repo.dir, '--keep', '0', ...extra]);
    try {
      // A remote other than the one the run names: its refs are not there, so the run is kept.
      const elsewhere = await cleanup('--remote', path.join(repo.root, 'elsewhere.git'));
      assert.equal(elsewhere.code, 0, elsewhere.stderr);
      assert.match(
        elsewhere.stderr,
        /^Kept run engine-gone: its steps went through the team remote origin, not .*elsewhere\.git: name that one \(--remote, tappsFlow.queueRemote\) to delete its refs there/m,
      );
      // The remote does not answer: kept, and said.
      await rename(team.remote, `${team.remote}.away`);
      const away = await cleanup();
      await rename(`${team.remote}.away`, team.remote);
      assert.match(
        away.stderr,
        /^Kept run engine-gone: its refs on the team remote could not be deleted \(could not list refs through the team remote origin: .*\); run the cleanup again/m,
      );
      assert.ok(existsSync(state), 'the run is kept');
      assert.deepEqual(team.remoteRefs('engine-gone'), left);
      const dry = await cleanup('--dry-run');
      assert.match(dry.stdout, /^Would remove run engine-gone \(\w+\): .* and 2 refs on the team remote, its state folder$/m);
      assert.deepEqual(team.remoteRefs('engine-gone'), left);
      const done = await cleanup();
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /^Removed run engine-gone \(\w+\): .* and 2 refs on the team remote, its state folder$/m);
      assert.deepEqual(team.remoteRefs('engine-gone'), []);
      assert.ok(!existsSync(state));
    } finally {
      await worker.kill('SIGTERM');
    }
  });
});
