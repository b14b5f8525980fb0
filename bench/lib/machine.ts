import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly git: string;
  /** `df -h` of the temporary folder the bench works in. */
  readonly disk: string;
  /** Its file system's mount options and whether ext4 keeps a journal (Linux only). */
  readonly fileSystem: string;
}

/** The mount of `dir` from /proc/mounts (longest matching mount point) and its ext4 journal. */
function fileSystemOf(dir: string): string {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 4);
    const m = mounts
      .filter((f) => dir === f[1] || dir.startsWith(f[1].endsWith('/') ? f[1] : `${f[1]}/`))
      .sort((a, b) => b[1].length - a[1].length)[0];
    if (!m) return 'unknown';
    const dev = m[0].replace('/dev/', '');
    const journal = m[2] !== 'ext4' ? '' : existsSync(`/proc/fs/jbd2/${dev}-8`) ? ', journal' : ', no journal';
    return `${m[2]} on ${m[1]}${journal}; ${m[3]}`;
  } catch {
    return 'unknown';
  }
}

function quiet(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineInfo(workDir: string): MachineInfo {
  const df = quiet('df', ['-hT', workDir]).split('\n').slice(-1)[0]?.replace(/\s+/g, ' ') ?? 'unknown';
  return {
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    git: quiet('git', ['--version']),
    disk: df,
    fileSystem: fileSystemOf(workDir),
  };
}
