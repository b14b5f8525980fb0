import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as lockfile from 'proper-lockfile';
import * as z from 'zod/mini';
import { recordedProcessAlive, recordProcess } from '../process/processIdentity';
import { writeFileAtomic } from '../state/atomicWrite';
import { TappsError } from './errors';
import { comparablePath, removeRetrying, renameRetrying } from './paths';

/**
 * How long a lock whose holder cannot be checked (another machine) stays held without a
 * heartbeat. On this machine the holder's pid and start time decide at once.
 */
export const LOCK_STALE_MS = 30_000;
const HEARTBEAT_MS = 5_000;

const OwnerSchema = z.object({
  pid: z.int().check(z.positive()),
  host: z.string(),
  identity: z.nullable(z.string()),
  token: z.string(),
  purpose: z.string(),
  acquiredAt: z.string(),
  heartbeatAt: z.string(),
});

/** Who holds a lock, as its owner file says. */
export type LockOwner = z.infer<typeof OwnerSchema>;

/** A lock is held by a live process (not this caller): its owner, when known. */
export class LockBusyError extends TappsError {
  constructor(
    readonly owner: LockOwner | undefined,
    message: string,
  ) {
    super('lock-busy', message);
    this.name = 'LockBusyError';
  }
}

const ownerFile = (target: string) => `${target}.owner.json`;
const lockDir = (target: string) => `${target}.lock`;

