import { excludeStateFolder, openRepository, type Repository } from '../git/repository';
import { isRecordedAggregate } from '../merge/aggregate';
import { RunWriter } from '../state/runWriter';
import type { RunSnapshot } from '../state/snapshot';
import { TappsError } from '../util/errors';
import { runRef } from '../run/stateDir';

/** A finished run opened for a follow-up action (apply, branch, resolve), its lock held throughout. */
export interface FinishedRun {
  readonly repo: Repository;
  readonly dir: string;
  /**
   * The run's state; for an action on the passing alternative (see `FinishedRunOptions`), with the
   * alternative in place of the aggregate (partial, without conflicts).
   */
  readonly snapshot: RunSnapshot & { readonly aggregate: NonNullable<RunSnapshot['aggregate']> };
  /** The steps the passing alternative leaves out, when the action is on it. */
  readonly leftOut?: readonly string[];
  /** Records one event of the follow-up action. */
  record(event: Parameters<RunWriter['append']>[0]): Promise<void>;
  /** The run's state with what the action recorded so far. */
  current(): RunSnapshot;
}

export interface FinishedRunOptions {
  /**
   * Act on the passing alternative (the aggregate without the steps that broke its checks, see
   * src/core/checks/verify.ts) instead of the aggregate. Refused when the run has none.
   */
  readonly alternative?: boolean;
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
  options: FinishedRunOptions = {},
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
    const alternative = options.alternative ? await recordedAlternative(repo, runId, snapshot) : undefined;
    return await action({
      repo,
      dir: writer.dir,
      snapshot: (alternative
        ? { ...snapshot, aggregate: { commit: alternative.commit, tree: alternative.tree, partial: true }, conflicts: [] }
        : snapshot) as FinishedRun['snapshot'],
      ...(alternative ? { leftOut: alternative.leftOut } : {}),
      current: () => writer.snapshot,
      record: async (event) => {
        writer.append(event);
        await writer.store.flush();
      },
    });
  } finally {
    await writer.close();
  }
}

/** The run's passing alternative, when its state names one and the run's `alternative` ref holds it. */
async function recordedAlternative(
  repo: Repository,
  runId: string,
  snapshot: RunSnapshot,
): Promise<NonNullable<RunSnapshot['alternative']>> {
  const alternative = snapshot.alternative;
  if (!alternative) {
    throw new TappsError(
      'no-alternative',
      `Run ${runId} has no passing alternative (status ${snapshot.status}): one is made only when the result fails a check and leaving out the steps that broke it passes every check.`,
    );
  }
  const ref = await repo.git.line(['rev-parse', '--verify', '--quiet', runRef(runId, 'alternative')]).catch(() => '');
  if (ref !== alternative.commit) {
    throw new TappsError(
      'state-mismatch',
      `Run ${runId}'s passing alternative in its state does not match what the run recorded in git; its state may have been edited or copied from elsewhere. Nothing was changed.`,
    );
  }
  return alternative;
}
