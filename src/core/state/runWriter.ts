import { lstat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Repository } from '../git/repository';
import { runDir, stateFolderProblem } from '../run/stateDir';
import { TappsError } from '../util/errors';
import { idProblem } from '../util/ids';
import { Lock, LockBusyError, describeOwner, type LockOwner } from '../util/lock';
import type { NewRunEvent, RunEvent } from './events';
import { readRun, type LoadedRun } from './readRun';
import { runLockPath, worktreeRoots } from './runLocation';
import { interruptionReason, stopStepProcesses, trackedRunIds } from './runs';
import { RunStore } from './runStore';
import type { RunSnapshot } from './snapshot';

export interface WriterOptions {
  readonly now?: () => Date;
  /** How long to wait for another writer to finish. @default 0: refuse at once */
  readonly waitMs?: number;
}

/**
 * The one writer of a run's state. Whoever writes a run (the run itself, resume, resolve, apply,
 * cleanup) holds the run's lock, across processes, for as long as it writes; a second writer is
 * refused with a message naming the first. Through it alone are events appended (numbered,
 * validated, strictly increasing) and the snapshot written; readers never write.
 */
export class RunWriter {
  private constructor(
    readonly repo: Repository,
    readonly runId: string,
    readonly dir: string,
    readonly store: RunStore,
    private readonly lock: Lock,
    /** The run as it was when the writer took it over; undefined for a new run. */
    readonly previous: LoadedRun | undefined,
  ) {}

  /** Takes a new run id: refused when a run of that id exists or another process is starting it. */
  static async create(repo: Repository, runId: string, purpose: string, options: WriterOptions = {}): Promise<RunWriter> {
    const problem = idProblem('run', runId);
    if (problem) throw new TappsError('invalid-run-id', problem);
    const lock = await takeLock(repo, runId, purpose, options);
    try {
      const dir = runDir(repo.root, runId);
      const unsafe = await stateFolderProblem(repo.root, runId);
      if (unsafe) throw new TappsError('unsafe-state-folder', `Cannot record run ${runId}: ${unsafe}.`);
      if (
        await lstat(dir).then(
          () => true,
          () => false,
        )
      ) {
        throw new TappsError(
          'run-exists',
          `A run with id "${runId}" already exists in ${repo.root}. Choose another --run-id, or leave it out for a new one.`,
        );
      }
      return new RunWriter(repo, runId, dir, new RunStore(dir, { now: options.now, guard: lock }), lock, undefined);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /**
   * Takes over an existing run to write to it. Its state is read and checked first: state that git
   * tracks is refused (it came with the repository), a torn last line is repaired, and a run that
   * claims to be running (its owner died, since no one held its lock) is recorded as interrupted
   * after its orphaned step processes are stopped.
   */
  static async open(repo: Repository, runId: string, purpose: string, options: WriterOptions = {}): Promise<RunWriter> {
    const problem = idProblem('run', runId);
    if (problem) throw new TappsError('invalid-run-id', problem);
    const dir = runDir(repo.root, runId);
    const unsafe = await stateFolderProblem(repo.root, runId);
    if (unsafe) throw new TappsError('unsafe-state-folder', `Cannot use run ${runId}: ${unsafe}.`);
    if (
      !(await lstat(dir).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
      throw new TappsError('run-not-found', `No run "${runId}" in ${repo.root}. List runs with: tapps-flow status`);
    }
    if ((await trackedRunIds(repo)).has(runId)) {
      throw new TappsError(
        'run-tracked',
        `Run ${runId}'s state is tracked by git: it came with the repository, not from a run on this machine, so Tapps Flow only shows it. Nothing was changed.`,
      );
    }
    const lock = await takeLock(repo, runId, purpose, options);
    try {
      const loaded = await readRun(dir, { repair: true, worktreeRoots: await worktreeRoots(repo) });
      const store = new RunStore(dir, { now: options.now, guard: lock }, { snapshot: loaded.snapshot, lastSeq: loaded.snapshot.lastSeq });
      const writer = new RunWriter(repo, runId, dir, store, lock, loaded);
      if (loaded.snapshot.status === 'running') {
        // We hold the lock, so whoever ran it is gone: stop what it left running, then say so.
        await stopStepProcesses(loaded);
        store.append({ type: 'run_interrupted', reason: interruptionReason(loaded.snapshot) });
        await store.flush();
      }
      return writer;
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  get snapshot(): RunSnapshot {
    return this.store.snapshot;
  }

  append(event: NewRunEvent): RunEvent {
    return this.store.append(event);
  }

  /** Throws when the lock was lost, so that nothing else is written for the run. */
  assertHeld(): void {
    this.lock.assertHeld();
  }

  /** Calls `listener` if the run's lock is taken away while this writer holds it. */
  onLost(listener: (error: Error) => void): void {
    this.lock.onLost(
      () =>
        void listener(
          new TappsError(
            'lock-lost',
            `Run ${this.runId} stopped: its lock (${this.lock.target}.lock) was taken away while it ran, so nothing more could be recorded, and its steps were stopped. Resume it with: tapps-flow resume ${this.runId}`,
          ),
        ),
    );
  }

  /** Writes what is pending, then lets go of the run. */
  async close(): Promise<void> {
    try {
      // A lost lock was already reported to whoever drives the run; nothing more is written.
      await this.store.flush().catch((error: unknown) => {
        if (!this.lock.compromised) throw error;
      });
    } finally {
      this.store.dispose();
      await this.lock.release();
    }
  }
}

/**
 * How long a writer waits for a run this very process holds: a run of the editor that has just
 * ended lets go once its removed worktrees are deleted, and a command the user gives it then
 * (Apply, Remove Kept Worktree, a resolve) waits for that instead of failing.
 */
const OWN_RELEASE_WAIT_MS = 15_000;

async function takeLock(repo: Repository, runId: string, purpose: string, options: WriterOptions): Promise<Lock> {
  const target = runLockPath(repo, runId);
  let waitMs = options.waitMs;
  let waitedForOurs = false;
  const unsaidUntil = Date.now() + UNSAID_OWNER_WAIT_MS;
  for (;;) {
    try {
      return await Lock.acquire(target, purpose, { waitMs });
    } catch (error) {
      if (!(error instanceof LockBusyError)) throw error;
      const busy = new TappsError('run-busy', busyMessage(runId, error.owner));
      if (options.waitMs !== undefined) throw busy;
      // Held by this process (a run of the editor letting go of its worktrees): waited for.
      if (error.owner?.pid === process.pid && error.owner.host === hostname()) {
        if (waitedForOurs) throw busy;
        waitedForOurs = true;
        waitMs = OWN_RELEASE_WAIT_MS;
        continue;
      }
      // A holder that has not said who it is (taking the lock, or between its last word and
      // letting go) is looked at again until it says, or lets go; anyone else's lock is refused.
      if (error.owner !== undefined || Date.now() >= unsaidUntil) throw busy;
      waitMs = 0;
      await sleep(50);
    }
  }
}

/** How long a lock without its owner's record is given to say who holds it, or to be let go. */
const UNSAID_OWNER_WAIT_MS = 2_000;

function busyMessage(runId: string, owner: LockOwner | undefined): string {
  return `Run ${runId} is in use by ${describeOwner(owner)}. Wait for it to finish, or cancel it with: tapps-flow cancel ${runId}`;
}
