import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rmdir } from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import { Lock } from '../util/lock';
import { comparablePath, removeRetrying, renameRetrying, samePath } from '../util/paths';
import { archiveRef, archiveUncaptured } from './archive';
import { Git } from './git';
import { engineDir, type Repository } from './repository';
import { scratchPath } from './scratch';
import { WorktreePool, type PoolDisk } from './worktreePool';
import { newStepTag } from '../process/stepProcesses';

export interface WorktreeOptions {
  /**
   * Folder under which run worktrees are made; outside the user's workspace folder.
   * @default `<git common dir>/tapps-flow/worktrees`
   */
  readonly root?: string;
  /**
   * How many worktree checkouts run at once. Checkouts compete for the same disk and cores: on
   * 2 cores, 2 at once made 8 in about half the time of one after another, and 8 at once were
   * slower than 2 (see BENCHMARKS.md). Registering a worktree with git is serialized per
   * repository in any case (see `registration`).
   * @default 2
   */
  readonly addConcurrency?: number;
  /** How many worktrees a finished step leaves in the warm pool for later steps (see WorktreePool). @default 0 */
  readonly poolSize?: number;
  /** The pool's disk cap, and the disk kept beside it. @default no cap */
  readonly poolDisk?: PoolDisk;
}

/**
 * A step's worktree as git registered it: its folder and git's administrative folder for it
 * (`<common dir>/worktrees/<name>`), recorded when it was made, never read back from the
 * worktree's `.git` file, which the step can rewrite.
 */
export interface StepWorktree {
  readonly dir: string;
  readonly entry: string;
  /** What a pooled worktree kept from its last setup (see WorktreePool.park). */
  readonly retained?: RetainedFolders;
}

/**
 * Ignored dependency folders a worktree keeps between steps: the key they were installed for and
 * each folder's fingerprint with change times (see util/folders.ts), which no write can keep equal.
 */
export interface RetainedFolders {
  readonly key: string;
  readonly folders: readonly { readonly path: string; readonly fingerprint: string }[];
  /** The setup's only effect was these folders: with them, its commands need not run. */
  readonly onlyDependencies: boolean;
}

/** The default folder of run worktrees. */
export function defaultWorktreeRoot(repo: Pick<Repository, 'commonDir'>): string {
  return engineDir(repo, 'worktrees');
}

/** The folder of a step's worktree: `<root>/<run>/<step>--<run>`, so that two runs never collide. */
export function stepWorktreePath(root: string, runId: string, stepId: string): string {
  return path.join(root, runId, `${stepId}--${runId}`);
}

/** Where removed worktrees wait for deletion, under a worktree root (a rename never crosses file systems). */
export function trashDir(root: string): string {
  return path.join(root, '.trash');
}

/**
 * A Git bound to a step's worktree through git's own record of it: for the checkout that prepares
 * it, with the worktree's pinned settings.
 */
export function worktreeGit(wt: StepWorktree): Git {
  return new Git(wt.dir, { gitDir: wt.entry, workTree: wt.dir, worktreeSettings: true });
}

/** Creates and removes the worktrees of one run, throttled so that they stay off the critical path. */
export class Worktrees {
  readonly root: string;
  private readonly adds: PQueue;
  private readonly removals = new PQueue({ concurrency: 1 });
  private readonly trash: string[] = [];
  private readonly entries: string[] = [];
  /** The worktrees this run made, by step: their entries as git registered them. */
  private readonly made = new Map<string, StepWorktree>();
  private readonly pool: WorktreePool;
  /** What each step's setup installed that the pool may keep with its worktree. */
  private readonly keeps = new Map<string, RetainedFolders>();

  constructor(
    private readonly repo: Repository,
    private readonly runId: string,
    options: WorktreeOptions = {},
  ) {
    this.root = options.root ?? defaultWorktreeRoot(repo);
    this.adds = new PQueue({ concurrency: options.addConcurrency ?? 2 });
    this.pool = new WorktreePool(repo, this.root, options.poolSize ?? 0, options.poolDisk);
  }

  /** The worktree path of a step. */
  pathOf(stepId: string): string {
    return stepWorktreePath(this.root, this.runId, stepId);
  }

  /** Creates a detached worktree of `commit` for the step; from the pool, one that kept dependencies of the key `prefer` first. */
  async add(stepId: string, commit: string, signal?: AbortSignal, prefer?: string): Promise<StepWorktree> {
    const dir = this.pathOf(stepId);
    return this.adds.add(
      async () => {
        await mkdir(path.dirname(dir), { recursive: true });
        if (existsSync(dir)) {
          // A worktree kept from an earlier attempt (resume): save what it holds, then start fresh.
          await archiveUncaptured(this.repo, dir, archiveRef(this.runId, `${path.basename(dir)}-${Date.now()}`));
          await removeWorktree(this.repo, dir);
        }
        // A pooled worktree, moved here and to the commit: only the files that differ are written.
        const pooled = await this.pool.take(dir, commit, newStepTag(this.runId, stepId), signal, prefer);
        if (pooled) {
          this.made.set(stepId, pooled);
          return pooled;
        }
        // Registering the worktree is serialized (see registration) and quick without a checkout;
        // the checkout itself, the slow part, runs outside the lock, `addConcurrency` at a time.
        const entry = await registration(this.repo, async () => {
          await this.repo.git.run(['worktree', 'add', '--detach', '--no-checkout', '--quiet', dir, commit]);
          return registeredEntry(this.repo, dir);
        });
        const wt = { dir, entry };
        this.made.set(stepId, wt);
        // A cancelled step stops its checkout: thousands of files need not be written for nothing.
        await worktreeGit(wt).run(['reset', '--hard', '--quiet', commit], { signal });
        return wt;
      },
      { signal },
    );
  }

