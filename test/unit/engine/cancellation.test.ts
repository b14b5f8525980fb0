import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { currentOs, performStop, treeStopActions } from '../../../src/core/process/platform';
import type { RunEvent } from '../../../src/core/state/events';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { liveGroupMembers, processGone, waitFor } from '../helpers/wait';
import { sq, startWorkflow, statuses, stepOf, type StartedRun } from '../helpers/workflowRun';

type Started = Extract<RunEvent, { type: 'step_started' }>;

function startedEvents(events: readonly RunEvent[]): Started[] {
  return events.filter((e): e is Started => e.type === 'step_started');
}

/** The pids recorded in the run's events.jsonl on disk (the snapshot's own history). */
async function recordedPids(started: StartedRun): Promise<number[]> {
  const lines = (await readFile(path.join(started.run.stateDir, 'events.jsonl'), 'utf8')).split('\n').filter(Boolean);
  return lines.map((l) => JSON.parse(l) as RunEvent).flatMap((e) => (e.type === 'step_started' && e.pid !== null ? [e.pid] : []));
}

describe('engine: cancellation', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  let current: StartedRun | undefined;
  const pids: number[] = [];
  beforeEach(async () => {
    repo = await makeTempRepo();
    pids.length = 0;
  });
  afterEach(async () => {
    // A failed assertion may leave the run going: stop it before removing its repository.
    if (current?.run.snapshot.status === 'running') current.run.cancel();
    await current?.finished.catch(() => undefined);
    current = undefined;
    // Whatever is left of a step's tree: its process group (POSIX), its leader and descendants (Windows, `taskkill /T`).
    const os = currentOs();
    for (const pid of pids)
      if (os === 'win32' ? !processGone(pid) : liveGroupMembers(pid).length > 0) await performStop(treeStopActions(os, pid, 'forced'));
    await repo.cleanup();
  });

  it('aborting the run signal stops running steps and cancels queued and pending ones', async () => {
    const controller = new AbortController();
    const started = (current = await startWorkflow(
      repo,
      {
        settings: { max_parallel: 2, kill_grace_seconds: 1 },
        steps: [
          { id: 'a', run: 'sleep 30' },
          { id: 'b', run: 'sleep 30' },
          { id: 'c', run: 'sleep 30' }, // queued behind a and b
          { id: 'd', run: 'echo d > d.txt', needs: ['a'] }, // pending on a
        ],
      },
      { signal: controller.signal },
    ));
    await waitFor('a and b to start', () => startedEvents(started.events).length === 2);
    assert.deepEqual(statuses(started.run.snapshot), { a: 'running', b: 'running', c: 'queued', d: 'pending' });
    controller.abort();
    const snapshot = await started.finished;

    assert.equal(snapshot.status, 'cancelled');
    assert.equal(snapshot.cancelRequested, true);
    assert.deepEqual(statuses(snapshot), { a: 'cancelled', b: 'cancelled', c: 'cancelled', d: 'cancelled' });
    const onDisk = await recordedPids(started);
    pids.push(...onDisk);
    assert.deepEqual(
      onDisk.sort(),
      startedEvents(started.events)
        .map((e) => e.pid!)
        .sort(),
    );
    assert.equal(onDisk.length, 2, 'only a and b ever started');
    for (const pid of onDisk) {
      assert.ok(processGone(pid), `step process ${pid} is gone`);
      // Process groups are POSIX; Windows has none (there `treeAlive` asks about the leader, checked just above).
      if (process.platform !== 'win32') assert.deepEqual(liveGroupMembers(pid), [], `nothing of step process group ${pid} is left`);
    }
    const state = JSON.parse(await readFile(path.join(started.run.stateDir, 'state.json'), 'utf8')) as { status: string };
    assert.equal(state.status, 'cancelled');
  });

  it('cancelStep stops one running step and skips its dependents; the others succeed', async () => {
    const started = (current = await startWorkflow(repo, {
      settings: { kill_grace_seconds: 1 },
      steps: [
        { id: 'long', run: 'sleep 30' },
        { id: 'after-long', run: 'echo x > x.txt', needs: ['long'] },
        { id: 'after-after', run: 'echo y > y.txt', needs: ['after-long'] },
        { id: 'other', run: 'echo o > o.txt', creates: ['o.txt'] },
        { id: 'after-other', run: 'cat o.txt > p.txt', requires: ['o.txt'], creates: ['p.txt'] },
      ],
    }));
    const longStarted = await waitFor('"long" to start', () => startedEvents(started.events).find((e) => e.step === 'long'));
    pids.push(longStarted.pid!);
    started.run.cancelStep('long');
    const snapshot = await started.finished;

    assert.deepEqual(statuses(snapshot), {
      long: 'cancelled',
      'after-long': 'skipped',
      'after-after': 'skipped',
      other: 'succeeded',
      'after-other': 'succeeded',
    });
    assert.match(stepOf(snapshot, 'long').error ?? '', /cancelled by the user/);
    assert.match(stepOf(snapshot, 'after-long').error ?? '', /depends on "long", which was cancelled/);
    assert.match(stepOf(snapshot, 'after-after').error ?? '', /depends on "after-long", which was skipped/);
    assert.ok(processGone(longStarted.pid!), "the cancelled step's process is gone");
    // Process groups are POSIX; Windows has none (there `treeAlive` asks about the leader, checked just above).
    if (process.platform !== 'win32') assert.deepEqual(liveGroupMembers(longStarted.pid!), []);
    assert.equal(repo.show(snapshot.aggregate!.commit, 'p.txt'), 'o\n');
    // Cancelling one step is not cancelling the run: it ends as the other steps decide, partial.
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(snapshot.aggregate!.partial, true);
    assert.equal(snapshot.cancelRequested, false);
  });

  it('a run with one cancelled step ends as its other steps decide: a conflict is not hidden by the cancel', async () => {
    const started = (current = await startWorkflow(repo, {
      settings: { kill_grace_seconds: 1 },
      steps: [
        { id: 'long', run: 'sleep 30' },
        { id: 'left', run: 'echo left > same.txt' },
        { id: 'right', run: 'echo right > same.txt' },
      ],
    }));
    const longStarted = await waitFor('"long" to start', () => startedEvents(started.events).find((e) => e.step === 'long'));
    pids.push(longStarted.pid!);
    started.run.cancelStep('long');
    const snapshot = await started.finished;
    assert.deepEqual(statuses(snapshot), { long: 'cancelled', left: 'succeeded', right: 'succeeded' });
    assert.equal(snapshot.status, 'conflicted');
    assert.equal(snapshot.aggregate!.partial, true);
    assert.deepEqual(
      snapshot.conflicts.map((c) => [c.path, ...c.steps]),
      [['same.txt', 'left', 'right']],
    );
  });

  it('a run whose only step is cancelled ends cancelled: there is no result of other steps to offer', async () => {
    const started = (current = await startWorkflow(repo, {
      settings: { kill_grace_seconds: 1 },
      steps: [{ id: 'only', run: 'sleep 30' }],
    }));
    const onlyStarted = await waitFor('"only" to start', () => startedEvents(started.events).find((e) => e.step === 'only'));
    pids.push(onlyStarted.pid!);
    started.run.cancelStep('only');
    const snapshot = await started.finished;
    assert.equal(snapshot.status, 'cancelled');
  });

  it('cancelStep on a pending step cancels it before it starts and skips its dependents', async () => {
    const started = (current = await startWorkflow(repo, {
      steps: [
        { id: 'first', run: `while [ ! -f ${sq(path.join(repo.outside, 'go'))} ]; do sleep 0.05; done` },
        { id: 'second', run: 'echo 2 > two.txt', needs: ['first'] },
        { id: 'third', run: 'echo 3 > three.txt', needs: ['second'] },
      ],
    }));
    await waitFor('"first" to start', () => startedEvents(started.events).length === 1);
    started.run.cancelStep('second');
    await writeFile(path.join(repo.outside, 'go'), '');
    const snapshot = await started.finished;
    assert.deepEqual(statuses(snapshot), { first: 'succeeded', second: 'cancelled', third: 'skipped' });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(snapshot.aggregate!.partial, true);
    assert.deepEqual(
      startedEvents(started.events).map((e) => e.step),
      ['first'],
    );
  });
});
