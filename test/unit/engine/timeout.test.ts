import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { taggedProcesses } from '../../../src/core/process/stepProcesses';
import { runWorkflow, sq, stepOf } from '../helpers/workflowRun';

describe('engine: step timeout', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo();
  });
  afterEach(() => repo.cleanup());

  it('ends a step that outlives its timeout as timed_out and kills its whole tree, SIGTERM-proof grandchildren included', async function () {
    // POSIX: Windows has no SIGTERM to ignore, and no readable environments to find tagged processes by (the next test covers timed_out there).
    if (process.platform === 'win32') this.skip();
    const startedFile = path.join(repo.outside, 'grandchild.started');
    // The grandchild ignores SIGTERM (and so does the sleep it runs, which inherits that), so only the kill after the grace period stops it.
    const run = `sh -c 'trap "" TERM; sleep 60' & echo started > ${sq(startedFile)}; sleep 60`;
    const started = Date.now();
    const { snapshot } = await runWorkflow(repo, {
      settings: { timeout_seconds: 1, kill_grace_seconds: 1 },
      steps: [
        { id: 'slow', run },
        { id: 'quick', run: 'echo done > quick.txt', creates: ['quick.txt'] },
      ],
    });
    const elapsed = Date.now() - started;
    const slow = stepOf(snapshot, 'slow');
    assert.equal(slow.status, 'timed_out');
    assert.match(slow.error ?? '', /timed out after 1 s/);
    assert.equal(stepOf(snapshot, 'quick').status, 'succeeded');
    assert.equal(snapshot.status, 'failed');
    assert.equal(await readFile(startedFile, 'utf8'), 'started\n', 'the grandchild was started');
    // Every process of the step carries its run's tag (the step may run in a PID namespace, where `$!` is no pid of ours).
    const left = taggedProcesses().filter((t) => t.runId === snapshot.runId);
    assert.deepEqual(left, [], 'the grandchild that ignores SIGTERM is still running after the run');
    assert.ok(elapsed < 30_000, `the run ended long before the step's own 60 s sleep (took ${elapsed} ms)`);
    const log = await readFile(
      path.join(snapshot.repo, '.tapps-agents', 'workflow-state', snapshot.runId, 'steps', 'slow', 'log.txt'),
      'utf8',
    );
    assert.match(log, /timed out after 1 s: stopping the process tree/);
  });

  it('a per-step timeout_seconds overrides the workflow default', async () => {
    const { snapshot } = await runWorkflow(repo, {
      settings: { timeout_seconds: 600, kill_grace_seconds: 0 },
      steps: [{ id: 'short', run: 'sleep 30', timeout_seconds: 0.5 }],
    });
    assert.equal(stepOf(snapshot, 'short').status, 'timed_out');
  });
});
