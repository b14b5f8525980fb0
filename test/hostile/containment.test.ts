import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processIdentity } from '../../src/core/process/processIdentity';
import { sandboxSupport } from '../../src/core/process/sandbox';
import { taggedProcesses } from '../../src/core/process/stepProcesses';
import { buildCli, cli, startCli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { waitFor } from '../unit/helpers/wait';
import { plantedEvents, plantRun, startVictim } from './helpers/planted';
import { CONTAINMENT_MODES, leftovers } from './helpers/runs';
import { sq, writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';

/**
 * Steps that try to outlive their step, or to write where they must not. Every process a step
 * started is gone when the step ends, however it detached; with the sandbox, writes outside the
 * worktree fail in the step. Each case runs both with bubblewrap (the kernel keeps the step's
 * processes in one PID namespace) and without it (`TAPPS_NO_BWRAP=1`: tagged processes, swept).
 */

interface Report {
  readonly status: string;
  readonly steps: ReadonlyArray<{ readonly id: string; readonly status: string; readonly error: string | null }>;
}

describe('hostile: every process of a step ends with it', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  let counter = 0;
  before(async function () {
    buildCli();
    if (!sandboxSupport().bwrap) throw new Error('bubblewrap is needed by this suite: apt-get install bubblewrap (npm test installs it)');
    repo = await makeTempRepo({ 'README.md': '# containment\n' });
  });
  after(() => repo.cleanup());

  async function run(spec: WorkflowSpec, env: NodeJS.ProcessEnv, extra: readonly string[] = []) {
    const runId = `contain-${++counter}`;
    const workflow = await writeWorkflow(repo, spec, `${runId}.yaml`);
    const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', runId, '--json', ...extra], {
      env: { ...process.env, ...env },
    });
    return { runId, result, report: JSON.parse(result.stdout || 'null') as Report | null };
  }

  for (const mode of CONTAINMENT_MODES) {
    describe(mode.name, () => {
      it('a setsid escape, a double fork and nohup are gone when the step ends; their later writes never happen', async () => {
        const marker = (name: string) => path.join(repo.outside, `${counter + 1}-${mode.env.TAPPS_NO_BWRAP ?? 'ns'}-${name}`);
        const files = ['setsid', 'fork', 'nohup'].map(marker);
        const { runId, result, report } = await run(
          {
            steps: [
              {
                id: 'escaper',
                run: [
                  `setsid sh -c 'sleep 2; echo escaped > ${sq(files[0])}' &`,
                  `(sh -c 'sleep 2; echo escaped > ${sq(files[1])}' &)`,
                  `nohup sh -c 'sleep 2; echo escaped > ${sq(files[2])}' >/dev/null 2>&1 &`,
                  'echo done > out.txt',
                ].join('\n'),
              },
            ],
          },
          mode.env,
        );
        assert.equal(result.code, 0, result.stderr);
        assert.equal(report?.status, 'succeeded');
        assert.equal(leftovers(runId), 0, 'no process of the step is left once the run has ended');
        await sleep(3_000);
        for (const file of files) assert.equal(existsSync(file), false, `${path.basename(file)} was written after the step ended`);
      });

      it('a grandchild that ignores SIGTERM is killed after the grace period when the step times out', async () => {
        const started = Date.now();
        const { runId, result, report } = await run(
          {
            settings: { kill_grace_seconds: 1 },
            steps: [{ id: 'stubborn', timeout_seconds: 1, run: `setsid sh -c "trap '' TERM; sleep 60" & sleep 60` }],
          },
          mode.env,
        );
        assert.equal(result.code, 1, result.stderr);
        assert.equal(report?.steps[0].status, 'timed_out');
        assert.equal(leftovers(runId), 0, 'nothing of the step is left');
        // Timeout (1 s) + grace (1 s) + 1 s, plus the run's own start and end.
        assert.ok(Date.now() - started < 10_000, `the run ended ${Date.now() - started} ms after it started`);
      });
    });
  }

  it('with bubblewrap, a process that clears its environment (env -i) cannot leave the step either', async () => {
    const marker = path.join(repo.outside, 'env-cleared');
    const { result } = await run(
      { steps: [{ id: 'cleared', run: `env -i /bin/sh -c 'sleep 2; echo escaped > ${sq(marker)}' & echo ok > out.txt` }] },
      {},
    );
    assert.equal(result.code, 0, result.stderr);
    await sleep(3_000);
    assert.equal(existsSync(marker), false);
  });

  it('the engine killed with steps running: with bubblewrap the kernel ends them at once', async () => {
    const marker = path.join(repo.outside, 'after-engine-death-ns');
    const begun = path.join(repo.outside, 'engine-death-ns-begun');
    const workflow = await writeWorkflow(
      repo,
      { steps: [{ id: 'long', run: `echo begun > ${sq(begun)}; sleep 3; echo escaped > ${sq(marker)}` }] },
      'killed-ns.yaml',
    );
    const runId = 'engine-killed-ns';
    const started = startCli(['run', workflow, '--repo', repo.dir, '--run-id', runId]);
    // The step's own command runs (bubblewrap has armed its parent-death signal by then). Killed
    // between its spawn and that moment, a sandbox can outlive the engine until the next command
    // sweeps the run's orphans (as the next test shows for steps without bubblewrap).
    await waitFor('the step has started', () => existsSync(begun) && leftovers(runId) > 0);
    started.child.kill('SIGKILL');
    await started.done;
    // Reaped at once by the kernel; a loaded machine may take a moment to show it in /proc. Had
    // the step outlived its engine, it would write the marker 3 s after it started.
    await waitFor('the step processes are gone', () => leftovers(runId) === 0, 5_000);
    await sleep(3_500);
    assert.equal(existsSync(marker), false, 'the step wrote after its engine died');
  });

  it('the engine killed with steps running: without bubblewrap the next command stops them, verified by tag and start time', async () => {
    const marker = path.join(repo.outside, 'after-engine-death-tag');
    const workflow = await writeWorkflow(
      repo,
      { steps: [{ id: 'long', run: `cd / && setsid sh -c 'sleep 4; echo escaped > ${sq(marker)}' & sleep 30` }] },
      'killed-tag.yaml',
    );
    const runId = 'engine-killed-tag';
    const env = { ...process.env, TAPPS_NO_BWRAP: '1' };
    const started = startCli(['run', workflow, '--repo', repo.dir, '--run-id', runId], { env });
    await waitFor('the step and its escapee have started', () => leftovers(runId) >= 2);
    // The engine dies once the step's start (its token) is recorded: before that, no later process
    // can tell its processes from anyone's (bubblewrap's namespace covers that moment).
    const events = path.join(repo.dir, '.tapps-agents', 'workflow-state', runId, 'events.jsonl');
    await waitFor('the step start is recorded', async () => (await readFile(events, 'utf8').catch(() => '')).includes('"step_started"'));
    started.child.kill('SIGKILL');
    await started.done;
    await sleep(300);
    assert.ok(leftovers(runId) >= 2, 'the orphans run on until an engine starts');
    // A process that copied the step's tag but started before the step is not the step's.
    const tags = taggedProcesses().filter((t) => t.runId === runId);
    const impostor = spawn('sleep', ['30'], { detached: true, stdio: 'ignore', env: { ...process.env } });
    impostor.unref();
    try {
      // Any command of the engine in this repository sweeps: here, the list of runs.
      const listed = await cli(['status', '--repo', repo.dir], { env });
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stderr, /Stopped the processes that step long of interrupted run engine-killed-tag left running/);
      assert.equal(leftovers(runId), 0, 'the orphans are gone');
      await sleep(4_500);
      assert.equal(existsSync(marker), false, 'the escapee wrote after the sweep');
      assert.ok(tags.length >= 2);
      assert.doesNotThrow(() => process.kill(impostor.pid!, 0), 'an unrelated process is untouched');
    } finally {
      impostor.kill('SIGKILL');
    }
  });

  it('a planted run naming a token: only processes started after its step are stopped, never an older one', async () => {
    const runId = 'planted-token';
    const token = 'ab'.repeat(16);
    const tagEnv = { ...process.env, TAPPS_RUN_ID: runId, TAPPS_STEP_ID: 'victim', TAPPS_STEP_TOKEN: token };
    const older = startVictim(tagEnv);
    await sleep(100);
    const reference = startVictim(process.env); // the step's own process, as the planted state records it
    await sleep(100);
    const younger = startVictim(tagEnv);
    try {
      const identity = processIdentity(reference.pid);
      assert.ok(identity);
      const events = plantedEvents(repo, runId, [{ id: 'victim', pid: reference.pid, identity }])
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .map((e) => (e.type === 'step_started' ? { ...e, token } : e));
      await plantRun(path.join(repo.dir, '.tapps-agents', 'workflow-state', runId), `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
      const listed = await cli(['status', '--repo', repo.dir]);
      assert.equal(listed.code, 0, listed.stderr);
      await waitFor('the younger tagged process is stopped', () => !younger.alive());
      assert.equal(older.alive(), true, "a process older than the step is not the step's, whatever its environment says");
      assert.equal(reference.alive(), true, 'an untagged process is untouched');
    } finally {
      for (const p of [older, reference, younger]) p.stop();
    }
  });

  describe('the sandbox (isolation: sandbox)', () => {
    it('writes outside the worktree fail in the step: the main checkout, config, a branch, a hook; git inside the worktree and a nested bwrap work', async () => {
      const before = { config: await readFile(path.join(repo.dir, '.git', 'config'), 'utf8'), branches: repo.git(['branch', '--list']) };
      const into = path.join(repo.dir, 'absolute.txt');
      const { runId, result, report } = await run(
        {
          settings: { isolation: 'sandbox' },
          steps: [
            {
              id: 'boxed',
              run: [
                'try() { if sh -c "$1" 2>>refused.txt; then echo "$2: allowed" >> outcome.txt; else echo "$2: refused" >> outcome.txt; fi; }',
                `try 'echo x > "$(git rev-parse --show-toplevel)/../../../../../../../../${path.relative('/', repo.dir)}/relative.txt"' relative`,
                `try 'echo x > ${sq(into)}' absolute`,
                `try 'git config user.name evil' config`,
                `try 'git checkout -q -b escapee' branch`,
                `try 'echo "#!/bin/sh" > "$(git rev-parse --git-common-dir)/hooks/pre-commit"' hook`,
                `try 'echo "gitdir: /" > .git' dotgit`,
                `try 'git add -A && git -c user.name=a -c user.email=a@a commit -q -m inside' commit`,
                `try 'bwrap --ro-bind / / --dev /dev --proc /proc --unshare-pid -- true' nested-bwrap`,
              ].join('\n'),
            },
          ],
        },
        {},
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(report?.status, 'succeeded');
      const outcome = repo.git(['show', `refs/tapps-flow/runs/${runId}/steps/boxed:outcome.txt`]);
      assert.equal(
        outcome,
        [
          'relative: refused',
          'absolute: refused',
          'config: refused',
          'branch: refused',
          'hook: refused',
          'dotgit: refused',
          'commit: allowed',
          'nested-bwrap: allowed',
        ].join('\n'),
      );
      assert.match(repo.git(['show', `refs/tapps-flow/runs/${runId}/steps/boxed:refused.txt`]), /Read-only file system/);
      assert.equal(existsSync(into), false);
      assert.equal(existsSync(path.join(repo.dir, 'relative.txt')), false);
      assert.equal(await readFile(path.join(repo.dir, '.git', 'config'), 'utf8'), before.config);
      assert.equal(repo.git(['branch', '--list']), before.branches);
      assert.equal(existsSync(path.join(repo.dir, '.git', 'hooks', 'pre-commit')), false);
    });

    it('where there is no sandbox, "sandbox" falls back to detection and says so once', async () => {
      const { runId, result, report } = await run(
        {
          settings: { isolation: 'sandbox' },
          steps: [
            { id: 'a', run: 'echo a > a.txt' },
            { id: 'b', run: 'echo b > b.txt' },
          ],
        },
        { TAPPS_NO_BWRAP: '1' },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(report?.status, 'succeeded');
      assert.equal(result.stderr.match(/Isolation: no sandbox: bubblewrap is turned off/g)?.length, 1, result.stderr);
      const log = await readFile(path.join(repo.dir, '.tapps-agents', 'workflow-state', runId, 'steps', 'a', 'log.txt'), 'utf8');
      assert.match(log, /isolation: detect; the step's processes are tagged/);
    });
  });
});
