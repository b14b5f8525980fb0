import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { currentOs, type Os } from './platform';
import { processEntry, readProcessTable } from './processTable';

/**
 * Who a process is, beyond its pid: pids are reused, so a recorded pid alone could name any
 * process by the time it is read back. The identity is the process's start time, which no other
 * process shares with that pid:
 * - Linux: `<boot id>:<clock ticks since boot>` (`/proc/<pid>/stat`, field 22);
 * - macOS: `darwin:<seconds since 1970>` (`ps -o lstart`);
 * - Windows: `win32:<milliseconds since 1601>` (the process table's creation date).
 * The part after the last `:` is the start in the unit of `processTable` on the same OS.
 */
export function processIdentity(pid: number, os: Os = currentOs()): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid && os === currentOs()) return (ownIdentity ??= { value: identityOf(pid, os) }).value;
  return identityOf(pid, os);
}

let ownIdentity: { readonly value: string | undefined } | undefined;

/**
 * `processIdentity`, without blocking where reading the table starts a program: on Windows that
 * is a PowerShell query of most of a second, which would otherwise hold up the editor at every
 * step start.
 */
export async function processIdentityOfChild(pid: number, os: Os = currentOs()): Promise<string | undefined> {
  if (os !== 'win32') return processIdentity(pid, os);
  const entry = (await readProcessTable(os)).find((e) => e.pid === pid);
  return entry ? `${os}:${entry.start}` : undefined;
}

function identityOf(pid: number, os: Os): string | undefined {
  const entry = processEntry(pid, os);
  if (!entry) return undefined;
  return `${os === 'linux' ? bootId() : os}:${entry.start}`;
}

let boot: string | undefined;
function bootId(): string {
  boot ??= (() => {
    try {
      return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      return 'unknown-boot';
    }
  })();
  return boot;
}

/**
 * Whether an identity's start time can be compared with this machine's processes now: on Linux
 * only within the boot it was taken in (ticks restart at each boot); elsewhere start times are
 * dates, comparable across boots.
 */
export function identityComparable(identity: string | null | undefined, os: Os = currentOs()): boolean {
  if (!identity) return false;
  const prefix = identity.slice(0, identity.lastIndexOf(':'));
  return os === 'linux' ? prefix === bootId() : prefix === os;
}

/** Whether a process with this pid exists (a zombie counts: it is gone in all but name). */
export function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return currentOs() !== 'linux' || processEntry(pid, 'linux')?.zombie !== true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process as recorded by the engine: enough to tell later whether it is still that process. */
export interface ProcessRecord {
  readonly pid: number;
  readonly host: string;
  /** `processIdentity` at the time of recording; null where it could not be read. */
  readonly identity: string | null;
}

/** The record of a process of this machine, taken now. */
export function recordProcess(pid: number): ProcessRecord {
  return { pid, host: hostname(), identity: processIdentity(pid) ?? null };
}

/**
 * Whether the recorded process still runs: `true` or `false` on this machine (pid and start time
 * agree, or not), `undefined` when it cannot be told (another machine).
 */
export function recordedProcessAlive(record: ProcessRecord): boolean | undefined {
  if (record.host !== hostname()) return undefined;
  if (!pidExists(record.pid)) return false;
  if (record.identity === null) return true;
  return processIdentity(record.pid) === record.identity;
}
