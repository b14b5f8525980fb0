import crossSpawn from 'cross-spawn';
import { readdirSync, readFileSync } from 'node:fs';
import type { Os } from './platform';

/**
 * The machine's processes, per OS: `/proc` on Linux, `ps` on macOS, the CIM process table on
 * Windows. Start times are in each OS's own unit (Linux: clock ticks since boot; macOS: seconds
 * since 1970; Windows: milliseconds since 1601) and are only ever compared with one another and
 * with `processIdentity`, which uses the same unit on the same OS.
 */
export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  /** The process group (POSIX); null on Windows, which has none a stop can use. */
  readonly pgid: number | null;
  readonly start: number;
  readonly zombie: boolean;
}

/** Every process of the machine that can be seen, this one included; empty when the table cannot be read. */
export function processTable(os: Os): ProcessEntry[] {
  if (os === 'linux') return linuxTable();
  if (os === 'darwin') return parsePsTable(runSync('ps', PS_TABLE));
  return parseWindowsTable(runSync('powershell.exe', WINDOWS_ARGS));
}

/**
 * `processTable` without blocking where reading it starts a program (`ps`, PowerShell: most of a
 * second on Windows), for the loops that stop a step's processes.
 */
export async function readProcessTable(os: Os): Promise<ProcessEntry[]> {
  if (os === 'linux') return linuxTable();
  if (os === 'darwin') return parsePsTable(await run('ps', PS_TABLE));
  return parseWindowsTable(await run('powershell.exe', WINDOWS_ARGS));
}

/** One process's entry, or undefined when it is gone (or cannot be seen). */
export function processEntry(pid: number, os: Os): ProcessEntry | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (os === 'linux') return linuxEntry(pid);
  if (os === 'darwin') return parsePsTable(runSync('ps', ['-p', String(pid), '-o', 'pid=,ppid=,pgid=,stat=,lstart=']))[0];
  return processTable(os).find((e) => e.pid === pid);
}

function linuxTable(): ProcessEntry[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const entries: ProcessEntry[] = [];
  for (const name of names) {
    const entry = /^\d+$/.test(name) ? linuxEntry(Number(name)) : undefined;
    if (entry) entries.push(entry);
  }
  return entries;
}

/** From `/proc/<pid>/stat`: the command name (field 2) may hold spaces and ')', so fields are counted after the last ')'. */
function linuxEntry(pid: number): ProcessEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(f[1]), pgid: Number(f[2]), start: Number(f[19]), zombie: f[0] === 'Z' };
  } catch {
    return undefined;
  }
}

/**
 * Parses `ps -o pid=,ppid=,pgid=,stat=,lstart=` (BSD and procps print the same columns): the
 * start (`Wed Dec  2 11:18:38 2026`, with `LC_ALL=C`) becomes seconds since 1970.
 */
export function parsePsTable(text: string): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S.*\S)\s*$/.exec(line);
    if (!m) continue;
    const ms = Date.parse(m[5]);
    if (Number.isNaN(ms)) continue;
    entries.push({ pid: Number(m[1]), ppid: Number(m[2]), pgid: Number(m[3]), start: Math.floor(ms / 1000), zombie: m[4].startsWith('Z') });
  }
  return entries;
}

/**
 * Prints `pid ppid start` per process, the start in milliseconds since 1601 (a FILETIME divided
 * by 10,000, which fits a double exactly). The system's own processes have no creation date: 0.
 */
const WINDOWS_SCRIPT =
  "Get-CimInstance Win32_Process | ForEach-Object { '{0} {1} {2}' -f $_.ProcessId, $_.ParentProcessId, $(if ($_.CreationDate) { [math]::Floor($_.CreationDate.ToFileTimeUtc() / 10000) } else { 0 }) }";
const WINDOWS_ARGS = [
  '-NoLogo',
  '-NoProfile',
  '-NonInteractive',
  '-EncodedCommand',
  Buffer.from(WINDOWS_SCRIPT, 'utf16le').toString('base64'),
];
const PS_TABLE = ['-A', '-o', 'pid=,ppid=,pgid=,stat=,lstart='];

/** Parses the Windows table's lines (`pid ppid start`); CRLF line ends included. */
export function parseWindowsTable(text: string): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m) entries.push({ pid: Number(m[1]), ppid: Number(m[2]), pgid: null, start: Number(m[3]), zombie: false });
  }
  return entries;
}

/** The environment variables of another process, by pid; undefined where it cannot be read. */
export type EnvironmentReader = (pid: number) => ReadonlyMap<string, string> | undefined;

/**
 * Reads processes' environments: `/proc/<pid>/environ` on Linux; one `ps -E` listing on macOS
 * (taken at the first question, so make a new reader for a new look), where only variables
 * whose values hold no spaces can be told apart, which is all the tag's are; nothing on
 * Windows, which offers no way to read another process's environment.
 */
export function environmentReader(os: Os): EnvironmentReader {
  if (os === 'linux') return linuxEnvironment;
  if (os === 'win32') return () => undefined;
  let listing: Map<number, Map<string, string>> | undefined;
  return (pid) => {
    listing ??= parsePsEnvironments(runSync('ps', ['-A', '-E', '-ww', '-o', 'pid=,command=']));
    return listing.get(pid);
  };
}

function linuxEnvironment(pid: number): Map<string, string> | undefined {
  try {
    const env = new Map<string, string>();
    for (const entry of readFileSync(`/proc/${pid}/environ`).toString('utf8').split('\0')) {
      const at = entry.indexOf('=');
      if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1));
    }
    return env;
  } catch {
    return undefined;
  }
}

/** Parses `ps -E -o pid=,command=`: the command line, then the environment, space-separated. */
export function parsePsEnvironments(text: string): Map<number, Map<string, string>> {
  const all = new Map<number, Map<string, string>>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const env = new Map<string, string>();
    for (const word of m[2].split(' ')) {
      const v = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(word);
      if (v) env.set(v[1], v[2]);
    }
    all.set(Number(m[1]), env);
  }
  return all;
}

const SYSTEM_COMMAND = { env: { ...process.env, LC_ALL: 'C' }, windowsHide: true, timeout: 15_000, maxBuffer: 64 * 1024 * 1024 };

/** `runSync`, without blocking. */
function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = crossSpawn(command, args, { ...SYSTEM_COMMAND, stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.once('error', () => resolve(''));
    child.once('close', (code) => resolve(code === 0 ? Buffer.concat(out).toString('utf8') : ''));
  });
}

/** A system command's output, or '' when it cannot run: a table that cannot be read is empty. */
function runSync(command: string, args: readonly string[]): string {
  const result = crossSpawn.sync(command, args, { ...SYSTEM_COMMAND, encoding: 'utf8' });
  return result.status === 0 && typeof result.stdout === 'string' ? result.stdout : '';
}
