import { currentOs } from '../../../src/core/process/platform';
import { processEntry, processTable } from '../../../src/core/process/processTable';
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
  // Windows has no zombies: a process that answers is running.
  const os = currentOs();
  return os !== 'win32' && processEntry(pid, os)?.zombie === true;
}

/**
 * The processes (pid list) of process group `pgid` that are still running (zombies excluded).
 * POSIX only: Windows has no process groups, so asking there is a mistake of the test.
 */
export function liveGroupMembers(pgid: number): number[] {
  const os = currentOs();
  if (os === 'win32') throw new Error('liveGroupMembers: Windows has no process groups');
  return processTable(os)
    .filter((e) => e.pgid === pgid && !e.zombie)
    .map((e) => e.pid);
}
