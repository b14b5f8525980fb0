import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunEvent } from '../../../src/core/state/events';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { waitFor } from '../helpers/wait';
import { sq, startWorkflow } from '../helpers/workflowRun';

describe('one writer per run', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  before(async () => {
    repo = await makeTempRepo();
  });
  after(() => repo.cleanup());

  it('loses and reorders nothing when eight steps finish in the same instant, run after run', async () => {
    for (let round = 0; round < 5; round++) {
      const go = path.join(repo.outside, `go-${round}`);
      // Every step waits at a barrier, then all of them print progress and exit together.
      const steps = Array.from({ length: 8 }, (_, i) => ({
        id: `s${i}`,
        run: `while [ ! -f ${sq(go)} ]; do sleep 0.02; done; echo "::progress:: 50 done waiting"; echo ${i} > out-${i}.txt`,
      }));
      const started = await startWorkflow(repo, { settings: { max_parallel: 8 }, steps }, { runId: `barrier-${round}` });
      await waitFor('all eight steps running', () => started.run.snapshot.steps.every((s) => s.status === 'running'), 30_000);
      await writeFile(go, '');
      const snapshot = await started.finished;
      assert.equal(snapshot.status, 'succeeded');

      const onDisk = (await readFile(path.join(started.run.stateDir, 'events.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RunEvent);
      assert.deepEqual(
        onDisk.map((e) => e.seq),
        onDisk.map((_, i) => i),
        'sequence numbers without gaps, in file order',
      );
      // The test subscribes after `prepare`, which records run_started: compare from there on.
      assert.equal(onDisk[0].type, 'run_started');
      assert.deepEqual(
        onDisk.slice(1),
        JSON.parse(JSON.stringify(started.events)),
        'the file holds exactly the events the run emitted, in order',
      );
      for (const step of steps) {
        const mine = onDisk.filter((e) => 'step' in e && e.step === step.id).map((e) => e.type);
        assert.deepEqual(mine, ['step_queued', 'step_started', 'step_progress', 'step_succeeded'], `events of ${step.id}`);
      }
      const state = JSON.parse(await readFile(path.join(started.run.stateDir, 'state.json'), 'utf8')) as {
        lastSeq: number;
        status: string;
      };
      assert.equal(state.lastSeq, onDisk.length - 1, 'state.json is current at the terminal event');
      assert.equal(state.status, 'succeeded');
    }
  });
});
