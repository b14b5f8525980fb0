import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who a process is, beyond its pid: pids are reused, so a recorded pid alone could name any
 * process by the time it is read back. On Linux the identity is the boot and the process's start
 * time (`/proc/<pid>/stat`, field 22, in clock ticks since boot), which no other process of that
 * boot shares. Elsewhere it is `undefined` and only the pid can be checked.
 */
export function processIdentity(pid: number): string | undefined {
  if (process.platform !== 'linux' || !Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${bootId()}:${fields[19]}`;
  } catch {
    return undefined;
  }
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

/** Whether a process with this pid exists (a zombie counts: it is gone in all but name). */
export function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return processState(pid) !== 'Z';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The state letter of /proc/<pid>/stat (Linux), or undefined where it cannot be read. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** A process as recorded by the engine: enough to tell later whether it is still that process. */
export interface ProcessRecord {
  readonly pid: number;
  readonly host: string;
  /** `processIdentity` at the time of recording; null where the platform has none. */
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

/**
 * The value of one environment variable of another process of this user (Linux,
 * `/proc/<pid>/environ`); undefined when it cannot be read.
 */
export function processEnvironmentValue(pid: number, name: string): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const environ = readFileSync(`/proc/${pid}/environ`);
    const prefix = `${name}=`;
    for (const entry of environ.toString('utf8').split('\0')) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
    return undefined;
  } catch {
    return undefined;
  }
}
