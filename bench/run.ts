/**
 * `npm run bench`: the Tapps Flow benchmark. Every figure is a ratio against a baseline measured
 * in this same process (or an ideal), never an absolute timed assertion. Results go to
 * bench/results/latest.json and a printed table. See BENCHMARKS.md.
 *
 * Options (after `npm run bench --`):
 *   --only=rounds,sequential,removals,fold,store,git,locks,checks,apply,detect,containment,setup,pool,queue   run only these parts (comma-separated)
 *   --rounds=N           interleaved rounds of raw worktree adds at 1/2/4/8, the split variant, and
 *                        the 8 × 2 s run with the engine's defaults and with --what-if (default 2)
 *   --what-if=N          the other worktreeAddConcurrency tried on the engine (default 1)
 *   --split=N            checkout concurrency of the split add variant (default: CPUs, at least 2)
 *   --reps-sequential=N  repetitions of sequential against parallel (default 1)
 *   --reps-fold=N        repetitions of the fold comparison (default 5)
 *   --reps-apply=N       alternating rounds of apply against raw read-tree -m -u (default 7)
 *   --reps-detect=N      alternating 8 × 2 s runs with no isolation, off, detect and sandbox (default 3)
 *   --reps-containment=N starts of `true` plain, in a PID namespace and in the sandbox (default 40)
 *   --reps-queue=N       alternating rounds of 8 × true (parallel, sequential) and 1 × true, local and
 *                        through the queue runner (loopback redis-server, 2 workers) (default 5)
 *   --reps-queue-first=N first steps on the generated repository through a fresh remote and worker (default 3)
 *   --keep               keep the temporary folder (the generated repository)
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fsProbe } from './lib/fsProbe';
import { othersShare, sampleLoad } from './lib/load';
import { machineInfo } from './lib/machine';
import { generateRepo } from './lib/repo';
import { fmtBytes, fmtMs, renderMarkdown, renderTable, type Row } from './lib/table';
import { log, now, removeWorkDir, round, timed } from './lib/util';
import { APPLY_SECTION, applyStudy, type ApplyStudy } from './scenarios/apply';
import { CONTAINMENT_SECTION, containmentStudy, type ContainmentStudy } from './scenarios/containment';
import { SETUP_SECTION, setupStudy, type SetupStudy } from './scenarios/setup';
import { POOL_SECTION, poolStudy, type PoolStudy } from './scenarios/pool';
import { QUEUE_FIRST_SECTION, QUEUE_SECTION, queueStudy, type QueueStudy } from './scenarios/queue';
import { DETECT_SECTION, detectStudy, type DetectStudy } from './scenarios/detect';
import { foldStudy, type FoldStudy } from './scenarios/fold';
import { gitOverhead, type GitOverheadResult } from './scenarios/gitOverhead';
import { LOCKS_SECTION, lockStudy, type LockStudy } from './scenarios/locks';
import { CHECKS_SECTION, checksStudy, type ChecksStudy } from './scenarios/checks';
import { storeStudy, type StoreStudy } from './scenarios/runStore';
import {
  interleavedRounds,
  removingRun,
  sequentialVsParallel,
  type RoundsResult,
  type RunMeasurement,
  type SequentialResult,
} from './scenarios/workflowRuns';
import { recycleStudy, removalStudy, type AddBatch, type RemovalStudy } from './scenarios/worktreeConcurrency';

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.split('=')[1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} expects a whole number ≥ 1, got ${arg}`);
  return value;
}

const SECTION_ORDER = [
  'repository',
  '8 steps × sleep 2 s',
  'isolation cost',
  'sequential vs parallel',
  '8 steps × sleep 2 s, default keep_worktrees',
  'worktree adds ×8',
  'worktree removals ×8',
  'fold (8 results × 54 files)',
  'state store (10,000 step_progress)',
  'engine git call',
  LOCKS_SECTION,
  CHECKS_SECTION,
  APPLY_SECTION,
  DETECT_SECTION,
  CONTAINMENT_SECTION,
  SETUP_SECTION,
  POOL_SECTION,
  QUEUE_SECTION,
  QUEUE_FIRST_SECTION,
];

async function main(): Promise<void> {
  const started = now();
  const onlyArg = process.argv.find((a) => a.startsWith('--only='));
  const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : undefined;
  const want = (s: string) => only === undefined || only.has(s);
  const reps = {
    rounds: option('rounds', 2),
    sequential: option('reps-sequential', 1),
    fold: option('reps-fold', 5),
    apply: option('reps-apply', 7),
    detect: option('reps-detect', 3),
    containment: option('reps-containment', 40),
    setup: option('reps-setup', 2),
    pool: option('reps-pool', 2),
    queue: option('reps-queue', 5),
    queueFirst: option('reps-queue-first', 3),
  };
  const whatIf = option('what-if', 1);
  const split = option('split', Math.max(2, os.availableParallelism()));
  const keep = process.argv.includes('--keep');

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'tapps-flow-bench-'));
  const machine = machineInfo(workDir);
  log(`machine: ${machine.cpus} cpus, ${machine.memoryGiB} GiB, ${machine.git}, node ${machine.node}`);
  log(`working in ${workDir}`);
  const rows: Row[] = [];
  /** Per section: the share of the CPUs other processes used while it ran. */
  const othersCpu: Record<string, number> = {};
  const section = async <T extends { rows: Row[] }>(fn: () => Promise<T>): Promise<T> => {
    const before = sampleLoad();
    const r = await fn();
    const share = othersShare(before, sampleLoad());
    if (share !== undefined) for (const row of r.rows) othersCpu[row.section] ??= round(share, 3);
    rows.push(...r.rows);
    return r;
  };
  const results: {
    machine: typeof machine;
    startedAt: string;
    reps: typeof reps;
    repository?: object;
    gitOverhead?: GitOverheadResult;
    rounds?: RoundsResult;
    sequential?: SequentialResult;
    removingRun?: RunMeasurement;
    worktreeRemovals?: RemovalStudy;
    recycleMs?: number;
    fold?: FoldStudy;
    store?: StoreStudy;
    locks?: LockStudy;
    checks?: ChecksStudy;
    apply?: ApplyStudy;
    detect?: DetectStudy;
    containment?: ContainmentStudy;
    setup?: SetupStudy;
    pool?: PoolStudy;
    queue?: QueueStudy;
    rows?: Row[];
    othersCpu?: Record<string, number>;
    totalSeconds?: number;
  } = { machine, startedAt: new Date().toISOString(), reps };
  try {
    const diskAtStart = fsProbe(path.join(workDir, 'fs-probes'));
    log(`disk: ${diskAtStart} µs per file creation`);
    const gen = await timed(() => generateRepo(path.join(workDir, 'repo')));
    const repo = gen.value;
    results.repository = {
      dir: repo.dir,
      head: repo.head,
      files: repo.files.length,
      bytes: repo.totalBytes,
      generateMs: round(gen.ms, 1),
      diskAtStartUsPerFile: diskAtStart,
    };
    log(`repository: ${repo.files.length} files, ${fmtBytes(repo.totalBytes)}, HEAD ${repo.head} (${fmtMs(gen.ms)})`);
    rows.push({
      section: 'repository',
      measurement: `generated: ${repo.files.length} files, 3 folders deep, committed`,
      value: fmtBytes(repo.totalBytes),
      note: `HEAD ${repo.head} (deterministic), made in ${fmtMs(gen.ms)}; disk at start: ${diskAtStart} µs per file creation`,
    });

    // Order matters: nothing that deletes worktrees runs before the measurements that create them
    // (journal-less ext4 allocates inodes slowly for a minute or more after mass deletions).
    if (want('git')) {
      const r = await section(() => gitOverhead(repo));
      results.gitOverhead = r.result;
    }
    if (want('fold')) {
      const r = await section(() => foldStudy(repo, path.join(workDir, 'fold-scratch'), reps.fold));
      results.fold = r.study;
    }
    if (want('store')) {
      const r = await section(() => storeStudy(repo, path.join(workDir, 'store')));
      results.store = r.study;
    }
    if (want('checks')) {
      const r = await section(() => checksStudy(workDir));
      results.checks = r.study;
    }
    if (want('locks')) {
      const r = await section(() => lockStudy(workDir));
      results.locks = r.study;
    }
    let batches: AddBatch[] = [];
    if (want('pool')) {
      const r = await section(() => poolStudy(repo, workDir, reps.pool));
      results.pool = r;
    }
    if (want('setup')) {
      const r = await section(() => setupStudy(repo, workDir, reps.setup));
      results.setup = r;
    }
    if (want('containment')) {
      const r = await section(() => containmentStudy(workDir, reps.containment));
      results.containment = r;
    }
    if (want('detect')) {
      const r = await section(() => detectStudy(repo, workDir, reps.detect));
      results.detect = r.study;
    }
    if (want('rounds')) {
      const r = await section(() => interleavedRounds(repo, workDir, reps.rounds, whatIf, split));
      results.rounds = r.result;
      batches = r.batches;
    }
    if (results.rounds && results.fold) {
      const rounds = results.rounds;
      const target = batches.find((b) => b.concurrency === 1 && !b.split && b.failures.length === 0);
      if (target) {
        const r = await section(() => recycleStudy(target.dirs, results.fold!.stepCommits, rounds.adds.adds[0].medianTotalMs));
        results.recycleMs = round(r.ms, 1);
      }
    }
    if (want('sequential')) {
      const r = await section(() => sequentialVsParallel(repo, workDir, reps.sequential));
      results.sequential = r.result;
    }
    if (want('removals')) {
      // Last: these delete worktrees, and deletions slow the checkouts that follow them.
      const kept = results.rounds?.parallel8x2.map((m) => m.wallMs).sort((a, b) => a - b);
      const r = await section(() => removingRun(repo, workDir, kept?.[Math.floor((kept.length - 1) / 2)]));
      results.removingRun = r.result;
      if (batches.length > 0) {
        const steady = results.rounds ? results.rounds.adds.steadyAddMs : NaN;
        const r2 = await section(() =>
          removalStudy(repo, path.join(workDir, 'raw-worktrees'), batches, steady, path.join(workDir, 'fs-probes')),
        );
        results.worktreeRemovals = r2.study;
      }
    }
    if (want('queue')) {
      // Its local runs of the generated repository's first step check out 10,000 files each (kept, not deleted).
      results.queue = await section(() => queueStudy(repo, workDir, reps.queue, reps.queueFirst));
    }
    if (want('apply')) {
      // After everything else: it creates and deletes hundreds of thousands of files, which slows
      // the file creations (checkouts) of whatever would follow.
      const r = await section(() => applyStudy(workDir, reps.apply));
      results.apply = r.study;
    }
    if (!keep) {
      const cleanup = await timed(() => removeWorkDir(workDir));
      log(`cleanup: removed ${workDir} in ${fmtMs(cleanup.ms)}`);
    }
  } finally {
    if (!keep) await rm(workDir, { recursive: true, force: true, maxRetries: 3 }); // after a failure
  }
  const ordered = SECTION_ORDER.flatMap((s) => rows.filter((r) => r.section === s));
  results.rows = ordered;
  results.othersCpu = othersCpu;
  const notes = Object.fromEntries(
    Object.entries(othersCpu).map(([k, v]) => [k, `(other processes used ${(v * 100).toFixed(0)}% of the CPUs meanwhile)`]),
  );
  results.totalSeconds = round((now() - started) / 1000, 1);
  if (results.rounds && results.worktreeRemovals) {
    ordered.push({
      section: 'recommendation',
      measurement: 'worktree concurrency: adds, smallest within 10 % of the best batch; removals, within 5 % of the best median',
      value: `add ${results.rounds.adds.recommendedAdd}`,
      baseline: `removal: ${results.worktreeRemovals.recommendedRemoval.strategy} @${results.worktreeRemovals.recommendedRemoval.concurrency}`,
    });
  }
  const resultsDir = path.join(__dirname, 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(path.join(resultsDir, 'latest.md'), `${renderMarkdown(ordered, othersCpu)}\n`);
  process.stdout.write(
    `\nTapps Flow bench: ${machine.cpus} cpus, ${machine.memoryGiB} GiB, ${machine.git}, node ${machine.node}; ${machine.fileSystem}\n\n${renderTable(ordered, notes)}\n\n`,
  );
  process.stdout.write(
    `total ${results.totalSeconds} s; results in ${path.relative(process.cwd(), path.join(resultsDir, 'latest.json'))}${keep ? `; kept ${workDir}` : ''}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
