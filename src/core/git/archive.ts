import { Git } from './git';
import { fixedIdentityEnv } from './identity';

/**
 * Saves a worktree's uncaptured work to `ref`: changes in its files (untracked included, ignored
 * excluded) and commits a step made by itself. Returns false when there is nothing to save.
 * With `dryRun`, only tells whether there is something.
 */
export async function archiveUncaptured(worktree: string, ref: string, dryRun = false): Promise<boolean> {
  const git = new Git(worktree);
  const head = await git.line(['rev-parse', 'HEAD']).catch(() => undefined);
  if (!head) return false; // not a worktree any more: nothing git can read
  const headTree = await git.line(['rev-parse', 'HEAD^{tree}']);
  const status = await git.run(['status', '--porcelain', '--untracked-files=all']);
  // A step may have committed by itself: HEAD then differs from where the worktree started.
  const started = (await git.run(['reflog', 'show', '--format=%H', 'HEAD']).catch(() => '')).trim().split('\n').pop();
  const committed = started !== undefined && started !== '' && started !== head;
  if (status.trim() === '' && !committed) return false;
  if (dryRun) return true;
  await git.run(['add', '--all', '--', '.']);
  const tree = await git.line(['write-tree']);
  const time = Number(await git.line(['show', '-s', '--format=%ct', head]));
  const commit =
    tree === headTree
      ? head
      : await git.line(['commit-tree', tree, '-p', head, '-m', 'Tapps Flow archive of uncaptured work'], { env: fixedIdentityEnv(time) });
  await git.run(['update-ref', ref, commit]);
  return true;
}

/** The archive ref of a worktree folder of a run. */
export function archiveRef(runId: string, folderName: string): string {
  return `refs/tapps-flow/archive/${runId}/${folderName}`;
}
