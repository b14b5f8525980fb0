import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import { stopProcessesOf, tagEnvironment, type StepTag } from '../process/stepProcesses';
import { crashPoint } from '../util/crashPoint';
import { Lock } from '../util/lock';
import { removeRetrying, renameRetrying, samePath } from '../util/paths';
import type { Repository } from './repository';
import * as z from 'zod/mini';
import { diskBytes, FolderPrintsSchema, foldersUnchanged } from '../util/folders';
import { dropEntry, entryOf, registration, worktreeGit, type RetainedFolders, type StepWorktree } from './worktrees';

/**
 * A warm pool of worktrees, per repository and worktree root: a step's worktree that would be
 * deleted after its run is cleaned and parked instead (up to `size`), and the next step takes it,
 * moved to its own folder and to its base by `git reset --hard`, which writes only the files that
 * differ. Both the checkout of ~10,000 files and their deletion (which slows every later file
 * creation on common file systems) leave a run's path.
 *
 * A worktree a step worked in is not trusted: it is pooled only when git's records of it are as the
 * engine made them (its `.git` file, its entry holding nothing a step could plant for the next
 * one: no worktree config, no merge or rebase state) and its index is a plain file; otherwise it is
 * deleted as before. What a step left in the folder is deleted when it is parked (`git clean -ffdx`).
 */

/** The folder of the pool under a worktree root; `.`-names are never a run's folder. */
export function poolDir(root: string): string {
  return path.join(root, '.pool');
}

const queues = new Map<string, PQueue>();

/** What an entry (`<common dir>/worktrees/<name>`) may hold for its worktree to be pooled. */
const ENTRY_FILES = new Set(['HEAD', 'ORIG_HEAD', 'COMMIT_EDITMSG', 'commondir', 'gitdir', 'index', 'logs', 'tapps-objects']);

interface Slot {
  readonly name: string;
  readonly dir: string;
  readonly entry: string;
  /** Disk its files take, as measured when it was parked. */
  readonly bytes: number;
  readonly retained?: RetainedFolders;
}

/** The disk cap of a pool, and what it counts beside its worktrees (the shared dependencies). */
export interface PoolDisk {
  /** Bytes the pooled worktrees and `others` may take together; 0 is no cap. */
  readonly maxBytes: number;
  /** The disk kept beside the pool, and how to free some of it (least recently used first). */
  readonly others?: { readonly bytes: () => Promise<number>; readonly trim: (keepBytes: number) => Promise<unknown> };
}

export class WorktreePool {
  readonly dir: string;

  constructor(
    private readonly repo: Repository,
    root: string,
    private readonly size: number,
    private readonly disk: PoolDisk = { maxBytes: 0 },
  ) {
    this.dir = poolDir(root);
  }

  /**
   * A pooled worktree moved to `target` and checked out at `commit`, or undefined when the pool has
   * none (or none that is still sound: those are deleted). One that kept dependency folders of the
   * key `prefer` comes first, else the oldest.
   */
  async take(target: string, commit: string, tag: StepTag, signal?: AbortSignal, prefer?: string): Promise<StepWorktree | undefined> {
    if (this.size === 0) return undefined;
    for (;;) {
      const slot = await this.withLock(async (): Promise<Slot | 'gone' | undefined> => {
        const slots = await this.slots();
        // One whose kept dependency folders are of the step's key first: the others would delete theirs.
        const first = slots.find((s) => prefer !== undefined && s.retained?.key === prefer) ?? slots[0];
        if (!first) return undefined;
        // A record whose folder is gone (a take that a crash cut short moved it to a run's folder,
        // which cleanup deletes as an orphan): dropped, or it would stand first in line for ever.
        if (!(await lstat(first.dir).catch(() => undefined))) {
          await removeRetrying(`${first.dir}.json`, { force: true });
          return 'gone';
        }
        // Claimed by moving it out of the pool, under the registration lock: git's record follows it.
        try {
          await mkdir(path.dirname(target), { recursive: true });
          await registration(this.repo, async () => {
            await renameRetrying(first.dir, target);
            crashPoint('pool-taken-moved');
            await writeFile(path.join(first.entry, 'gitdir'), `${path.join(target, '.git')}\n`);
          });
        } catch {
          return undefined; // left in the pool; the step gets a checkout of its own
        }
        await removeRetrying(`${first.dir}.json`, { force: true });
        return first;
      });
      if (slot === 'gone') continue;
      if (!slot) return undefined;
      const wt: StepWorktree = { dir: target, entry: slot.entry, ...(slot.retained ? { retained: slot.retained } : {}) };
      try {
        if (!(await sound(this.repo, wt))) throw new Error('changed since it was parked');
        // Parked clean at its HEAD: at that very commit it is ready as it is.
        const head = (await readFile(path.join(wt.entry, 'HEAD'), 'utf8')).trim();
        if (head !== commit)
          await contained(tag, () => worktreeGit(wt).run(['reset', '--hard', '--quiet', commit], { signal, env: tagEnvironment(tag) }));
        return wt;
      } catch (error) {
        await removeRetrying(target, { recursive: true, force: true });
        await dropEntry(this.repo, slot.entry);
        if (signal?.aborted) throw error;
      }
    }
  }

