import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fsProbe } from '../lib/fsProbe';
import { othersShare, sampleLoad } from '../lib/load';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { git, log, median, now, pool, round } from '../lib/util';

export const ADD_CONCURRENCIES = [1, 2, 4, 8] as const;
export const REMOVE_CONCURRENCIES = [1, 2, 8] as const;
export type RemovalStrategy = 'rm+prune' | 'remove --force';
export const WORKTREES = 8;

let batchCounter = 0;

export interface AddBatch {
  readonly dirs: string[];
  readonly concurrency: number;
  /** `split`: `worktree add --no-checkout` one at a time, then `reset --hard` in each at `concurrency`. */
  readonly split: boolean;
  /** Adds that failed (git's message): concurrent adds race on git's worktree entries, the engine says. */
  readonly failures: string[];
  /** Wall time of the whole batch (ms). */
  readonly totalMs: number;
  /** When each worktree was ready, ms after the batch started, sorted. */
  readonly readyMs: number[];
  /** Share of the CPUs other processes used meanwhile. */
  readonly othersCpu?: number;
}

/**
 * 8 raw `git worktree add --detach` of HEAD, at most `concurrency` at once; the worktrees are kept.
 * With `split`, each is registered with `--no-checkout` one at a time (git's entries change one at
 * a time, as the engine's entry lock wants) and checked out with `reset --hard` at `concurrency`.
 * A failed add is recorded, not thrown: how often concurrent adds fail is part of the finding.
 */
export async function addBatch(repo: BenchRepo, root: string, concurrency: number, split = false): Promise<AddBatch> {
  const batch = ++batchCounter;
  const dirs = Array.from({ length: WORKTREES }, (_, i) => path.join(root, `b${batch}-w${i}`));
  const readyMs: number[] = [];
  const failures: string[] = [];
  const load = sampleLoad();
  const start = now();
  let registering = Promise.resolve();
  await pool(
    dirs.map((dir) => async () => {
      try {
        if (split) {
          const registered = registering.then(() =>
            git(repo.dir, ['worktree', 'add', '--no-checkout', '--detach', '--quiet', dir, repo.head]),
          );
          registering = registered.then(
            () => undefined,
            () => undefined,
          );
          await registered;
          await git(dir, ['reset', '--hard', '--quiet', 'HEAD']);
        } else {
          await git(repo.dir, ['worktree', 'add', '--detach', '--quiet', dir, repo.head]);
        }
        readyMs.push(now() - start);
      } catch (error) {
        failures.push(error instanceof Error ? error.message.split('\n')[0] : String(error));
      }
    }),
    concurrency,
  );
  const totalMs = now() - start;
  const share = othersShare(load, sampleLoad());
  return {
    dirs,
    concurrency,
    split,
    failures,
    totalMs,
    readyMs: readyMs.sort((a, b) => a - b),
    othersCpu: share === undefined ? undefined : round(share, 3),
  };
}

/**
 * Removes worktrees, at most `concurrency` at once. `rm+prune` is what the engine does
 * (src/core/git/worktrees.ts removeWorktree: `fs.rm` of the folder, then `git worktree prune`),
 * with git spawned directly; `remove --force` is git's own removal.
 */
export async function removeBatch(
  repo: BenchRepo,
  dirs: readonly string[],
  strategy: RemovalStrategy,
  concurrency: number,
): Promise<number> {
  const start = now();
  await pool(
    dirs.map((dir) => async () => {
      if (strategy === 'rm+prune') {
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
        await git(repo.dir, ['worktree', 'prune']);
      } else {
        await git(repo.dir, ['worktree', 'remove', '--force', dir]);
      }
    }),
    concurrency,
  );
  return now() - start;
}

const busy = (share: number | undefined) => (share === undefined ? '' : ` (others ${(share * 100).toFixed(0)}%)`);

export interface AddStudy {
  readonly rounds: number;
  /** Concurrent adds made and how many failed, over every batch. */
  readonly concurrentAdds: number;
  readonly failures: string[];
  readonly split?: { concurrency: number; totalMs: number[]; medianTotalMs: number };
  readonly adds: {
    concurrency: number;
    totalMs: number[];
    othersCpu: (number | undefined)[];
    medianTotalMs: number;
    minTotalMs: number;
    medianMeanReadyMs: number;
    medianFirstReadyMs: number;
  }[];
  /** Median ms of one add at concurrency 1. */
  readonly steadyAddMs: number;
  readonly recommendedAdd: number;
}

/** The smallest setting within `tolerance` of the best one: concurrency costs cores the steps need. */
function pickSmallest<T>(items: readonly T[], ms: (t: T) => number, tolerance = 0.05): T {
  const best = Math.min(...items.map(ms));
  return items.find((t) => ms(t) <= best * (1 + tolerance))!;
}

