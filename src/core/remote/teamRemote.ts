import type { Git } from '../git/git';
import { runRef } from '../run/stateDir';
import { GitError, TappsError } from '../util/errors';

/**
 * The team's git remote, through which steps run by workers travel: the run pushes each step's
 * base there (`refs/tapps-flow/runs/<run>/base`, and `…/bases/<step>` for a step that starts from
 * its dependencies' results), a worker fetches exactly that commit and pushes the step's result to
 * `…/steps/<step>`, which the run fetches. Everything the base holds travels, the user's
 * uncommitted and untracked work included (see README: Remote workers).
 */
export interface TeamRemote {
  /** The remote as git is given it: a remote's name or a URL. */
  readonly remote: string;
  /** The remote as messages show it: without credentials. */
  readonly display: string;
}

/** How long one exchange with the remote may take before it counts as unreachable. */
const REMOTE_TIMEOUT_MS = 120_000;
const CHECK_TIMEOUT_MS = 30_000;

export function teamRemote(remote: string): TeamRemote {
  return { remote, display: withoutCredentials(remote) };
}

/**
 * The team remote as the user names it: `given` (a flag, the editor's user setting), else
 * TAPPS_QUEUE_REMOTE, else `origin`. Never a workflow's or a run's recorded state.
 */
export function userTeamRemote(given: string | undefined, env: NodeJS.ProcessEnv = process.env): TeamRemote {
  return teamRemote(given ?? (env.TAPPS_QUEUE_REMOTE?.trim() || 'origin'));
}

/** A URL's password (and token user) left out; remote names and scp-like addresses are kept. */
export function withoutCredentials(remote: string): string {
  return remote.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

/** The ref a step's base is pushed to: the run's base, or a base of its own when it has dependencies. */
export function baseRefOf(runId: string, key: string, ownBase: boolean): string {
  return ownBase ? runRef(runId, 'bases', key) : runRef(runId, 'base');
}

/** The ref a worker pushes a step's result to. */
export function resultRefOf(runId: string, key: string): string {
  return runRef(runId, 'steps', key);
}

/** Whether the remote answers; else why not, said for the user before any job is queued. */
export async function checkRemote(git: Git, remote: TeamRemote): Promise<void> {
  try {
    await git.run(['ls-remote', '--heads', '--', remote.remote], { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
  } catch (error) {
    throw new TappsError(
      'remote-unreachable',
      `The team remote ${remote.display} cannot be reached (${reasonOf(error)}). Steps run by workers fetch their base from it and return their results through it: check the remote (--remote, TAPPS_QUEUE_REMOTE or tappsFlow.queueRemote) and your access to it, then try again.`,
    );
  }
}

/** Pushes `commit` to `ref` on the remote, replacing what an earlier attempt left there. */
export async function pushCommit(git: Git, remote: TeamRemote, commit: string, ref: string, signal?: AbortSignal): Promise<void> {
  await exchange(git, remote, ['push', '--quiet', '--no-verify', '--', remote.remote, `+${commit}:${ref}`], 'send', signal);
}

/**
 * Fetches `ref` from the remote into `local` here (by default the same name), and returns the
 * commit it names: the caller compares it with the commit it expects, and uses nothing else.
 */
export async function fetchCommit(git: Git, remote: TeamRemote, ref: string, signal?: AbortSignal, local = ref): Promise<string> {
  await exchange(
    git,
    remote,
    ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--', remote.remote, `+${ref}:${local}`],
    'fetch',
    signal,
  );
  return git.line(['rev-parse', '--verify', '--quiet', `${local}^{commit}`]);
}

/** Deletes every ref of a run from the remote; what is already gone is no error. */
export async function deleteRunRefs(git: Git, remote: TeamRemote, runId: string): Promise<number> {
  const refs = await remoteRunRefs(git, remote, runId);
  await deleteRemoteRefs(git, remote, refs);
  return refs.length;
}

/** The refs the remote holds under a run's namespace. */
export async function remoteRunRefs(git: Git, remote: TeamRemote, runId: string): Promise<string[]> {
  let listed: string;
  try {
    listed = await git.run(['ls-remote', '--', remote.remote, `${runRef(runId)}/*`], { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
  } catch (error) {
    throw new TappsError('remote-failed', `could not list refs through the team remote ${remote.display}: ${reasonOf(error)}`);
  }
  return listed
    .split('\n')
    .map((line) => line.split('\t')[1])
    .filter((ref): ref is string => ref !== undefined && ref.startsWith(`${runRef(runId)}/`));
}

/** Deletes these refs from the remote. */
export async function deleteRemoteRefs(git: Git, remote: TeamRemote, refs: readonly string[]): Promise<void> {
  if (refs.length === 0) return;
  await exchange(git, remote, ['push', '--quiet', '--no-verify', '--', remote.remote, ...refs.map((r) => `:${r}`)], 'clean up', undefined);
}

async function exchange(git: Git, remote: TeamRemote, args: string[], what: string, signal: AbortSignal | undefined): Promise<void> {
  const timeout = AbortSignal.timeout(REMOTE_TIMEOUT_MS);
  try {
    await git.run(args, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new TappsError('remote-failed', `could not ${what} through the team remote ${remote.display}: ${reasonOf(error)}`);
  }
}

/** git's own first line of complaint, or why it was stopped. */
function reasonOf(error: unknown): string {
  if (GitError.is(error)) {
    const line = error.stderr
      .split('\n')
      .map((l) => l.replace(/^(fatal|error): /, '').trim())
      .find((l) => l !== '');
    return withoutCredentials(line ?? `git exited with code ${String(error.exitCode)}`);
  }
  if (error instanceof Error && error.name === 'TimeoutError') return 'it did not answer in time';
  return error instanceof Error ? error.message : String(error);
}
