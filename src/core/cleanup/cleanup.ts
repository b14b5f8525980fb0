import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { archiveRef, archiveUncaptured } from '../git/archive';
import { excludeStateFolder, openRepository, type Repository } from '../git/repository';
import { sweepScratch } from '../git/scratch';
import { registration, removeWorktree, trashDir } from '../git/worktrees';
import { DependencyStore } from '../setup/dependencyStore';
import { WorktreePool } from '../git/worktreePool';
import { pidExists } from '../process/processIdentity';
import { runDir, runsDir, STATE_TRASH_PREFIX } from '../run/stateDir';
import { crashPoint } from '../util/crashPoint';
import { inspectLock } from '../util/lock';
import { idProblem } from '../util/ids';
import { runLockPath, worktreeRoots } from '../state/runLocation';
import { listRuns, loadRun, trackedRunIds, type RunView } from '../state/runs';
import { RunWriter } from '../state/runWriter';
import { errorMessage, TappsError } from '../util/errors';
import { deleteRemoteRefs, remoteRunRefs, userTeamRemote, type TeamRemote } from '../remote/teamRemote';
import type { Git } from '../git/git';
import { removeRetrying, renameRetrying } from '../util/paths';

export interface CleanupOptions {
  /** Only runs that finished more than this many days ago. */
  readonly olderThanDays?: number;
  /** The newest finished runs to keep whatever their age. @default 5 */
  readonly keep?: number;
  /** List what would be removed; change nothing. */
  readonly dryRun?: boolean;
  readonly now?: () => Date;
  /** The team remote of runs whose steps ran on workers, as the user names it (else TAPPS_QUEUE_REMOTE, else origin). */
  readonly teamRemote?: string;
}

export interface CleanupReport {
  readonly dryRun: boolean;
  readonly runs: ReadonlyArray<{
    readonly runId: string;
    readonly status: string;
    readonly worktrees: readonly string[];
    readonly refs: readonly string[];
    /** Refs deleted (or that would be) from the team remote: those of a run on workers whose engine died. */
    readonly remoteRefs: readonly string[];
  }>;
  readonly orphanedWorktrees: readonly string[];
  /** The warm pool's worktrees, deleted (or that would be): a cleanup gives their disk back. */
  readonly pooledWorktrees: readonly string[];
  /** Shared dependency folders deleted (or that would be), by key: installed again when next needed. */
  readonly sharedDependencies: number;
  /** Worktrees whose uncaptured changes were (or would be) saved first: path -> archive ref. */
  readonly archived: ReadonlyArray<{ readonly worktree: string; readonly ref: string }>;
  /** Runs left alone, and why (in use by a live process, tracked by git, its refs on the team remote: `teamRemote`). */
  readonly skipped: ReadonlyArray<{ readonly runId: string; readonly reason: string; readonly teamRemote?: true }>;
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
      out.push(n);
  return out;
}

/** The step worktree folders of a run under one root: only names of the form `<step>--<run>`. */
async function runWorktrees(root: string, runId: string): Promise<string[]> {
  const suffix = `--${runId}`;
  return (await subfolders(path.join(root, runId)))
    .filter((name) => name.endsWith(suffix) && idProblem('step', name.slice(0, -suffix.length)) === undefined)
    .map((name) => path.join(root, runId, name));
}

/**
 * Removes the worktrees, refs and state of finished runs, and orphaned worktrees whose run is
 * gone. Only what lies in the repository's own state folder and its known worktree roots is
 * touched; a run in use by a live process (its lock is held) or whose state git tracks is left
 * alone. A worktree holding changes that were never captured is first saved to an archive ref
 * (`refs/tapps-flow/archive/<run-id>/<folder>`): nothing uncaptured is ever deleted.
 */
