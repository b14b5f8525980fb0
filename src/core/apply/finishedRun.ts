import { openRepository, type Repository } from '../git/repository';
import { runDir } from '../run/stateDir';
import { readRun } from '../state/readRun';
import { loadRun } from '../state/runs';
import { RunStore } from '../state/runStore';
import type { RunSnapshot } from '../state/snapshot';
import { errorMessage, TappsError } from '../util/errors';

/** A finished run opened for a follow-up action (apply, branch, resolve), with a store to record it. */
export interface FinishedRun {
  readonly repo: Repository;
  readonly dir: string;
  readonly snapshot: RunSnapshot & { readonly aggregate: NonNullable<RunSnapshot['aggregate']> };
  /** Records one event of the follow-up action; the run's owner has finished, so this process may write. */
  record(event: Parameters<RunStore['append']>[0]): Promise<void>;
}

export async function openFinishedRun(repoDir: string, runId: string, now: () => Date = () => new Date()): Promise<FinishedRun> {
  const repo = await openRepository(repoDir);
  const dir = runDir(repo.root, runId);
  const loaded = await loadRun(dir, now).catch((error: unknown) => {
    throw new TappsError('run-not-found', `No run "${runId}" in ${repo.root} (${errorMessage(error)}). List runs with: tapps-flow status`);
  });
  const snapshot = loaded.snapshot;
  if (snapshot.status === 'running')
    throw new TappsError('run-active', `Run ${runId} is still running; wait for it to finish (or cancel it) first.`);
  if (!snapshot.aggregate)
    throw new TappsError(
      'no-aggregate',
      `Run ${runId} has no aggregate (status ${snapshot.status}). Resume it with: tapps-flow resume ${runId}`,
    );
  return {
    repo,
    dir,
    snapshot: snapshot as FinishedRun['snapshot'],
    record: async (event) => {
      const current = await readRun(dir, { repair: true });
      const store = new RunStore(dir, { now }, { snapshot: current.snapshot, lastSeq: current.snapshot.lastSeq });
      store.append(event);
      await store.flush();
      store.dispose();
    },
  };
}
