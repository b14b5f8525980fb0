import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { TappsError } from '../util/errors';
import { fixedIdentityEnv } from './identity';
import type { Repository } from './repository';

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
export async function captureBase(repo: Repository, runId: string): Promise<Base> {
  const { git } = repo;
  let head: string;
  try {
    head = await git.line(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  } catch {
    throw new TappsError(
      'no-commits',
      `The repository at ${repo.root} has no commits yet. Commit something first: a run starts from HEAD.`,
    );
  }
  const [headTree, headTime] = (await git.line(['show', '-s', '--format=%T %ct', head])).split(' ');
  const tmpDir = path.join(repo.commonDir, 'tapps-flow', 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const index = path.join(tmpDir, `index-${runId}`);
  try {
    // Starting from a copy of the user's index lets git reuse its stat cache instead of hashing every file.
    const userIndex = path.resolve(repo.root, await git.line(['rev-parse', '--git-path', 'index']));
    await copyFile(userIndex, index).catch(() => undefined);
    const env = { GIT_INDEX_FILE: index };
    await git.run(['add', '--all', '--', '.'], { env });
    const tree = await git.line(['write-tree'], { env });
    const time = Number(headTime);
    if (tree === headTree) return { commit: head, tree, head, time };
    const commit = await git.line(['commit-tree', tree, '-p', head, '-m', 'Tapps Flow base: HEAD plus uncommitted changes'], {
      env: fixedIdentityEnv(time),
    });
    return { commit, tree, head, time };
  } finally {
    await rm(index, { force: true });
  }
}