async function readOwner(target: string): Promise<LockOwner | undefined> {
  const text = await readFile(ownerFile(target), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = OwnerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the recorded owner still holds the lock: its process lives (or, elsewhere, it beats). */
function ownerAlive(owner: LockOwner, now = Date.now()): boolean {
  const alive = recordedProcessAlive(owner);
  if (alive !== undefined) return alive;
  return now - Date.parse(owner.heartbeatAt) < LOCK_STALE_MS;
}

/** The state of a lock for a reader: held by a live owner, or free (never held, released, or its owner died). */
export async function inspectLock(target: string): Promise<{ held: boolean; owner?: LockOwner }> {
  const locked = await lockfile.check(target, { realpath: false, lockfilePath: lockDir(target), stale: LOCK_STALE_MS }).catch(() => false);
  const owner = await readOwner(target);
  if (owner && owner.pid === process.pid && heldHere.has(comparablePath(target))) return { held: true, owner };
  if (owner && (await dirExists(lockDir(target)))) return ownerAlive(owner) ? { held: true, owner } : { held: false, owner };
  // A lock without an owner file was just taken (the file follows) or its taker died before
  // writing one; its own freshness (kept up to date by its holder) tells.
  return { held: locked };
}

function dirExists(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** The locks this process holds, by `comparablePath`: one lock under two spellings of its path is one. */
const heldHere = new Set<string>();

/**
 * An exclusive lock across processes on one path, held by whoever writes what it guards.
 * proper-lockfile does the mutual exclusion (an atomic `mkdir`), keeps the lock fresh and reports
 * when it was taken away; an owner file beside it records the holder's pid and start time, so
 * that a lock whose process died (kill -9, a crash) is taken over at once on this machine rather
 * than after the stale time, and a live holder whose machine slept is never robbed.
 */
export class Lock {
  private compromisedBy: Error | undefined;
  private readonly lostListeners: Array<(error: TappsError) => void> = [];
  private released = false;
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    readonly target: string,
    private owner: LockOwner,
    private readonly unlock: () => Promise<void>,
  ) {
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /**
   * Takes the lock of `target` for `purpose` (a few words for the message another process sees).
   * Waits up to `waitMs` for a live holder to let go; throws `LockBusyError` after that.
   */
  static async acquire(
    target: string,
    purpose: string,
    options: { readonly waitMs?: number; readonly describe?: (owner: LockOwner | undefined) => string } = {},
  ): Promise<Lock> {
    await mkdir(path.dirname(target), { recursive: true });
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (let attempt = 0; ; attempt++) {
      // Only a free lock is tried: a live holder is never robbed, even when its lock looks old
      // (its machine slept), and a dead holder's lock is broken first.
      const state = await inspectLock(target);
      if (!state.held && state.owner && (await dirExists(lockDir(target)))) {
        if (await breakDeadLock(target, state.owner)) continue;
      } else if (!state.held) {
        const taken = await tryLock(target, purpose);
        if (taken) return taken;
      }
      if (Date.now() >= deadline) {
        const owner = (await inspectLock(target)).owner;
        throw new LockBusyError(owner, options.describe?.(owner) ?? `${purpose}: busy (held by ${describeOwner(owner)})`);
      }
      await sleep(Math.min(20 * 2 ** Math.min(attempt, 4), 200));
    }
  }

  /** The lock was taken away (its folder deleted or changed by someone else): stop writing. */
  get compromised(): Error | undefined {
    return this.compromisedBy;
  }

  /** Throws when the lock is no longer held, so that nothing is written without it. */
  assertHeld(): void {
    if (this.released) throw new Error(`the lock of ${this.target} was released`);
    if (this.compromisedBy) throw this.lostError();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.heartbeat);
    heldHere.delete(comparablePath(this.target));
    if (!this.compromisedBy) {
      await removeRetrying(ownerFile(this.target), { force: true });
      await this.unlock().catch(() => undefined);
    }
  }

  private async beat(): Promise<void> {
    if (this.released || this.compromisedBy) return;
    const current = await readOwner(this.target);
    if (current && current.token !== this.owner.token) {
      this.onCompromised(new Error(`it is now held by ${describeOwner(current)}`));
      return;
    }
    this.owner = { ...this.owner, heartbeatAt: new Date().toISOString() };
    await writeFileAtomic(ownerFile(this.target), JSON.stringify(this.owner), { durable: false }).catch(() => undefined);
  }

  /** Called by proper-lockfile when the lock folder vanished or was refreshed by someone else. */
  private onCompromised(error: Error): void {
    if (this.compromisedBy || this.released) return;
    this.compromisedBy = error;
    const lost = this.lostError();
    for (const listener of this.lostListeners) listener(lost);
  }

  /** Calls `listener` once if the lock is taken away while held (its folder deleted, another holder in it). */
  onLost(listener: (error: TappsError) => void): void {
    this.lostListeners.push(listener);
  }

  private lostError(): TappsError {
    return new TappsError(
      'lock-lost',
      `The lock of ${this.target} was taken away while held (${this.compromisedBy?.message ?? 'unknown'}); nothing more is written for what it guarded.`,
    );
  }

  /** @internal */
  static async create(
    target: string,
    purpose: string,
    unlock: () => Promise<void>,
    setCompromised: (fn: (e: Error) => void) => void,
  ): Promise<Lock> {
    const now = new Date().toISOString();
    const owner: LockOwner = { ...recordProcess(process.pid), token: randomUUID(), purpose, acquiredAt: now, heartbeatAt: now };
    const lock = new Lock(target, owner, unlock);
    setCompromised((e) => lock.onCompromised(e));
    heldHere.add(comparablePath(target));
    await writeFileAtomic(ownerFile(target), JSON.stringify(owner), { durable: false });
    return lock;
  }
}

async function tryLock(target: string, purpose: string): Promise<Lock | undefined> {
  let report: (e: Error) => void = () => undefined;
  try {
    const unlock = await lockfile.lock(target, {
      realpath: false,
      lockfilePath: lockDir(target),
      stale: LOCK_STALE_MS,
      update: HEARTBEAT_MS,
      retries: 0,
      onCompromised: (e) => report(e),
    });
    return await Lock.create(target, purpose, unlock, (fn) => (report = fn));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw error;
  }
}

/**
 * Removes the lock of a holder that is verifiably gone. Two processes may find the same dead
 * holder at once: the removal happens under a second lock, and only after checking again that the
 * lock still belongs to that holder, so that a lock just taken by a live process is never removed.
 */
async function breakDeadLock(target: string, dead: LockOwner): Promise<boolean> {
  const breaker = `${target}.break`;
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lockfile.lock(breaker, { realpath: false, lockfilePath: lockDir(breaker), stale: 5_000, retries: 0 });
  } catch {
    return false; // another process is breaking it; try again after a moment
  }
  try {
    const owner = await readOwner(target);
    if (!owner || owner.token !== dead.token || ownerAlive(owner)) return true;
    // Out of the way in one rename, so that no one sees a half-removed lock.
    const aside = `${lockDir(target)}.dead-${process.pid}-${randomUUID()}`;
    if (
      await renameRetrying(lockDir(target), aside).then(
        () => true,
        () => false,
      )
    ) {
      await rmdir(aside).catch(() => removeRetrying(aside, { recursive: true, force: true }));
    }
    await removeRetrying(ownerFile(target), { force: true });
    return true;
  } finally {
    await release().catch(() => undefined);
  }
}

/** "pid 123 on host, since 12:00:00 (running the workflow)". */
export function describeOwner(owner: LockOwner | undefined): string {
  if (!owner) return 'another process';
  return `pid ${owner.pid} on ${owner.host} (${owner.purpose}, since ${owner.acquiredAt})`;
}
