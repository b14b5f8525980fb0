import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile, lstat } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod/mini';
import type { PoolDisk } from '../git/worktreePool';
import { pidExists } from '../process/processIdentity';
import { writeFileAtomic } from '../state/atomicWrite';
import { diskBytes, fingerprint, FolderPrintsSchema } from '../util/folders';
import { Lock, LockBusyError } from '../util/lock';
import { bringFolder, type Strategy } from './dependencies';
import { removeRetrying, renameRetrying } from '../util/paths';

/** One kept folder of a key. */
export interface KeptFolder {
  /** Relative to the worktree root, `/`-separated. */
  readonly path: string;
  /** Its digest in the store (without change times: hard links change them). */
  readonly fingerprint: string;
}

/** What the store keeps for a key. */
export interface KeptDependencies {
  readonly key: string;
  readonly folders: readonly KeptFolder[];
  /** The setup's only effect was these folders: a worktree that gets them all needs no commands. */
  readonly onlyDependencies: boolean;
  /** Disk the folders take in the store (bytes of their blocks; hard links count once). */
  readonly bytes: number;
}

const MANIFEST = 'manifest.json';
const ManifestSchema = z.object({
  key: z.string(),
  folders: FolderPrintsSchema,
  onlyDependencies: z.boolean(),
  bytes: z.number().check(z.gte(0)),
});
const KEY = /^[0-9a-f]{32}$/;

/**
 * The store of kept dependency folders of one worktree root: `<root>/.deps/<key>/` with the folders
 * under `tree/` and `manifest.json`, published by a rename so that a half-written entry is never
 * read. The root is under the repository's git folder (or a folder the user chose), where a cloned
 * repository cannot plant anything; an entry is still checked against its manifest before use.
 */
export class DependencyStore {
  readonly dir: string;
  private static readonly building = new Map<string, Promise<unknown>>();

  constructor(root: string) {
    this.dir = path.join(root, '.deps');
  }

  /** The folder a kept folder is in. */
  source(key: string, rel: string): string {
    return path.join(this.dir, key, 'tree', ...rel.split('/'));
  }

  /** What is kept for `key`, checked against its manifest; a changed entry is dropped. */
  async lookup(key: string): Promise<KeptDependencies | undefined> {
    const kept = await this.read(key);
    if (!kept) return undefined;
    for (const folder of kept.folders)
      if ((await fingerprint(this.source(key, folder.path), { ctime: false })) !== folder.fingerprint) {
        await this.drop(key);
        return undefined;
      }
    return kept;
  }

  /** Whether the folders kept for `key` are still as published (after a step that shared them by link). */
  async intact(key: string): Promise<boolean> {
    return (await this.lookup(key)) !== undefined;
  }

