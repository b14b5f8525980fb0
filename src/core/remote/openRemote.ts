import type { Repository } from '../git/repository';
import { queueAddress } from './queueUrl';
import { StepQueue } from './stepQueue';
import { checkRemote, userTeamRemote, type TeamRemote } from './teamRemote';

/** The queue and the team remote of a run whose steps run on workers, both checked to answer. */
export interface RemoteSetup {
  readonly queue: StepQueue;
  readonly remote: TeamRemote;
}

/**
 * Checks, before any job is queued (and, for a new run, before anything is written), that the team
 * remote and the queue answer: an unreachable one is said, with where to set it.
 */
export async function openRemote(
  repo: Repository,
  given: { readonly queueUrl?: string; readonly queueRemote?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<RemoteSetup> {
  const address = queueAddress(given.queueUrl, env);
  const remote = userTeamRemote(given.queueRemote, env);
  await checkRemote(repo.git, remote);
  return { queue: await StepQueue.open(address), remote };
}