  /**
   * Cleans a worktree a step is done with and parks it, when the pool has room and the worktree is
   * sound; returns false (the caller deletes it) otherwise.
   */
  async park(wt: StepWorktree, tag: StepTag, keep?: RetainedFolders): Promise<boolean> {
    if (this.size === 0 || !(await sound(this.repo, wt))) return false;
    // Dependency folders of the worktree's setup stay when the step left them as they were.
    const retained = keep && (await foldersUnchanged(wt.dir, keep.folders)) ? keep : undefined;
    try {
      // Files written into a submodule's folder are beyond `git clean` (the folder is a tracked
      // gitlink): such a worktree is deleted, never handed to another step.
      if (await writtenSubmodules(wt)) return false;
      // What the step left: its edits of tracked files, untracked and ignored files, its private
      // object store (imported). Parked clean at its HEAD, it needs no reset for that commit.
      await contained(tag, async () => {
        await worktreeGit(wt).run(['reset', '--hard', '--quiet'], { env: tagEnvironment(tag) });
        const kept = (retained?.folders ?? []).flatMap((f) => ['-e', `/${f.path.replace(/[*?[\\]/g, '\\$&')}/`]);
        await worktreeGit(wt).run(['clean', '-ffdxq', ...kept], { env: tagEnvironment(tag) });
      });
      await removeRetrying(path.join(wt.entry, 'tapps-objects'), { recursive: true, force: true });
    } catch {
      return false;
    }
    const bytes = await diskBytes(wt.dir);
    return this.withLock(async () => {
      const slots = await this.slots();
      if (slots.length >= this.size) return false;
      if (!(await this.makeRoom(slots, bytes))) return false;
      await mkdir(this.dir, { recursive: true });
      const name = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
      const dir = path.join(this.dir, name);
      await registration(this.repo, async () => {
        await renameRetrying(wt.dir, dir);
        await writeFile(path.join(wt.entry, 'gitdir'), `${path.join(dir, '.git')}\n`);
      });
      crashPoint('pool-parked-moved');
      const record = { entry: wt.entry, parkedAt: new Date().toISOString(), bytes, ...(retained ? { retained } : {}) };
      await writeFile(`${dir}.json`, `${JSON.stringify(record)}\n`);
      return true;
    });
  }

  /** The pooled worktrees, oldest first. */
  async list(): Promise<string[]> {
    return (await this.slots()).map((s) => s.dir);
  }

  /** Deletes the pooled worktrees beyond the newest `keep` (all by default); returns their folders. */
  async trim(keep = 0): Promise<string[]> {
    return this.withLock(async () => {
      const slots = await this.slots();
      const extra = slots.slice(0, Math.max(0, slots.length - keep));
      for (const slot of extra) await this.delete(slot);
      // A park that a crash cut short (moved here, not recorded): deleted with git's entry for it.
      const recorded = new Set(slots.map((s) => path.basename(s.dir)));
      const unfinished: string[] = [];
      for (const name of await readdir(this.dir).catch(() => [] as string[])) {
        const dir = path.join(this.dir, name);
        if (recorded.has(name) || name.includes('.') || !(await lstat(dir).catch(() => undefined))?.isDirectory()) continue;
        const entry = await entryOf(this.repo, dir);
        await removeRetrying(dir, { recursive: true, force: true });
        if (entry) await dropEntry(this.repo, entry);
        unfinished.push(dir);
      }
      return [...extra.map((s) => s.dir), ...unfinished];
    });
  }

  /** How many worktrees are pooled, and the disk they take (as measured when each was parked). */
  async usage(): Promise<{ readonly worktrees: number; readonly bytes: number }> {
    const slots = await this.slots();
    return { worktrees: slots.length, bytes: slots.reduce((sum, s) => sum + s.bytes, 0) };
  }

  /**
   * Frees disk for a worktree of `bytes` within the cap: the oldest pooled worktrees go first, then
   * the least recently used shared dependencies. False when it cannot fit at all.
   */
  private async makeRoom(slots: readonly Slot[], bytes: number): Promise<boolean> {
    const cap = this.disk.maxBytes;
    if (cap === 0) return true;
    if (bytes > cap) return false;
    const others = (await this.disk.others?.bytes()) ?? 0;
    let pooled = slots.reduce((sum, s) => sum + s.bytes, 0);
    for (const slot of slots) {
      if (pooled + others + bytes <= cap) break;
      await this.delete(slot);
      pooled -= slot.bytes;
    }
    if (pooled + others + bytes > cap) await this.disk.others?.trim(cap - pooled - bytes);
    return true;
  }

