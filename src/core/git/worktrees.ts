import { existsSync } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
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
   * How many `git worktree add` run at once. Checkouts compete for the same disk and cores: on
   * 2 cores, 8 at once took 2-4x longer in all than 8 one after another (see BENCHMARKS.md).
   * @default 1
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

  constructor(
    private readonly repo: Repository,
    private readonly runId: string,
    options: WorktreeOptions = {},
  ) {
    this.root = path.join(options.root ?? path.join(repo.commonDir, 'tapps-flow', 'worktrees'), runId);
    this.adds = new PQueue({ concurrency: options.addConcurrency ?? 1 });
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
        await this.repo.git.run(['worktree', 'add', '--detach', '--quiet', dir, commit], { env: NO_HOOKS });
      },
      { signal },
    );
    return new Git(dir);
  }

  /**
   * Detaches a step's worktree at once (a rename and a prune, both cheap) and leaves the deletion
   * of its files to `settled()`, so that deleting thousands of files never competes with the
   * checkouts of steps still starting.
   */
  remove(stepId: string): void {
    const dir = this.pathOf(stepId);
    void this.removals.add(async () => {
      const trash = await detachWorktree(this.repo, dir);
      if (trash) this.trash.push(trash);
    });
  }

  /** Deletes the files of every removed worktree; call when the run's steps are done. */
  async settled(): Promise<void> {
    await this.removals.onIdle();
    while (this.trash.length > 0) await rm(this.trash.shift()!, { recursive: true, force: true, maxRetries: 3 });
    await rmdir(this.root).catch(() => undefined); // only when empty: kept worktrees stay
  }
}

let trashCounter = 0;

/**
 * Moves a worktree's folder aside and lets git drop its administrative entry; returns the folder
 * to delete (undefined if there was none). Only for a worktree whose changes were captured.
 */
async function detachWorktree(repo: Repository, dir: string): Promise<string | undefined> {
  const trash = path.join(path.dirname(dir), `.trash-${process.pid}-${++trashCounter}`);
  const moved = await rename(dir, trash).then(() => true, () => false);
  // Prune only drops entries whose folders no longer exist, as `git gc` would.
  await repo.git.run(['worktree', 'prune']);
  return moved ? trash : undefined;
}

/**
 * Deletes a worktree's folder, then lets git drop its administrative entry. Deleting the folder
 * ourselves skips `git worktree remove`'s status scan of every file; only call this for a
 * worktree whose changes were captured (or that is archived first).
 */
export async function removeWorktree(repo: Repository, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  // Prune only drops entries whose folders no longer exist, as `git gc` would.
  await repo.git.run(['worktree', 'prune']);
}
