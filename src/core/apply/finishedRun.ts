import { excludeStateFolder, openRepository, type Repository } from '../git/repository';
import { isRecordedAggregate } from '../merge/aggregate';
import { RunWriter } from '../state/runWriter';
import type { RunSnapshot } from '../state/snapshot';
import { TappsError } from '../util/errors';

/** A finished run opened for a follow-up action (apply, branch, resolve), its lock held throughout. */
export interface FinishedRun {
  readonly repo: Repository;
  readonly dir: string;
  readonly snapshot: RunSnapshot & { readonly aggregate: NonNullable<RunSnapshot['aggregate']> };
  /** Records one event of the follow-up action. */
  record(event: Parameters<RunWriter['append']>[0]): Promise<void>;
}

/**
 * Runs a follow-up action on a finished run as the run's one writer: two actions on one run (two
 * resolves, a resolve and an apply) never interleave, and none runs while the run itself does.
 * The aggregate named by the state must be the one the run's ref holds: refs live in the git
 * directory, which a clone does not bring, so a planted state cannot name any other commit.
 */
export async function withFinishedRun<T>(
  repoDir: string,
  runId: string,
  purpose: string,
  action: (run: FinishedRun) => Promise<T>,
): Promise<T> {
  const repo = await openRepository(repoDir);
  const writer = await RunWriter.open(repo, runId, purpose, { waitMs: 2_000 });
  try {
    await excludeStateFolder(repo);
    const snapshot = writer.snapshot;
    if (!snapshot.aggregate) {
      const hint = snapshot.steps.every((s) => s.status === 'succeeded') ? ' (its steps all succeeded; resume makes its result)' : '';
      throw new TappsError(
        'no-aggregate',
        `Run ${runId} has no result yet (status ${snapshot.status})${hint}. Resume it with: tapps-flow resume ${runId}`,
      );
    }
    if (!(await isRecordedAggregate(repo.git, runId, snapshot.aggregate.commit))) {
      throw new TappsError(
        'state-mismatch',
        `Run ${runId}'s result in its state does not match what the run recorded in git; its state may have been edited or copied from elsewhere. Nothing was changed.`,
      );
    }
    return await action({
      repo,
      dir: writer.dir,
      snapshot: snapshot as FinishedRun['snapshot'],
      record: async (event) => {
        writer.append(event);
        await writer.store.flush();
      },
    });
  } finally {
    await writer.close();
  }
}
