import { TappsError } from '../util/errors';
import { fixedIdentityEnv } from './identity';
import type { Repository } from './repository';
import { withWorkingIndex } from './workingIndex';

/** The commit a run starts from. */
export interface Base {
  /** HEAD itself when nothing is uncommitted, else a commit of HEAD plus the uncommitted changes. */
  readonly commit: string;
  readonly tree: string;
  /** The HEAD commit the base was captured on. */
  readonly head: string;
  /** The base's commit time (seconds), the date of every commit the run makes. */
  readonly time: number;
}

/**
 * Captures HEAD plus the user's uncommitted tracked and untracked (non-ignored) changes, through
 * a temporary index: the user's index and working tree are never touched.
 */
/** HEAD's commit; a repository without one is refused (before anything is written: `planRun` asks first). */
export async function headCommit(repo: Pick<Repository, 'git' | 'root'>): Promise<string> {
  try {
    return await repo.git.line(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  } catch {
    throw new TappsError(
      'no-commits',
      `The repository at ${repo.root} has no commits yet. Commit something first: a run starts from HEAD.`,
    );
  }
}

export async function captureBase(repo: Repository): Promise<Base> {
  const { git } = repo;
  const head = await headCommit(repo);
  const [headTree, headTime] = (await git.line(['show', '-s', '--format=%T %ct', head])).split(' ');
  const tree = await withWorkingIndex(repo, (working) => Promise.resolve(working.tree));
  const time = Number(headTime);
  if (tree === headTree) return { commit: head, tree, head, time };
  const commit = await git.line(['commit-tree', tree, '-p', head, '-m', 'Tapps Flow base: HEAD plus uncommitted changes'], {
    env: fixedIdentityEnv(time),
  });
  return { commit, tree, head, time };
}