/** Section 4 (adds): medians of the batches at each concurrency, and the table rows. */
export function addRows(batches: readonly AddBatch[]): { study: AddStudy; rows: Row[] } {
  const adds = ADD_CONCURRENCIES.map((concurrency) => {
    const bs = batches.filter((b) => b.concurrency === concurrency && !b.split);
    return {
      concurrency,
      totalMs: bs.map((b) => round(b.totalMs, 1)),
      othersCpu: bs.map((b) => b.othersCpu),
      medianTotalMs: median(bs.map((b) => b.totalMs)),
      minTotalMs: Math.min(...bs.map((b) => b.totalMs)),
      medianMeanReadyMs: median(bs.map((b) => b.readyMs.reduce((a, x) => a + x, 0) / b.readyMs.length)),
      medianFirstReadyMs: median(bs.map((b) => b.readyMs[0])),
    };
  });
  const splitBatches = batches.filter((b) => b.split);
  const split =
    splitBatches.length === 0
      ? undefined
      : {
          concurrency: splitBatches[0].concurrency,
          totalMs: splitBatches.map((b) => round(b.totalMs, 1)),
          medianTotalMs: median(splitBatches.map((b) => b.totalMs)),
        };
  const concurrent = batches.filter((b) => b.concurrency > 1 && !b.split);
  const study: AddStudy = {
    rounds: adds[0].totalMs.length,
    adds,
    split,
    concurrentAdds: concurrent.length * WORKTREES,
    failures: batches.flatMap((b) => b.failures),
    steadyAddMs: adds[0].medianTotalMs / WORKTREES,
    recommendedAdd: pickSmallest(adds, (a) => a.minTotalMs, 0.1).concurrency,
  };
  const base = adds[0].medianTotalMs;
  const rows: Row[] = adds.map((a) => ({
    section: 'worktree adds ×8',
    measurement: `git worktree add ×8 at concurrency ${a.concurrency}`,
    value: fmtMs(a.medianTotalMs),
    baseline: `concurrency 1: ${fmtMs(base)}`,
    ratio: a.medianTotalMs / base,
    note: `best ${fmtMs(a.minTotalMs)} (${(a.minTotalMs / adds[0].minTotalMs).toFixed(2)}× the best at 1); first ready after ${fmtMs(a.medianFirstReadyMs)}, mean ready after ${fmtMs(a.medianMeanReadyMs)}; runs ${a.totalMs.map((t, i) => `${fmtMs(t)}${busy(a.othersCpu[i])}`).join(', ')}`,
  }));
  if (split) {
    rows.push({
      section: 'worktree adds ×8',
      measurement: `add --no-checkout one at a time + reset --hard at concurrency ${split.concurrency}`,
      value: fmtMs(split.medianTotalMs),
      baseline: `concurrency 1: ${fmtMs(base)}`,
      ratio: split.medianTotalMs / base,
      note: `entries registered one at a time, checkouts in parallel; runs ${split.totalMs.map((t) => fmtMs(t)).join(', ')}`,
    });
  }
  rows.push({
    section: 'worktree adds ×8',
    measurement: 'concurrent git worktree add that failed',
    value: `${study.failures.length} of ${study.concurrentAdds}`,
    note:
      study.failures.length > 0
        ? study.failures.slice(0, 3).join(' | ')
        : 'no add/add race seen (git 2.39, no prune or removal running meanwhile)',
  });
  return { study, rows };
}

export interface RemovalStudy {
  readonly removals: { strategy: RemovalStrategy; concurrency: number; totalMs: number[]; medianTotalMs: number }[];
  /** Two adds timed 2 s after the last removal (inodes deleted in the same second are not skipped yet). */
  readonly addAfterRemovalMs: number[];
  /** The baseline: one add at concurrency 1 in the interleaved rounds (no deletions before them). */
  readonly steadyAddMs: number;
  readonly medianAddAfterRemovalMs: number;
  /** µs per file creation before the first removal and after the last (see fsProbe). */
  readonly fsProbeUs: [number, number];
  readonly recommendedRemoval: { strategy: RemovalStrategy; concurrency: number };
}

/**
 * Removes batches of 8 worktrees with each strategy and concurrency, once each (twice if there are
 * 12 batches or more), the two strategies alternating within each concurrency; then, 2 s later,
 * times the disk's file creation and two more `git worktree add` (kept), to show what mass deletion
 * does to the checkouts after it. Runs last: its deletions slow every checkout after it.
 */
