import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { Lock } from '../../src/core/util/lock';
import { fmtMs, type Row } from '../lib/table';
import { log, median, now, round } from '../lib/util';

export const LOCKS_SECTION = 'locks';

const CYCLES = 200;

export interface LockStudy {
  /** One acquire and release of a free lock (the owner record written and removed). */
  readonly cycleMs: number;
  /** The same cycle as a bare atomic mkdir and rmdir: the least any cross-process lock costs. */
  readonly rawCycleMs: number;
  /** Lock cycles of one run of 8 steps: the run's own, and 16 worktree registrations (add and drop). */
  readonly perRunMs: number;
}

/**
 * The cost of the cross-process locks: the run's writer lock (once per run) and the worktree
 * registration lock (twice per step: its add and the drop of its entry). Measured as cycles of a
 * free lock against a bare mkdir/rmdir, alternating, so that both see the same disk.
 */
export async function lockStudy(workDir: string): Promise<{ rows: Row[]; study: LockStudy }> {
  const dir = await mkdtemp(path.join(workDir, 'locks-'));
  const ours: number[] = [];
  const raw: number[] = [];
  try {
    for (let i = 0; i < CYCLES; i++) {
      let t = now();
      const lock = await Lock.acquire(path.join(dir, 'run-bench'), 'bench');
      await lock.release();
      ours.push(now() - t);
      t = now();
      await mkdir(path.join(dir, 'raw.lock'));
      await rmdir(path.join(dir, 'raw.lock'));
      raw.push(now() - t);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const cycleMs = median(ours);
  const rawCycleMs = median(raw);
  const perRunMs = cycleMs * 17;
  log(`locks: ${fmtMs(cycleMs)} per acquire and release, ${fmtMs(rawCycleMs)} for a bare mkdir/rmdir`);
  const study = { cycleMs: round(cycleMs, 3), rawCycleMs: round(rawCycleMs, 3), perRunMs: round(perRunMs, 2) };
  const rows: Row[] = [
    {
      section: LOCKS_SECTION,
      measurement: `acquire + release of a free lock (median of ${CYCLES})`,
      value: fmtMs(cycleMs),
      baseline: `bare mkdir + rmdir ${fmtMs(rawCycleMs)}`,
      ratio: cycleMs / rawCycleMs,
      note: 'the owner record (pid, start time) is written and removed with it',
    },
    {
      section: LOCKS_SECTION,
      measurement: 'lock cycles of a run of 8 steps (1 run lock + 8 worktree adds + 8 entry drops)',
      value: fmtMs(perRunMs),
      note: 'against a run of seconds: see "8 steps × sleep 2 s"',
    },
  ];
  return { rows, study };
}
