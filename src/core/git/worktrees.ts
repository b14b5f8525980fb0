import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import { archiveRef, archiveUncaptured } from './archive';
import { Git } from './git';
import type { Repository } from './repository';

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
   * repository in any case (see `entryLock`).
   * @default 2
   */
  readonly addConcurrency?: number;
}

/** Hooks are the user's business, not a step's: post-checkout must not run for every worktree. */
const NO_HOOKS = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.hooksPath', GIT_CONFIG_VALUE_0: '/dev/null' };

/** Creates and removes the worktrees of one run, throttled so that they stay off the critical path. */
export class Worktrees {
  readonly root: string;
  private readonly adds: PQueue;
  private readonly removals = new PQueue({ concurrency: 1 });
  private readonly trash: string[] = [];
  private readonly entries: string[] = [];

  constructor(
    private readonly repo: Repository,
    private readonly runId: string,
    options: WorktreeOptions = {},
  ) {
    this.root = path.join(options.root ?? path.join(repo.commonDir, 'tapps-flow', 'worktrees'), runId);
    this.adds = new PQueue({ concurrency: options.addConcurrency ?? 2 });
  }

  /** The worktree path of a step; its name includes the run id so that two runs never collide. */
  pathOf(stepId: string): string {
    return path.join(this.root, `${stepId}--${this.runId}`);
  }

  /** Creates a detached worktree of `commit` for the step and returns a Git bound to it. */
  async add(stepId: string, commit: string, signal?: AbortSignal): Promise<Git> {
    const dir = this.pathOf(stepId);
    await this.adds.add(
      async () => {
        await mkdir(this.root, { recursive: true });
        if (existsSync(dir)) {
          // A worktree kept from an earlier attempt (resume): save what it holds, then start fresh.
          await archiveUncaptured(dir, archiveRef(this.runId, `${path.basename(dir)}-${Date.now()}`));
          await removeWorktree(this.repo, dir);
        }
        // Registering the worktree is serialized (see entryLock) and quick without a checkout; the
        // checkout itself, the slow part, runs outside the lock, `addConcurrency` at a time.
        await entryLock(this.repo).add(() =>
          this.repo.git.run(['worktree', 'add', '--detach', '--no-checkout', '--quiet', dir, commit], { env: NO_HOOKS }),
        );
        await new Git(dir).run(['reset', '--hard', '--quiet', commit], { env: NO_HOOKS });
      },
      { signal },
    );
    return new Git(dir);
  }

  /**
   * Moves a step's worktree folder aside at once (a rename, cheap) and leaves the deletion of its
   * files and of git's entry for it to `settled()`: deleting thousands of files never competes
   * with the checkouts of steps still starting, and no entry disappears while a `git worktree
   * add` of this run may be reading the entries (see `dropEntry`).
   */
  remove(stepId: string): void {
    const dir = this.pathOf(stepId);
    void this.removals.add(async () => {
      const entry = await entryOf(this.repo, dir);
      const trash = path.join(path.dirname(dir), `.trash-${process.pid}-${++trashCounter}`);
      if (
        await rename(dir, trash).then(
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
    while (this.trash.length > 0) await rm(this.trash.shift()!, { recursive: true, force: true, maxRetries: 3 });
    await rmdir(this.root).catch(() => undefined); // only when empty: kept worktrees stay
  }
}

let trashCounter = 0;

/**
 * Deletes a worktree's folder and git's entry for it. Deleting the folder ourselves skips
 * `git worktree remove`'s status scan of every file; only call this for a worktree whose changes
 * were captured (or that is archived first).
 */
export async function removeWorktree(repo: Repository, dir: string): Promise<void> {
  const entry = await entryOf(repo, dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  if (entry) await dropEntry(repo, entry);
}

/**
 * The administrative folder git keeps for a linked worktree (`<common dir>/worktrees/<name>`),
 * read from the worktree's `.git` file; undefined when there is none.
 */
async function entryOf(repo: Repository, dir: string): Promise<string | undefined> {
  const text = await readFile(path.join(dir, '.git'), 'utf8').catch(() => undefined);
  const gitdir = text === undefined ? undefined : /^gitdir: (.+)$/m.exec(text)?.[1]?.trim();
  if (gitdir === undefined) return undefined;
  const entry = path.resolve(dir, gitdir);
  // Only ever a folder directly inside the repository's own worktrees folder.
  const [parent, expected] = await Promise.all(
    [realpath(path.dirname(entry)), realpath(path.join(repo.commonDir, 'worktrees'))].map((p) => p.catch(() => undefined)),
  );
  return parent !== undefined && parent === expected ? entry : undefined;
}

/**
 * Drops git's entry for one worktree: moved out of `<common dir>/worktrees` in one rename, then
 * deleted. Not `git worktree prune`, and not a recursive delete in place: both race with a
 * `git worktree add` running at the same time (another run's, another process's). Prune can
 * delete the entry that add has just made and not yet locked ("could not open
 * '.git/worktrees/<name>/gitdir' for writing"), and an entry deleted file by file can be half
 * gone while add reads it ("failed to read .git/worktrees/<name>/commondir"). With git 2.39, a
 * loop of adds beside a loop of prunes fails about one add in five.
 */
async function dropEntry(repo: Repository, entry: string): Promise<void> {
  const aside = path.join(repo.commonDir, 'tapps-flow', 'tmp', `worktree-entry-${process.pid}-${++trashCounter}`);
  await mkdir(path.dirname(aside), { recursive: true });
  const moved = await entryLock(repo).add(() =>
    rename(entry, aside).then(
      () => true,
      () => false,
    ),
  );
  if (moved) await rm(aside, { recursive: true, force: true });
}

const entryLocks = new Map<string, PQueue>();

/**
 * One lock per repository, shared by every run of this process, for changes to git's worktree
 * entries. Git's worktree commands read every entry without locking: two `git worktree add` at
 * once fail when one reads the entry the other is still writing ("failed to read
 * .git/worktrees/<name>/commondir: Success"), so adds are serialized, whatever `addConcurrency`
 * says. Runs in other processes are not covered.
 */
function entryLock(repo: Repository): PQueue {
  let lock = entryLocks.get(repo.commonDir);
  if (!lock) entryLocks.set(repo.commonDir, (lock = new PQueue({ concurrency: 1 })));
  return lock;
}