  private async delete(slot: Slot): Promise<void> {
    await removeRetrying(`${slot.dir}.json`, { force: true });
    await removeRetrying(slot.dir, { recursive: true, force: true });
    await dropEntry(this.repo, slot.entry);
  }

  /** Parked worktrees whose record names an entry of this repository, oldest first. */
  private async slots(): Promise<Slot[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
    const slots: Slot[] = [];
    const entries = path.join(this.repo.commonDir, 'worktrees');
    for (const file of names) {
      const name = file.slice(0, -'.json'.length);
      const record = await readFile(path.join(this.dir, file), 'utf8')
        .then((t) => JSON.parse(t) as { entry?: unknown; bytes?: unknown; retained?: unknown })
        .catch(() => undefined);
      const entry = typeof record?.entry === 'string' ? record.entry : undefined;
      if (entry === undefined || path.dirname(entry) !== entries) continue;
      const bytes = typeof record?.bytes === 'number' && record.bytes >= 0 ? record.bytes : 0;
      const retained = retainedOf(record?.retained);
      slots.push({ name, dir: path.join(this.dir, name), entry, bytes, ...(retained ? { retained } : {}) });
    }
    return slots;
  }

  /** Runs `fn` holding the pool's lock, across processes; within this one, callers queue rather than poll it. */
  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    let queue = queues.get(this.dir);
    if (!queue) queues.set(this.dir, (queue = new PQueue({ concurrency: 1 })));
    return queue.add(async () => {
      await mkdir(this.dir, { recursive: true });
      const lock = await Lock.acquire(path.join(this.dir, 'registry'), 'using the worktree pool', { waitMs: 30_000 });
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    });
  }
}

/** Kept folders as a pool record names them, or undefined when the record is not of that shape. */
function retainedOf(value: unknown): RetainedFolders | undefined {
  const parsed = RetainedSchema.safeParse(value);
  return parsed.success && parsed.data.folders.length > 0 ? parsed.data : undefined;
}

const RetainedSchema = z.object({ key: z.string(), onlyDependencies: z.boolean(), folders: FolderPrintsSchema });

/**
 * Whether git's records of a worktree are as the engine made them: its `.git` file names its entry;
 * the entry holds nothing but what git keeps for a plain worktree, its common folder is the
 * repository's, its HEAD is detached (a step that checked out a branch there would have the next
 * `reset --hard` move that branch) and its index is a plain file.
 */
async function sound(repo: Repository, wt: StepWorktree): Promise<boolean> {
  try {
    const dotGit = await lstat(path.join(wt.dir, '.git'));
    if (!dotGit.isFile() || dotGit.size > 4096) return false;
    const named = /^gitdir: (.+)$/m.exec(await readFile(path.join(wt.dir, '.git'), 'utf8'))?.[1]?.trim();
    if (named === undefined || !samePath(path.resolve(wt.dir, named), wt.entry)) return false;
    if (!samePath(path.dirname(wt.entry), path.join(repo.commonDir, 'worktrees'))) return false;
    for (const name of await readdir(wt.entry)) if (!ENTRY_FILES.has(name)) return false;
    // Plain files first (a FIFO would block the reads), then their contents.
    for (const file of ['HEAD', 'commondir', 'index']) if (!(await lstat(path.join(wt.entry, file))).isFile()) return false;
    if ((await readFile(path.join(wt.entry, 'commondir'), 'utf8')).trim() !== '../..') return false;
    return /^[0-9a-f]{40,64}\n?$/.test(await readFile(path.join(wt.entry, 'HEAD'), 'utf8'));
  } catch {
    return false;
  }
}

/** Whether a submodule's folder in the worktree holds anything (a worktree's submodules are not checked out). */
async function writtenSubmodules(wt: StepWorktree): Promise<boolean> {
  const staged = await worktreeGit(wt).run(['ls-files', '-z', '--stage']);
  for (const record of staged.split('\0')) {
    if (!record.startsWith('160000 ')) continue;
    const file = record.slice(record.indexOf('\t') + 1);
    const stat = await lstat(path.join(wt.dir, file)).catch(() => undefined);
    if (stat && (!stat.isDirectory() || (await readdir(path.join(wt.dir, file))).length > 0)) return true;
  }
  return false;
}

/**
 * Runs git commands in a worktree a step used, as that step: git may start programs the worktree's
 * attributes name (a filter a step configured, git-lfs), which carry the step's tag and are stopped
 * when the commands are done, as its capture's are.
 */
async function contained<T>(tag: StepTag, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await stopProcessesOf({ tag }, 0);
  }
}
