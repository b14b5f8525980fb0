import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from './atomicWrite';

/** The process that owns a run, with its last sign of life. */
export interface OwnerRecord {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
}

/** A heartbeat older than this means the owner is gone, whatever its pid says (pids are reused). */
export const HEARTBEAT_STALE_MS = 30_000;
/** How often the owner writes its heartbeat and looks for requests. */
export const HEARTBEAT_INTERVAL_MS = 500;

export async function writeHeartbeat(dir: string, owner: Omit<OwnerRecord, 'heartbeatAt'>, now: Date): Promise<void> {
  await writeFileAtomic(path.join(dir, 'owner.json'), `${JSON.stringify({ ...owner, heartbeatAt: now.toISOString() })}\n`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process that owns the run in `dir` still lives. */
export async function ownerAlive(dir: string, fallback: { pid: number; host: string }, now: Date): Promise<boolean> {
  let owner: Partial<OwnerRecord> = fallback;
  try {
    owner = JSON.parse(await readFile(path.join(dir, 'owner.json'), 'utf8')) as OwnerRecord;
  } catch {
    // No heartbeat yet: judge by the pid recorded at run start.
  }
  const fresh = owner.heartbeatAt !== undefined && now.getTime() - Date.parse(owner.heartbeatAt) < HEARTBEAT_STALE_MS;
  if (owner.host === hostname()) return owner.pid !== undefined && pidAlive(owner.pid) && (fresh || owner.heartbeatAt === undefined);
  return fresh;
}

/** A request to the owning process from another one (the editor cancelling a CLI run, say). */
export interface ControlRequest {
  readonly type: 'cancel';
  /** The step to cancel; the whole run when absent. */
  readonly step?: string;
}

let requestCounter = 0;

export async function sendRequest(dir: string, request: ControlRequest): Promise<void> {
  const folder = path.join(dir, 'requests');
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, `${Date.now()}-${process.pid}-${++requestCounter}.json`), JSON.stringify(request));
}

/** Reads and removes the pending requests, oldest first. */
export async function takeRequests(dir: string): Promise<ControlRequest[]> {
  const folder = path.join(dir, 'requests');
  const names = await readdir(folder).catch(() => [] as string[]);
  const requests: ControlRequest[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(folder, name);
    try {
      requests.push(JSON.parse(await readFile(file, 'utf8')) as ControlRequest);
    } catch {
      // A request being written right now: take it next time.
      continue;
    }
    await rm(file, { force: true });
  }
  return requests;
}
