import { withoutGitRedirects } from '../git/gitEnvironment';

/** The variables that give the queue of the `queue` runner: with them, a step could queue jobs that run on every worker. */
const QUEUE_VARIABLES = ['TAPPS_QUEUE_URL', 'TAPPS_QUEUE_PASSWORD', 'TAPPS_QUEUE_REMOTE'] as const;

/**
 * The environment every process of a step (its setup, its agent, a check) starts from: this
 * process's, without the `GIT_*` variables that redirect git (see `withoutGitRedirects`) and
 * without the queue's address, password and remote (a worker's own, or the user's).
 */
export function stepBaseEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const base = withoutGitRedirects(env);
  for (const key of Object.keys(base)) if ((QUEUE_VARIABLES as readonly string[]).includes(key.toUpperCase())) delete base[key];
  return base;
}
