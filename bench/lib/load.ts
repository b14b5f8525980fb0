import { readFileSync } from 'node:fs';

/**
 * How busy the rest of the machine was while a section ran: the CPU time every process used
 * (/proc/stat) minus what this process and its reaped children (git, sh) used (/proc/self/stat),
 * as a share of all CPUs. Linux only; elsewhere it reports nothing.
 */
export interface LoadSample {
  readonly busy: number;
  readonly total: number;
  readonly self: number;
}

export function sampleLoad(): LoadSample | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu;
    const busy = user + nice + system + irq + softirq + (steal ?? 0);
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, so utime..cstime (14..17) are at 11..14 here.
    const self = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return { busy, total: busy + idle + iowait, self };
  } catch {
    return undefined;
  }
}

/** The share (0..1) of all CPUs that other processes used between two samples. */
export function othersShare(from: LoadSample | undefined, to: LoadSample | undefined): number | undefined {
  if (!from || !to || to.total <= from.total) return undefined;
  const others = to.busy - from.busy - (to.self - from.self);
  return Math.max(0, others / (to.total - from.total));
}