  /**
   * Keeps the named folders of a worktree for `key` (copied, or hard-linked with `hardlink`), unless
   * an entry is there already. Published by a rename.
   */
  async publish(key: string, worktree: string, folders: readonly string[], onlyDependencies: boolean, strategy: Strategy): Promise<void> {
    if (await this.read(key)) return;
    const building = path.join(this.dir, `.building.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(building, { recursive: true });
      const kept: KeptFolder[] = [];
      let bytes = 0;
      for (const rel of folders) {
        const to = path.join(building, 'tree', ...rel.split('/'));
        await bringFolder(
          path.join(worktree, ...rel.split('/')),
          to,
          strategy === 'hardlink' ? 'hardlink' : strategy === 'reflink' ? 'reflink' : 'copy',
        );
        const digest = await fingerprint(to, { ctime: false });
        if (!digest) throw new Error(`${rel} could not be read back`);
        kept.push({ path: rel, fingerprint: digest });
        bytes += strategy === 'hardlink' ? 0 : await diskBytes(to);
      }
      const manifest: KeptDependencies = { key, folders: kept, onlyDependencies, bytes };
      await writeFile(path.join(building, MANIFEST), `${JSON.stringify(manifest)}\n`);
      await renameRetrying(building, path.join(this.dir, key)).catch(() => undefined); // another publisher won
    } finally {
      await removeRetrying(building, { recursive: true, force: true });
    }
  }

  /** Drops what is kept for `key` (moved aside first, so a reader never sees half of it). */
  async drop(key: string): Promise<void> {
    const aside = path.join(this.dir, `.dropped.${process.pid}.${randomBytes(4).toString('hex')}`);
    if (
      await renameRetrying(path.join(this.dir, key), aside).then(
        () => true,
        () => false,
      )
    )
      await removeRetrying(aside, { recursive: true, force: true });
  }

  /** The kept entries, least recently used first. */
  async list(): Promise<{ readonly key: string; readonly bytes: number; readonly usedAt: number }[]> {
    const found = [];
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!KEY.test(name)) continue;
      const kept = await this.read(name);
      const stat = await lstat(path.join(this.dir, name, MANIFEST)).catch(() => undefined);
      if (kept && stat) found.push({ key: name, bytes: kept.bytes, usedAt: stat.mtimeMs });
    }
    return found.sort((a, b) => a.usedAt - b.usedAt);
  }

  /** Marks an entry used (its manifest's time), for `trim`. */
  async touch(key: string): Promise<void> {
    const file = path.join(this.dir, key, MANIFEST);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) await writeFileAtomic(file, text).catch(() => undefined);
  }

  /** Drops entries, least recently used first, until at most `keepBytes` are kept; and what crashed publishes left. Returns how many were dropped. */
  async trim(keepBytes = 0): Promise<number> {
    let dropped = 0;
    const entries = await this.list();
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    for (const entry of entries) {
      if (total <= keepBytes) break;
      await this.drop(entry.key);
      total -= entry.bytes;
      dropped++;
    }
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const pid = /^\.(?:building|dropped)\.(\d+)\./.exec(name)?.[1];
      if (pid !== undefined && !pidExists(Number(pid))) await removeRetrying(path.join(this.dir, name), { recursive: true, force: true });
    }
    return dropped;
  }

  /**
   * Runs `fn` as the only one working on `key`, in this process and across processes: the first
   * step to need a key installs it while the others wait, then bring what it kept. Waiting ends
   * when `signal` is aborted.
   */
  async exclusive<T>(key: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const id = path.join(this.dir, key);
    const before = DependencyStore.building.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = before.then(() => mine);
    DependencyStore.building.set(id, chained);
    try {
      await untilAborted(before, signal);
      await mkdir(this.dir, { recursive: true });
      let lock: Lock | undefined;
      while (!lock) {
        signal?.throwIfAborted();
        lock = await Lock.acquire(id, 'installing shared dependencies', { waitMs: 1000 }).catch((error: unknown) => {
          if (error instanceof LockBusyError) return undefined;
          throw error;
        });
      }
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    } finally {
      release();
      if (DependencyStore.building.get(id) === chained) DependencyStore.building.delete(id);
    }
  }

  private async read(key: string): Promise<KeptDependencies | undefined> {
    if (!KEY.test(key)) return undefined;
    const text = await readFile(path.join(this.dir, key, MANIFEST), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const parsed = ManifestSchema.safeParse(JSON.parse(text));
      return parsed.success && parsed.data.key === key ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}

async function untilAborted(wait: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) {
    await wait;
    return;
  }
  signal.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    void wait.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
    );
  });
}

/** The warm pool's disk cap (MiB; 0 is none), counting the shared dependencies of the same worktree root. */
export function poolDisk(worktreeRoot: string, maxMb: number): PoolDisk {
  const store = new DependencyStore(worktreeRoot);
  return {
    maxBytes: maxMb * 1024 * 1024,
    others: {
      bytes: async () => (await store.list()).reduce((sum, e) => sum + e.bytes, 0),
      trim: (keepBytes) => store.trim(Math.max(0, keepBytes)),
    },
  };
}
