import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultWorktreeRoot } from '../git/worktrees';
import { engineDir } from '../git/repository';
import { comparablePath, samePath } from '../util/paths';

/** Where a repository's runs are: its root (state folders) and git directory (locks, worktrees). */
export interface RunsLocation {
  readonly root: string;
  readonly commonDir: string;
}

/** The lock held by whoever writes a run (see `RunWriter`); in the git directory, which a clone cannot plant. */
export function runLockPath(location: Pick<RunsLocation, 'commonDir'>, runId: string): string {
  return engineDir(location, 'locks', `run-${runId}`);
}

/**
 * The runs whose writer never let go of its lock (it died first, or still runs): the only runs
 * whose steps can have left processes behind. Read from the git directory, which a clone cannot
 * plant; a lock let go of leaves no owner file.
 */
export async function runsLeftLocked(location: Pick<RunsLocation, 'commonDir'>): Promise<string[]> {
  const names = await readdir(engineDir(location, 'locks')).catch(() => [] as string[]);
  return names.flatMap((name) => /^run-(.+)\.owner\.json$/.exec(name)?.[1] ?? []).sort();
}

const rootsFile = (location: Pick<RunsLocation, 'commonDir'>) => engineDir(location, 'worktree-roots');

/**
 * The folders where this repository's runs put worktrees: the default one in the git directory,
 * and every configured root a run has used (recorded in the git directory when the run started).
 * A worktree path read back from run state is trusted only under one of these.
 */
export async function worktreeRoots(location: Pick<RunsLocation, 'commonDir'>): Promise<string[]> {
  const text = await readFile(rootsFile(location), 'utf8').catch(() => '');
  const recorded = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => path.isAbsolute(l));
  // One entry per folder, however it was spelt: the first spelling stays.
  const roots = new Map<string, string>();
  for (const root of [defaultWorktreeRoot(location), ...recorded])
    if (!roots.has(comparablePath(root))) roots.set(comparablePath(root), root);
  return [...roots.values()];
}

/** Records a configured worktree root before a run uses it. */
export async function registerWorktreeRoot(location: Pick<RunsLocation, 'commonDir'>, root: string): Promise<void> {
  if ((await worktreeRoots(location)).some((known) => samePath(known, root))) return;
  await mkdir(path.dirname(rootsFile(location)), { recursive: true });
  await appendFile(rootsFile(location), `${root}\n`);
}
