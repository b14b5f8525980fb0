import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { STATE_FOLDER } from '../git/repository';

/** `<repo>/.tapps-agents/workflow-state`: where every run's folder lives. */
export function runsDir(repoRoot: string): string {
  return path.join(repoRoot, STATE_FOLDER, 'workflow-state');
}

/** The state folder of one run. */
/** The names under which deleted runs' state folders wait for deletion (never a run id: those begin with a letter or digit). */
export const STATE_TRASH_PREFIX = '.deleted-';

export function runDir(repoRoot: string, runId: string): string {
  return path.join(runsDir(repoRoot), runId);
}

/** The ref namespace of a run: its base, step results and aggregate. */
export function runRef(runId: string, ...rest: string[]): string {
  return ['refs/tapps-flow/runs', runId, ...rest].join('/');
}

/**
 * Why the state folder of a run cannot be used, or undefined: each of `.tapps-agents`,
 * `workflow-state` and the run's own folder must be a real folder (or not exist yet), never a
 * symlink: a cloned repository can hold `.tapps-agents -> /somewhere`, and writing through it
 * would write outside the repository.
 */
export async function stateFolderProblem(repoRoot: string, runId?: string): Promise<string | undefined> {
  const parts = [STATE_FOLDER, 'workflow-state', ...(runId === undefined ? [] : [runId])];
  let current = repoRoot;
  for (const part of parts) {
    current = path.join(current, part);
    const stat = await lstat(current).catch(() => undefined);
    if (!stat) return undefined;
    if (stat.isSymbolicLink())
      return `${current} is a symlink; Tapps Flow reads and writes run state only in real folders of the repository`;
    if (!stat.isDirectory()) return `${current} is not a folder`;
  }
  return undefined;
}
