import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import * as z from 'zod/mini';
import { writeFileAtomic } from '../state/atomicWrite';
import { TappsError } from '../util/errors';
import { Lock } from '../util/lock';
import { recordedProcessAlive, recordProcess } from './processIdentity';

/**
 * Ports for the dev servers of parallel steps: each running step leases a block of free ports
 * (its first in `TAPPS_PORT`, and in `CONDUCTOR_PORT` for Conductor's scripts), distinct across
 * the steps and runs of this user on the machine, released when the step ends. Leases are files
 * in a folder of the user's own, each naming the engine process that holds it: a lease whose
 * process died is taken back by the next one who looks. A block is also checked free by binding
 * each of its ports, so that a server started outside Tapps Flow is not handed out.
 */

/** Where blocks are taken from: below the ephemeral ports of Linux (32768), macOS and Windows (49152). */
export const PORT_RANGE = { first: 20_000, end: 30_000 } as const;
export const DEFAULT_PORTS_PER_STEP = 10;
export const MAX_PORTS_PER_STEP = 100;

const LeaseSchema = z.object({
  pid: z.int().check(z.positive()),
  host: z.string(),
  identity: z.nullable(z.string()),
  runId: z.string(),
  stepId: z.string(),
  first: z.int(),
  size: z.int().check(z.positive()),
});
type Lease = z.infer<typeof LeaseSchema>;

/** A block of ports held by a step until `release`. */
export interface PortLease {
  readonly first: number;
  readonly size: number;
  release(): Promise<void>;
}

/** The folder of this user's leases: private, never followed through a link another user planted. */
export async function leaseFolder(base = process.env.XDG_RUNTIME_DIR || os.tmpdir()): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const dir = path.join(base, `tapps-flow-${uid}`, 'ports');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const folder of [path.dirname(dir), dir]) {
    const stat = await lstat(folder);
    if (!stat.isDirectory() || (process.getuid && stat.uid !== uid) || (stat.mode & 0o022) !== 0)
      throw new TappsError(
        'port-registry-unsafe',
        `The folder of port leases ${folder} is not a private folder of yours (a link, another user's, or writable by others). Remove it and try again.`,
      );
  }
  return dir;
}

/** Steps of this process lease one after another here, rather than poll the folder's lock. */
const leasing = new PQueue({ concurrency: 1 });

/** Leases a block of `size` free ports for a step; waits up to 10 s for another engine leasing at the same moment. */
export async function leasePorts(runId: string, stepId: string, size: number, folder?: string): Promise<PortLease> {
  return leasing.add(() => leaseOnce(runId, stepId, size, folder));
}

async function leaseOnce(runId: string, stepId: string, size: number, folder?: string): Promise<PortLease> {
  const dir = folder ?? (await leaseFolder());
  const lock = await Lock.acquire(path.join(dir, 'registry'), 'leasing ports', { waitMs: 10_000 });
  try {
    const held = await liveLeases(dir);
    for (let first = PORT_RANGE.first; first + size <= PORT_RANGE.end; first += size) {
      if (held.some((l) => first < l.first + l.size && l.first < first + size)) continue;
      if (!(await allFree(first, size))) continue;
      const lease: Lease = { ...recordProcess(process.pid), runId, stepId, first, size };
      const file = path.join(dir, `${first}.json`);
      await writeFileAtomic(file, `${JSON.stringify(lease)}\n`, { durable: false });
      return { first, size, release: () => release(file, lease) };
    }
  } finally {
    await lock.release();
  }
  throw new TappsError(
    'no-free-ports',
    `No block of ${size} free ports is left between ${PORT_RANGE.first} and ${PORT_RANGE.end - 1} for step ${stepId}: steps of other runs hold them, or other programs listen on them. Lower ports_per_step, or end other runs.`,
  );
}

/** The leases whose engine still runs; the others' files are removed. */
async function liveLeases(dir: string): Promise<Lease[]> {
  const live: Lease[] = [];
  for (const name of await readdir(dir)) {
    if (!/^\d+\.json$/.test(name)) continue;
    const file = path.join(dir, name);
    const lease = await readLease(file);
    if (lease && recordedProcessAlive(lease) !== false) live.push(lease);
    else await rm(file, { force: true });
  }
  return live;
}

async function readLease(file: string): Promise<Lease | undefined> {
  try {
    const parsed = LeaseSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the lease file if it is still this one (a lease taken back and given to another is theirs). */
async function release(file: string, lease: Lease): Promise<void> {
  const current = await readLease(file);
  if (
    current &&
    current.pid === lease.pid &&
    current.runId === lease.runId &&
    current.stepId === lease.stepId &&
    current.first === lease.first
  )
    await rm(file, { force: true });
}

/** Whether every port of the block can be bound on the loopback address now. */
async function allFree(first: number, size: number): Promise<boolean> {
  for (let port = first; port < first + size; port++) if (!(await bindable(port))) return false;
  return true;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
