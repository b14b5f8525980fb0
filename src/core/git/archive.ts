import path from 'node:path';
import { Git } from './git';
import { fixedIdentityEnv } from './identity';
import type { Repository } from './repository';
import { writeWorktreeTree } from './capture';
import { entryOf } from './worktrees';

/**
 * Saves a worktree folder's uncaptured work to `ref`: everything in its files (untracked
 * included, ignored excluded, commits a step made by itself included since their files are
 * there), read through the repository's own git directory, never the folder's `.git` file.
 * Returns the ref it wrote (`ref`, or `ref-2`… when that name is taken), undefined when there is
 * nothing to save. With `dryRun`, only tells whether there is (returning `ref`).
 */
export async function archiveUncaptured(repo: Repository, dir: string, ref: string, dryRun = false): Promise<string | undefined> {
  const entry = await entryOf(repo, dir);
  // The commit the worktree was made from, as git's entry records it: the oldest entry of its
  // HEAD's reflog (a step may have committed by itself since), else its HEAD. A folder git no
  // longer knows is saved whole, as a commit without a parent.
  const head = entry ? await startingCommit(new Git(dir, { gitDir: entry })) : undefined;
  const headTree = head ? await repo.git.line(['rev-parse', `${head}^{tree}`]) : undefined;
  const tree = await writeWorktreeTree(repo, dir, { index: entry && path.join(entry, 'index'), tree: headTree });
  if (tree === headTree) return undefined;
  if (dryRun) return ref;
  const time = head ? Number(await repo.git.line(['show', '-s', '--format=%ct', head])) : 0;
  const parents = head ? ['-p', head] : [];
  const commit = await repo.git.line(['commit-tree', tree, ...parents, '-m', 'Tapps Flow archive of uncaptured work'], {
    env: fixedIdentityEnv(time),
  });
  return createArchiveRef(repo, ref, commit);
}

/**
 * Points a new ref at an archive commit, never over an existing one (an earlier archive of a
 * folder of the same name, say after a resume): the name takes a number (`-2`, `-3`, …) instead.
 * Returns the ref written.
 */
async function createArchiveRef(repo: Repository, ref: string, commit: string): Promise<string> {
  for (let n = 1; ; n += 1) {
    const name = n === 1 ? ref : `${ref}-${n}`;
    // An empty old value: only created, never moved.
    const created = await repo.git.run(['update-ref', name, commit, '']).then(
      () => true,
      () => false,
    );
    if (created) return name;
    const existing = await repo.git.line(['rev-parse', '--verify', '--quiet', name]).catch(() => '');
    if (existing === commit) return name; // the same work, archived already
    if (!existing || n >= 1000) throw new Error(`could not save the uncaptured work of a worktree to ${ref}`);
  }
}

async function startingCommit(git: Git): Promise<string | undefined> {
  const reflog = await git.run(['reflog', 'show', '--format=%H', 'HEAD']).catch(() => '');
  const oldest = reflog.trim().split('\n').pop()?.trim();
  const candidate = oldest || (await git.line(['rev-parse', '--verify', '--quiet', 'HEAD']).catch(() => ''));
  if (!/^[0-9a-f]{40,64}$/.test(candidate)) return undefined;
  return (await git.line(['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`]).catch(() => '')) || undefined;
}

/** The archive ref of a worktree folder of a run. */
export function archiveRef(runId: string, folderName: string): string {
  return `refs/tapps-flow/archive/${runId}/${folderName}`;
}
