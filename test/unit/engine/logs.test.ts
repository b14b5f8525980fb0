import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunEvent } from '../../../src/core/state/events';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { waitFor } from '../helpers/wait';
import { readStateFile, sq, startWorkflow, stepOf, runWorkflow } from '../helpers/workflowRun';

type ProgressEvent = Extract<RunEvent, { type: 'step_progress' }>;

describe('engine: step logs and progress', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo();
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('turns ::progress:: lines into step progress while the step runs, even when a line arrives in pieces', async () => {
    const go = path.join(repo.outside, 'go');
    // The second line is written in two pieces, so the log must join them before parsing.
    const run = `echo "::progress:: 40 halfway"; i=0; while [ ! -f ${sq(go)} ] && [ $i -lt 400 ]; do i=$((i+1)); sleep 0.05; done; printf '::progress:: 7'; sleep 0.1; printf '5%% nearly there\\n'; echo plain output`;
    const started = await startWorkflow(repo, { steps: [{ id: 'worker', run }] });
    const live = await waitFor('progress 40 in the live snapshot', () => stepOf(started.run.snapshot, 'worker').progress ?? undefined);
    assert.deepEqual(live, { percent: 40, message: 'halfway' });
    assert.equal(stepOf(started.run.snapshot, 'worker').status, 'running');
    await writeFile(go, '');
    const snapshot = await started.finished;

    const progress = started.events
      .filter((e): e is ProgressEvent => e.type === 'step_progress')
      .map((e) => [e.step, e.percent, e.message]);
    assert.deepEqual(progress, [
      ['worker', 40, 'halfway'],
      ['worker', 75, 'nearly there'],
    ]);
    assert.deepEqual(stepOf(snapshot, 'worker').progress, { percent: 75, message: 'nearly there' });
    const state = JSON.parse(await readStateFile(started.run, 'state.json')) as { steps: Array<{ progress: unknown }> };
    assert.deepEqual(state.steps[0].progress, { percent: 75, message: 'nearly there' });
    const log = await readStateFile(started.run, 'steps/worker/log.txt');
    assert.match(log, /::progress:: 40 halfway\n/);
    assert.match(log, /::progress:: 75% nearly there\nplain output\n/);
  });

  it('caps the log with a visible marker, and still reads progress past the cap', async () => {
    const { run, snapshot } = await runWorkflow(repo, {
      settings: { log_max_bytes: 1024 },
      steps: [
        { id: 'chatty', run: 'i=0; while [ $i -lt 400 ]; do echo "line $i of noise"; i=$((i+1)); done; echo "::progress:: 90 late"' },
      ],
    });
    assert.equal(stepOf(snapshot, 'chatty').status, 'succeeded');
    const file = path.join(run.stateDir, 'steps', 'chatty', 'log.txt');
    const log = await readFile(file, 'utf8');
    assert.match(
      log,
      /\n\[tapps-flow\] log truncated: it reached 1024 bytes; further output is dropped \(raise the log size cap to keep more\)\.\n/,
    );
    assert.ok(!log.includes('line 399 of noise'), 'output past the cap is dropped');
    assert.ok(log.includes('line 0 of noise'), 'output before the cap is kept');
    const stepOutput = log
      .split('\n')
      .filter((l) => !l.startsWith('[tapps-flow]'))
      .join('\n');
    assert.ok(
      Buffer.byteLength(stepOutput) <= 1024 + 1,
      `at most 1024 bytes of the step's output are kept, got ${Buffer.byteLength(stepOutput)}`,
    );
    assert.ok(Buffer.byteLength(log) < 2000, `the log stays small: ${Buffer.byteLength(log)} bytes`);
    assert.deepEqual(stepOf(snapshot, 'chatty').progress, { percent: 90, message: 'late' });
  });
});