export async function cleanup(repoDir: string, options: CleanupOptions = {}): Promise<CleanupReport> {
  const repo = await openRepository(repoDir);
  const dryRun = options.dryRun ?? false;
  const now = options.now ?? (() => new Date());
  if (!dryRun) {
    await excludeStateFolder(repo);
    await sweepScratch(repo);
  }
  const roots = await worktreeRoots(repo);
  const tracked = await trackedRunIds(repo);
  const { runs } = await listRuns(repo, { now, tracked });
  const report = {
    dryRun,
    runs: [] as CleanupReport['runs'][number][],
    orphanedWorktrees: [] as string[],
    pooledWorktrees: [] as string[],
    sharedDependencies: 0,
    archived: [] as CleanupReport['archived'][number][],
    skipped: [] as CleanupReport['skipped'][number][],
  };
  for (const r of runs) {
    if (r.live) report.skipped.push({ runId: r.snapshot.runId, reason: BUSY });
    else if (r.readOnly) report.skipped.push({ runId: r.snapshot.runId, reason: 'its state is tracked by git' });
  }
  const finished = runs.filter((r) => !r.live && !r.readOnly);
  const cutoff = options.olderThanDays === undefined ? undefined : now().getTime() - options.olderThanDays * 86_400_000;
  const doomed = finished
    .slice(options.keep ?? 5)
    .filter((r) => cutoff === undefined || Date.parse(r.snapshot.finishedAt ?? r.snapshot.startedAt) < cutoff);

  const dispose = async (runId: string, worktree: string) => {
    const ref = archiveRef(runId, path.basename(worktree));
    const saved = await archiveUncaptured(repo, worktree, ref, dryRun);
    if (saved) report.archived.push({ worktree, ref: saved });
    if (!dryRun) await removeWorktree(repo, worktree);
  };

  const team = new TeamRefs(repo.git, userTeamRemote(options.teamRemote));
  for (const run of doomed) {
    const removed = await removeRun(repo, run, roots, dryRun, dispose, team);
    if ('reason' in removed) report.skipped.push({ runId: run.snapshot.runId, ...removed });
    else report.runs.push(removed);
  }
  const known = new Set(runs.map((r) => r.snapshot.runId));
  for (const root of roots) {
    for (const runId of await subfolders(root)) {
      // `.trash` and anything else that is not a run id is not a run's folder.
      if (known.has(runId) || idProblem('run', runId) || (await inspectLock(runLockPath(repo, runId))).held) continue;
      if (
        await stat(runDir(repo.root, runId)).then(
          () => true,
          () => false,
        )
      )
        continue; // an unreadable run: not an orphan
      for (const w of await runWorktrees(root, runId)) {
        report.orphanedWorktrees.push(w);
        await dispose(runId, w);
      }
      if (!dryRun) await removeRetrying(path.join(root, runId), { recursive: true, force: true });
    }
    const pool = new WorktreePool(repo, root, 0);
    report.pooledWorktrees.push(...(dryRun ? await pool.list() : await pool.trim()));
    const store = new DependencyStore(root);
    report.sharedDependencies += dryRun ? (await store.list()).length : await store.trim();
    if (!dryRun) await emptyTrash(root);
  }
  if (!dryRun) {
    await emptyStateTrash(repo);
    await registration(repo, () => repo.git.run(['worktree', 'prune']));
  }
  return report;
}

/** What deleting one run, or one kept worktree, did: the uncaptured work saved first. */
export interface RemovedWork {
  readonly worktrees: readonly string[];
  readonly archived: ReadonlyArray<{ readonly worktree: string; readonly ref: string }>;
}

