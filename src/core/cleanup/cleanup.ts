import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { archiveRef, archiveUncaptured } from '../git/archive';
import { openRepository, type Repository } from '../git/repository';
import { removeWorktree } from '../git/worktrees';
import { runDir } from '../run/stateDir';
import { listRuns } from '../state/runs';

export interface CleanupOptions {
  /** Only runs that finished more than this many days ago. */
  readonly olderThanDays?: number;
  /** The newest finished runs to keep whatever their age. @default 5 */
  readonly keep?: number;
  /** List what would be removed; change nothing. */
  readonly dryRun?: boolean;
  readonly now?: () => Date;
}

export interface CleanupReport {
  readonly dryRun: boolean;
  readonly runs: ReadonlyArray<{
    readonly runId: string;
    readonly status: string;
    readonly worktrees: readonly string[];
    readonly refs: readonly string[];
  }>;
  readonly orphanedWorktrees: readonly string[];
  /** Worktrees whose uncaptured changes were (or would be) saved first: path -> archive ref. */
  readonly archived: ReadonlyArray<{ readonly worktree: string; readonly ref: string }>;
}

/** Where runs' worktrees live by default: `<git dir>/tapps-flow/worktrees/<run-id>/<step>--<run-id>`. */
function worktreesRoot(repo: Repository): string {
  return path.join(repo.commonDir, 'tapps-flow', 'worktrees');
}

async function subfolders(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names.sort())
    if (
      await stat(path.join(dir, n)).then(
        (s) => s.isDirectory(),
        () => false,
      )
    )
      out.push(path.join(dir, n));
  return out;
}

/**
 * Removes the worktrees, refs and state of finished runs, and orphaned worktrees whose run is
 * gone. A worktree holding changes that were never captured is first saved to an archive ref
 * (`refs/tapps-flow/archive/<run-id>/<folder>`): nothing uncaptured is ever deleted.
 */
export async function cleanup(repoDir: string, options: CleanupOptions = {}): Promise<CleanupReport> {
  const repo = await openRepository(repoDir);
  const now = options.now ?? (() => new Date());
  const { runs } = await listRuns(repo.root, now);
  const finished = runs.filter((r) => r.snapshot.status !== 'running');
  const cutoff = options.olderThanDays === undefined ? undefined : now().getTime() - options.olderThanDays * 86_400_000;
  const doomed = finished
    .slice(options.keep ?? 5)
    .filter((r) => cutoff === undefined || Date.parse(r.snapshot.finishedAt ?? r.snapshot.startedAt) < cutoff);
  const known = new Set(runs.map((r) => r.snapshot.runId));
  const archived: Array<{ worktree: string; ref: string }> = [];
  const report: CleanupReport = { dryRun: options.dryRun ?? false, runs: [], orphanedWorktrees: [], archived };

  const dispose = async (runId: string, worktree: string) => {
    const ref = archiveRef(runId, path.basename(worktree));
    const saved = await archiveUncaptured(worktree, ref, options.dryRun ?? false);
    if (saved) archived.push({ worktree, ref });
    if (!options.dryRun) await removeWorktree(repo, worktree);
  };

  for (const run of doomed) {
    const runId = run.snapshot.runId;
    const folders = await subfolders(path.join(worktreesRoot(repo), runId));
    const kept = run.snapshot.steps.map((s) => s.worktree).filter((w): w is string => w !== null && !w.startsWith(worktreesRoot(repo)));
    for (const extra of kept)
      if (
        await stat(extra).then(
          () => true,
          () => false,
        )
      )
        folders.push(extra);
    const refs = (await repo.git.run(['for-each-ref', '--format=%(refname)', `refs/tapps-flow/runs/${runId}/`]))
      .split('\n')
      .filter(Boolean);
    (report.runs as Array<CleanupReport['runs'][number]>).push({ runId, status: run.snapshot.status, worktrees: folders, refs });
    for (const w of folders) await dispose(runId, w);
    if (options.dryRun) continue;
    if (refs.length > 0) await repo.git.run(['update-ref', '--stdin'], { input: refs.map((r) => `delete ${r}\n`).join('') });
    await rm(path.join(worktreesRoot(repo), runId), { recursive: true, force: true });
    await rm(runDir(repo.root, runId), { recursive: true, force: true });
  }
  for (const runFolder of await subfolders(worktreesRoot(repo))) {
    const runId = path.basename(runFolder);
    if (known.has(runId)) continue;
    for (const w of await subfolders(runFolder)) {
      (report.orphanedWorktrees as string[]).push(w);
      await dispose(runId, w);
    }
    if (!options.dryRun) await rm(runFolder, { recursive: true, force: true });
  }
  if (!options.dryRun) await repo.git.run(['worktree', 'prune']);
  return report;
}
