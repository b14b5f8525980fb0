import { readdirSync, readFileSync } from 'node:fs';
import { processState } from '../../../src/core/process/processIdentity';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `condition` until it holds (returns a value other than false/undefined) or the deadline
 * passes, then fails naming `what`. Polling a real condition, not sleeping a guessed time, is what
 * keeps these tests both fast and free of timing flakes.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | false | undefined | Promise<T | false | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Whether a process has exited. A zombie counts as exited: it runs nothing and only waits for its
 * parent to collect its status. Orphans are re-parented to PID 1, and where PID 1 never reaps
 * (some containers and micro-VM inits), a killed orphan stays a zombie for good.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw error;
  }
  return processState(pid) === 'Z';
}

/** The processes (pid list) of process group `pgid` that are still running (zombies excluded). */
export function liveGroupMembers(pgid: number): number[] {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return [];
    throw error;
  }
  const live: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [pgid]; // no /proc: the group answered the signal, so count it as alive
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return live;
}