/** A run of this machine that may be acted on (its state is not tracked by git); refused with the reason otherwise. */
async function runOf(repo: Repository, runId: string, doing: string): Promise<RunView> {
  const tracked = await trackedRunIds(repo);
  const run = await loadRun(repo, runId, { tracked }).catch((error: unknown) => {
    throw new TappsError('run-not-found', `Cannot ${doing}: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (run.readOnly) throw new TappsError('run-tracked', `Cannot ${doing}: run ${runId}'s ${run.readOnly}.`);
  // Whether another process holds it is for its writer to find out: it waits for this very
  // process (a run of the editor letting go) and refuses another's.
  return run;
}

/**
 * Deletes one finished run, as cleanup does whatever its age: every worktree holding uncaptured
 * work is saved to an archive ref first, then its worktrees, refs and state are removed (and, for a
 * run on workers, its refs on `teamRemote`, the user's: refused while they cannot be).
 */
export async function deleteRun(repoDir: string, runId: string, teamRemote?: string): Promise<RemovedWork> {
  const repo = await openRepository(repoDir);
  const run = await runOf(repo, runId, `delete run ${runId}`);
  const archived: Array<{ worktree: string; ref: string }> = [];
  const dispose = async (id: string, worktree: string) => {
    const ref = archiveRef(id, path.basename(worktree));
    const saved = await archiveUncaptured(repo, worktree, ref);
    if (saved) archived.push({ worktree, ref: saved });
    await removeWorktree(repo, worktree);
  };
  const team = new TeamRefs(repo.git, userTeamRemote(teamRemote));
  const removed = await removeRun(repo, run, await worktreeRoots(repo), false, dispose, team);
  if ('reason' in removed && !removed.teamRemote)
    throw new TappsError('run-busy', `Cannot delete run ${runId}: it is in use by another process.`);
  if ('reason' in removed) throw new TappsError('remote-failed', `Cannot delete run ${runId}: ${removed.reason}.`);
  await registration(repo, () => repo.git.run(['worktree', 'prune']));
  return { worktrees: removed.worktrees, archived };
}

/**
 * The worktrees a finished run kept (keep_worktrees), by step: only folders of the form
 * `<step>--<run>` under the repository's worktree roots, never a path the state names.
 */
export async function keptWorktrees(repoDir: string, runId: string): Promise<Map<string, string>> {
  const repo = await openRepository(repoDir);
  const kept = new Map<string, string>();
  const suffix = `--${runId}`;
  for (const root of await worktreeRoots(repo))
    for (const w of await runWorktrees(root, runId)) kept.set(path.basename(w).slice(0, -suffix.length), w);
  return kept;
}

/** Removes the worktree a finished run kept for one step; its uncaptured work is saved to an archive ref first. */
export async function removeKeptWorktree(repoDir: string, runId: string, stepId: string): Promise<RemovedWork> {
  const repo = await openRepository(repoDir);
  await runOf(repo, runId, `remove the worktree of step ${stepId}`);
  const worktree = (await keptWorktrees(repo.root, runId)).get(stepId);
  if (!worktree) throw new TappsError('unknown-step', `Run ${runId} kept no worktree for step "${stepId}".`);
  const writer = await RunWriter.open(repo, runId, 'removing a kept worktree');
  try {
    const ref = archiveRef(runId, path.basename(worktree));
    const saved = await archiveUncaptured(repo, worktree, ref);
    const archived = saved ? [{ worktree, ref: saved }] : [];
    await removeWorktree(repo, worktree);
    await registration(repo, () => repo.git.run(['worktree', 'prune']));
    return { worktrees: [worktree], archived };
  } finally {
    await writer.close().catch(() => undefined);
  }
}

const BUSY = 'in use by a live process';

/** A run's refs on the team remote, which its engine deletes when the run ends (see `RemoteSteps`) unless it died first. */
class TeamRefs {
  /** Why the remote failed: it is asked once per cleanup. */
  private failed: string | undefined;

  constructor(
    private readonly git: Git,
    private readonly remote: TeamRemote,
  ) {}

  /**
   * Deletes (in a dry run, lists) the refs of `run` there when its steps ran on workers. Why not,
   * when they cannot be: the run is then kept, for a later cleanup to delete them.
   */
  async clear(run: RunView, dryRun: boolean): Promise<readonly string[] | string> {
    const { settings } = run.snapshot;
    if (settings.runner !== 'queue') return [];
    const recorded = typeof settings.queueRemote === 'string' ? settings.queueRemote : this.remote.display;
    // The run's state names its remote for display only; it is never contacted on that word.
    if (recorded !== this.remote.display)
      return `its steps went through the team remote ${recorded}, not ${this.remote.display}: name that one (--remote, tappsFlow.queueRemote) to delete its refs there`;
    if (this.failed) return this.failed;
    try {
      const refs = await remoteRunRefs(this.git, this.remote, run.snapshot.runId);
      if (!dryRun) await deleteRemoteRefs(this.git, this.remote, refs);
      return refs;
    } catch (error) {
      this.failed = `its refs on the team remote could not be deleted (${errorMessage(error)}); run the cleanup again when the remote answers`;
      return this.failed;
    }
  }
}

/**
 * Removes one finished run as its writer, so that no one starts on it meanwhile. What it removed;
 * or why it was kept: `BUSY`, or its refs on the team remote (`teamRemote`).
 */
async function removeRun(
  repo: Repository,
  run: RunView,
  roots: readonly string[],
  dryRun: boolean,
  dispose: (runId: string, worktree: string) => Promise<void>,
  team: TeamRefs,
): Promise<CleanupReport['runs'][number] | { readonly reason: string; readonly teamRemote?: true }> {
  const runId = run.snapshot.runId;
  const writer = dryRun
    ? undefined
    : await RunWriter.open(repo, runId, 'cleaning up').catch((error: unknown) => {
        if (TappsError.is(error) && error.code === 'run-busy') return null;
        throw error;
      });
  if (writer === null) return { reason: BUSY };
  try {
    // First: a run whose refs stay on the remote is kept, or nothing would say they are there.
    const remoteRefs = await team.clear(run, dryRun);
    if (typeof remoteRefs === 'string') return { reason: remoteRefs, teamRemote: true };
    const folders = (await Promise.all(roots.map((root) => runWorktrees(root, runId)))).flat();
    const refs = (await repo.git.run(['for-each-ref', '--format=%(refname)', `refs/tapps-flow/runs/${runId}/`]))
      .split('\n')
      .filter(Boolean);
    for (const w of folders) await dispose(runId, w);
    if (!dryRun) {
      if (refs.length > 0) await repo.git.run(['update-ref', '--stdin'], { input: refs.map((r) => `delete ${r}\n`).join('') });
      for (const root of roots) await removeRetrying(path.join(root, runId), { recursive: true, force: true });
      await deleteStateFolder(repo, runId);
    }
    return { runId, status: run.snapshot.status, worktrees: folders, refs, remoteRefs };
  } finally {
    await writer?.close().catch(() => undefined);
  }
}

/**
 * Deletes a run's state folder: renamed aside first (one step), so that a process killed halfway
 * through the deletion leaves no half-deleted folder to be listed as a damaged run; what it left
 * aside is deleted by the next cleanup.
 */
async function deleteStateFolder(repo: Repository, runId: string): Promise<void> {
  const aside = path.join(runsDir(repo.root), `${STATE_TRASH_PREFIX}${runId}.${process.pid}`);
  const moved = await renameRetrying(runDir(repo.root, runId), aside).then(
    () => true,
    () => false,
  );
  crashPoint('run-state-aside');
  await removeRetrying(moved ? aside : runDir(repo.root, runId), { recursive: true, force: true });
}

/** State folders that deletions left aside, except those live processes are deleting. */
async function emptyStateTrash(repo: Repository): Promise<void> {
  const dir = runsDir(repo.root);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(STATE_TRASH_PREFIX)) continue;
    const pid = Number(name.slice(name.lastIndexOf('.') + 1));
    if (Number.isInteger(pid) && pid !== process.pid && pidExists(pid)) continue;
    await removeRetrying(path.join(dir, name), { recursive: true, force: true });
  }
}

/** Deletes what removed worktrees left in a root's trash, except what live processes are deleting. */
async function emptyTrash(root: string): Promise<void> {
  const trash = trashDir(root);
  for (const name of await readdir(trash).catch(() => [] as string[])) {
    const pid = Number(name.split('.')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && pidExists(pid)) continue;
    await removeRetrying(path.join(trash, name), { recursive: true, force: true });
  }
}