export async function removalStudy(
  repo: BenchRepo,
  root: string,
  batches: AddBatch[],
  steadyAddMs: number,
  probeRoot: string,
): Promise<{ study: RemovalStudy; rows: Row[] }> {
  const settings: { strategy: RemovalStrategy; concurrency: number }[] = REMOVE_CONCURRENCIES.flatMap((concurrency, i) => {
    const pair = [
      { strategy: 'rm+prune' as const, concurrency },
      { strategy: 'remove --force' as const, concurrency },
    ];
    return i % 2 === 0 ? pair : pair.reverse();
  });
  const times = new Map<string, number[]>(settings.map((s) => [`${s.strategy}@${s.concurrency}`, []]));
  const reps = Math.max(1, Math.min(2, Math.floor(batches.length / settings.length)));
  const after: number[] = [];
  const probeBefore = fsProbe(probeRoot);
  let k = 0;
  for (let r = 0; r < reps; r++) {
    for (const s of settings) {
      const batch = batches[k++];
      if (!batch) break;
      const ms = await removeBatch(repo, batch.dirs, s.strategy, s.concurrency);
      times.get(`${s.strategy}@${s.concurrency}`)!.push(ms);
      log(`worktrees: ${s.strategy} ×8 @${s.concurrency} ${fmtMs(ms)}`);
    }
  }
  await sleep(2000);
  const probeAfter = fsProbe(probeRoot);
  for (let i = 0; i < 2; i++) {
    const t = now();
    await git(repo.dir, ['worktree', 'add', '--detach', '--quiet', path.join(root, `after-removals-${i}`), repo.head]);
    after.push(now() - t);
  }
  log(
    `worktrees: adds after the removals ${after.map((x) => fmtMs(x)).join(', ')}; disk ${probeBefore} → ${probeAfter} µs per file creation`,
  );
  const removals = settings.map((s) => {
    const ts = times.get(`${s.strategy}@${s.concurrency}`)!;
    return { ...s, totalMs: ts.map((t) => round(t, 1)), medianTotalMs: median(ts) };
  });
  const best = pickSmallest(
    [...removals].sort((a, b) => a.concurrency - b.concurrency),
    (x) => x.medianTotalMs,
  );
  const medianAfter = median(after);
  const study: RemovalStudy = {
    removals,
    addAfterRemovalMs: after.map((x) => round(x, 1)),
    steadyAddMs,
    medianAddAfterRemovalMs: medianAfter,
    fsProbeUs: [probeBefore, probeAfter],
    recommendedRemoval: { strategy: best.strategy, concurrency: best.concurrency },
  };
  const rmBase = removals[0].medianTotalMs;
  const rows: Row[] = removals.map((x) => ({
    section: 'worktree removals ×8',
    measurement: `${x.strategy} ×8 at concurrency ${x.concurrency}`,
    value: fmtMs(x.medianTotalMs),
    baseline: `rm+prune @1: ${fmtMs(rmBase)}`,
    ratio: x.medianTotalMs / rmBase,
    note: `runs ${x.totalMs.map((t) => fmtMs(t)).join(', ')}`,
  }));
  rows.push(
    {
      section: 'worktree removals ×8',
      measurement: 'git worktree add 2 s after the removals',
      value: fmtMs(medianAfter),
      baseline: `add in the rounds ${fmtMs(steadyAddMs)}`,
      ratio: medianAfter / steadyAddMs,
      note: `each: ${study.addAfterRemovalMs.map((x) => fmtMs(x)).join(', ')}`,
    },
    {
      section: 'worktree removals ×8',
      measurement: 'disk: µs per file creation before / after the removals',
      value: `${probeBefore.toFixed(0)} / ${probeAfter.toFixed(0)}`,
      ratio: probeAfter / probeBefore,
      note: 'journal-less ext4: inode allocation skips inodes deleted in the last 60 s (360 s while their table block is dirty)',
    },
  );
  return { study, rows };
}

/**
 * Recycling instead of re-creating: points 8 existing worktrees at other commits with
 * `checkout --detach --force` and `clean -ffdx`, one after another (only the files that differ
 * are rewritten), against 8 fresh `git worktree add` one after another.
 */
export async function recycleStudy(
  dirs: readonly string[],
  commits: readonly string[],
  addMs: number,
): Promise<{ ms: number; rows: Row[] }> {
  const start = now();
  for (let i = 0; i < dirs.length; i++) {
    await git(dirs[i], ['checkout', '--detach', '--force', '--quiet', commits[i % commits.length]]);
    await git(dirs[i], ['clean', '-ffdxq']);
  }
  const ms = now() - start;
  log(`worktrees: recycle ×8 ${fmtMs(ms)}`);
  return {
    ms,
    rows: [
      {
        section: 'worktree adds ×8',
        measurement: 'recycle 8 existing worktrees (checkout --force + clean), one at a time',
        value: fmtMs(ms),
        baseline: `git worktree add ×8 @1 ${fmtMs(addMs)}`,
        ratio: ms / addMs,
        note: 'each moved to a step result of the fold section: 54 files differ from HEAD',
      },
    ],
  };
}