  /** Records the dependency folders of a step's worktree the pool may keep when the step is done with it. */
  keep(stepId: string, folders: RetainedFolders): void {
    this.keeps.set(stepId, folders);
  }

  /**
   * Moves a step's worktree folder aside at once (a rename, cheap) and leaves the deletion of its
   * files and of git's entry for it to `settled()`: deleting thousands of files never competes
   * with the checkouts of steps still starting.
   */
  remove(stepId: string): void {
    const dir = this.pathOf(stepId);
    void this.removals.add(async () => {
      const made = this.made.get(stepId);
      if (made && (await this.pool.park(made, newStepTag(this.runId, stepId), this.keeps.get(stepId)))) return;
      // The entry recorded when the worktree was made; git's records only for one made earlier (resume).
      const entry = made?.entry ?? (await entryOf(this.repo, dir));
      await mkdir(trashDir(this.root), { recursive: true });
      const trash = path.join(trashDir(this.root), `${process.pid}.${++trashCounter}`);
      if (
        await renameRetrying(dir, trash).then(
          () => true,
          () => false,
        )
      )
        this.trash.push(trash);
      if (entry) this.entries.push(entry);
    });
  }

  /** Deletes the files and git entries of every removed worktree; call when the run's steps are done. */
  async settled(): Promise<void> {
    await this.removals.onIdle();
    await this.adds.onIdle();
    while (this.entries.length > 0) await dropEntry(this.repo, this.entries.shift()!);
    while (this.trash.length > 0) await removeRetrying(this.trash.shift()!, { recursive: true, force: true, maxRetries: 3 });
    await rmdir(path.join(this.root, this.runId)).catch(() => undefined); // only when empty: kept worktrees stay
  }
}

let trashCounter = 0;

/**
 * Runs `fn` holding the repository's worktree-registration lock, across processes. Git's worktree
 * commands read every entry without locking: two `git worktree add` at once fail when one reads
 * the entry the other is still writing ("failed to read .git/worktrees/<name>/commondir:
 * Success"), and a `git worktree prune` beside an add can delete the entry the add has just made.
 * Two runs in two processes on one repository lost steps that way in 3 of 9 tries.
 */
export async function registration<T>(repo: Repository, fn: () => Promise<T>): Promise<T> {
  return inProcess(repo).add(async () => {
    const lock = await Lock.acquire(engineDir(repo, 'locks', 'worktrees'), 'registering worktrees', { waitMs: 120_000 });
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  });
}

const queues = new Map<string, PQueue>();

/** Within one process, waiters queue here rather than poll the lock. */
function inProcess(repo: Repository): PQueue {
  const key = comparablePath(repo.commonDir);
  let queue = queues.get(key);
  if (!queue) queues.set(key, (queue = new PQueue({ concurrency: 1 })));
  return queue;
}

/**
 * Deletes a worktree's folder and git's entry for it. Deleting the folder ourselves skips
 * `git worktree remove`'s status scan of every file; only call this for a worktree whose changes
 * were captured (or that is archived first).
 */
export async function removeWorktree(repo: Repository, dir: string): Promise<void> {
  const entry = await entryOf(repo, dir);
  await removeRetrying(dir, { recursive: true, force: true, maxRetries: 3 });
  if (entry) await dropEntry(repo, entry);
}

/** The entry git just wrote for a new worktree: named in its `.git` file, checked against git's folder. */
async function registeredEntry(repo: Repository, dir: string): Promise<string> {
  const text = await readFile(path.join(dir, '.git'), 'utf8');
  const gitdir = /^gitdir: (.+)$/m.exec(text)?.[1]?.trim();
  const entry = gitdir === undefined ? undefined : path.resolve(dir, gitdir);
  const [parent, expected] = await Promise.all([entry && realpath(path.dirname(entry)), realpath(path.join(repo.commonDir, 'worktrees'))]);
  if (!entry || !parent || !samePath(parent, expected))
    throw new Error(`git registered the worktree ${dir} in an unexpected place (${gitdir ?? 'none'})`);
  return entry;
}

/**
 * git's entry for the worktree at `dir`, found from git's own records (each entry's `gitdir` file
 * names its worktree), not from the worktree's `.git` file; undefined when there is none.
 */
export async function entryOf(repo: Repository, dir: string): Promise<string | undefined> {
  const folder = path.join(repo.commonDir, 'worktrees');
  const wanted = path.join(await realpath(dir).catch(() => path.resolve(dir)), '.git');
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const recorded = await readFile(path.join(folder, name, 'gitdir'), 'utf8').catch(() => undefined);
    if (recorded === undefined) continue;
    const target = path.resolve(folder, name, recorded.trim());
    if (samePath(target, wanted)) return path.join(folder, name);
    const real = await realpath(path.dirname(target)).catch(() => undefined);
    if (real !== undefined && samePath(real, path.dirname(wanted))) return path.join(folder, name);
  }
  return undefined;
}

/**
 * Drops git's entry for one worktree: moved out of `<common dir>/worktrees` in one rename under
 * the registration lock, then deleted. Not `git worktree prune`, and not a recursive delete in
 * place: both race with a `git worktree add` running at the same time. With git 2.39, a loop of
 * adds beside a loop of prunes fails about one add in five.
 */
export async function dropEntry(repo: Repository, entry: string): Promise<void> {
  const aside = await scratchPath(repo, 'worktree-entry');
  const moved = await registration(repo, () =>
    renameRetrying(entry, aside).then(
      () => true,
      () => false,
    ),
  );
  if (moved) await removeRetrying(aside, { recursive: true, force: true });
}
