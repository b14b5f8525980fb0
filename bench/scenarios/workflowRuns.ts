import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowRun } from '../../src/core/run/workflowRun';
import type { RunEvent } from '../../src/core/state/events';
import { fsProbe } from '../lib/fsProbe';
import { othersShare, sampleLoad } from '../lib/load';
import { startRecording, stopRecording, summarizeGit } from '../lib/instrument';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { log, median, now, round } from '../lib/util';
import { ADD_CONCURRENCIES, addBatch, addRows, type AddBatch, type AddStudy } from './worktreeConcurrency';

export interface RunSpec {
  readonly name: string;
  readonly steps: number;
  readonly sleepSeconds: number;
  readonly maxParallel: number;
  readonly worktreeAddConcurrency?: number;
  /** `keep_worktrees` of the workflow; the engine's default is on_failure (remove after success). */
  readonly keepWorktrees?: 'always' | 'on_failure';
  /** `pool_size` of the workflow; unset: 0, a cold run (each step's worktree checked out, then deleted), as the sections before the pool measured. */
  readonly poolSize?: number;
  /** Setup commands of the workflow (`setup.commands`), run in each step's worktree before its step. */
  readonly setupCommands?: readonly string[];
  /** `dependency_sharing` of the workflow; unset: the default (`auto`). */
  readonly dependencySharing?: string;
}

/** Where the wall time of one run went, in ms (from the engine's events and its git calls). */
export interface RunBreakdown {
  readonly prepareMs: number;
  /** From `execute()` until the last step's process started: worktree adds (serialized by default) and their queueing. */
  readonly untilLastStepStartedMs: number;
  /** From the last step's start until it was recorded as succeeded: its sleep plus capture. */
  readonly lastStepRunAndCaptureMs: number;
  /** From the last step's success to `run_finished`: the aggregate (fold, reports) and the last events. */
  readonly aggregateMs: number;
  /** `run.settled()` after `execute()`: deleting the removed worktrees (the CLI waits for it before exiting). */
  readonly settledMs: number;
  /** Per step: ms from asking for its worktree until it was ready (queue wait included). */
  readonly worktreeReadyMs: number[];
  /** Git calls by subcommand: count and total ms. */
  readonly git: ReturnType<typeof summarizeGit>;
  readonly gitProcesses: number;
  /** Per step with a setup: ms from its setup's start to its agent's start. */
  readonly setupPhaseMs: number[];
}

export interface RunMeasurement {
  readonly spec: RunSpec;
  /** prepare + execute: until the run's result is recorded. */
  readonly wallMs: number;
  readonly status: string;
  readonly breakdown: RunBreakdown;
  /** Share of the CPUs other processes used during the run. */
  readonly othersCpu?: number;
}

async function workflowFile(dir: string, spec: RunSpec): Promise<string> {
  const lines = ['workflow:', `  id: ${spec.name}`, '  settings:', `    max_parallel: ${spec.maxParallel}`];
  if (spec.keepWorktrees) lines.push(`    keep_worktrees: ${spec.keepWorktrees}`);
  lines.push(`    pool_size: ${spec.poolSize ?? 0}`);
  if (spec.dependencySharing) lines.push(`    dependency_sharing: ${spec.dependencySharing}`);
  if (spec.setupCommands) lines.push('  setup:', '    commands:', ...spec.setupCommands.map((c) => `      - ${JSON.stringify(c)}`));
  lines.push('  steps:');
  for (let i = 1; i <= spec.steps; i++) lines.push(`    - { id: s${i}, agent: shell, run: "sleep ${spec.sleepSeconds}" }`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${spec.name}.yaml`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

let runCounter = 0;

/** One WorkflowRun (prepare + execute) of `spec`, timed from the outside, with its breakdown. */
export async function measureRun(repo: BenchRepo, workDir: string, spec: RunSpec): Promise<RunMeasurement> {
  const file = await workflowFile(path.join(workDir, 'workflows'), spec); // outside the repository: not part of the base
  const load = sampleLoad();
  const rec = startRecording();
  const times = new Map<string, number>();
  let t0 = 0;
  let t1 = 0;
  let t2 = 0;
  let t3 = 0;
  let status = '';
  try {
    t0 = now();
    const run = await WorkflowRun.prepare({
      workflowFile: file,
      repoDir: repo.dir,
      runId: `bench-${spec.name}-${++runCounter}`,
      defaults: spec.worktreeAddConcurrency === undefined ? undefined : { worktreeAddConcurrency: spec.worktreeAddConcurrency },
    });
    t1 = now();
    // The first of each (a setup records its phase, then each command).
    run.onDidEvent((e: RunEvent) => {
      const key = 'step' in e && e.step ? `${e.type}:${e.step}` : e.type;
      if (!times.has(key)) times.set(key, now());
    });
    status = (await run.execute()).status;
    t2 = now();
    await run.settled();
    t3 = now();
    run.store.dispose();
  } finally {
    stopRecording();
  }
  const ids = Array.from({ length: spec.steps }, (_, i) => `s${i + 1}`);
  const lastStarted = Math.max(...ids.map((id) => times.get(`step_started:${id}`) ?? NaN));
  const lastSucceeded = Math.max(...ids.map((id) => times.get(`step_succeeded:${id}`) ?? NaN));
  const git = summarizeGit(rec.git);
  const breakdown: RunBreakdown = {
    prepareMs: round(t1 - t0, 1),
    untilLastStepStartedMs: round(lastStarted - t1, 1),
    lastStepRunAndCaptureMs: round(lastSucceeded - lastStarted, 1),
    aggregateMs: round((times.get('run_finished') ?? t2) - lastSucceeded, 1),
    settledMs: round(t3 - t2, 1),
    worktreeReadyMs: rec.adds.map((a) => round(a.ready - a.requested, 1)),
    git,
    gitProcesses: rec.git.length,
    setupPhaseMs: ids.flatMap((id) => {
      const from = times.get(`step_setting_up:${id}`);
      const to = times.get(`step_started:${id}`);
      return from === undefined || to === undefined ? [] : [round(to - from, 1)];
    }),
  };
  if (status !== 'succeeded') throw new Error(`bench run ${spec.name} ended ${status}`);
  const share = othersShare(load, sampleLoad());
  return { spec, wallMs: t2 - t0, status, breakdown, othersCpu: share === undefined ? undefined : round(share, 3) };
}

export const busy = (m: { othersCpu?: number }) => (m.othersCpu === undefined ? '' : ` (others ${(m.othersCpu * 100).toFixed(0)}%)`);
const medianOf = (ms: readonly RunMeasurement[], f: (m: RunMeasurement) => number) => median(ms.map(f));

export interface RoundsResult {
  readonly rounds: number;
  /** The engine's 8 × sleep 2 s with its default settings, one per round. */
  readonly parallel8x2: RunMeasurement[];
  /** The same with `worktreeAddConcurrency: whatIfAddConcurrency`, one per round. */
  readonly whatIf: RunMeasurement[];
  readonly whatIfAddConcurrency: number;
  readonly splitConcurrency: number;
  /** Per round: (run wall − 2 s) / raw `git worktree add` ×8 at concurrency 1 of the same round. */
  readonly isolationRatios: number[];
  readonly adds: AddStudy;
  /** µs per file creation before each round and after the last (see fsProbe). */
  readonly fsProbeUs: number[];
}

const S = '8 steps × sleep 2 s';

/**
 * Sections 2, 3 (isolation) and 4 (adds) in interleaved rounds. Each round times 8 raw worktree
 * adds at concurrency 1, 2, 4 and 8, the split variant at `splitConcurrency`, and the engine's run
 * of 8 × `sleep 2` with its defaults and with `worktreeAddConcurrency: whatIfAddConcurrency`; odd
 * rounds run them in the reverse order, so that a drift of the machine (others' load, the disk
 * recovering from earlier deletions) weighs on every item alike. The raw adds at concurrency 1 are the isolation baseline
 * of the run of the same round. Nothing is deleted: the runs keep their worktrees
 * (`keep_worktrees: always`) because, on a journal-less ext4, mass deletions slow every checkout
 * for minutes after them (see BENCHMARKS.md).
 */
export async function interleavedRounds(
  repo: BenchRepo,
  workDir: string,
  rounds: number,
  whatIfAddConcurrency: number,
  splitConcurrency: number,
): Promise<{ result: RoundsResult; batches: AddBatch[]; rows: Row[] }> {
  const root = path.join(workDir, 'raw-worktrees');
  const probes = path.join(workDir, 'fs-probes');
  // Warm the page cache and git's object reads once, untimed.
  await addBatch(repo, root, 2);
  /** A run's `concurrency` undefined: the engine's default worktreeAddConcurrency. */
  type Item = { kind: 'add' | 'split'; concurrency: number } | { kind: 'run'; concurrency: number | undefined };
  const items: Item[] = [
    ...ADD_CONCURRENCIES.map((c): Item => ({ kind: 'add', concurrency: c })),
    { kind: 'split', concurrency: splitConcurrency },
    { kind: 'run', concurrency: undefined },
    { kind: 'run', concurrency: whatIfAddConcurrency },
  ];
  const batches: AddBatch[] = [];
  const runs: RunMeasurement[] = [];
  const whatIf: RunMeasurement[] = [];
  const isolationRatios: number[] = [];
  const fsProbeUs: number[] = [];
  const spec: RunSpec = { name: 'parallel-8x2s', steps: 8, sleepSeconds: 2, maxParallel: 8, keepWorktrees: 'always' };
  for (let r = 0; r < rounds; r++) {
    fsProbeUs.push(fsProbe(probes));
    let raw1: AddBatch | undefined;
    let run1: RunMeasurement | undefined;
    const order = r % 2 === 0 ? items : [...items].reverse();
    for (const item of order) {
      if (item.kind === 'add' || item.kind === 'split') {
        const b = await addBatch(repo, root, item.concurrency, item.kind === 'split');
        batches.push(b);
        if (item.kind === 'add' && item.concurrency === 1) raw1 = b;
        log(
          `round ${r + 1}/${rounds}: ${item.kind === 'split' ? 'add --no-checkout + reset --hard' : 'git worktree add'} ×8 @${item.concurrency} ${fmtMs(b.totalMs)}${busy(b)}${b.failures.length ? `, ${b.failures.length} failed` : ''}`,
        );
      } else {
        const m = await measureRun(
          repo,
          workDir,
          item.concurrency === undefined
            ? spec
            : { ...spec, name: `parallel-8x2s-add${item.concurrency}`, worktreeAddConcurrency: item.concurrency },
        );
        (item.concurrency === undefined ? runs : whatIf).push(m);
        if (item.concurrency === undefined) run1 = m;
        log(
          `round ${r + 1}/${rounds}: run 8×sleep 2, worktreeAddConcurrency ${item.concurrency ?? 'default'}: ${fmtMs(m.wallMs)}${busy(m)}`,
        );
      }
    }
    isolationRatios.push((run1!.wallMs - 2000) / raw1!.totalMs);
  }
  fsProbeUs.push(fsProbe(probes));
  const addStudy = addRows(batches);
  const wall = medianOf(runs, (m) => m.wallMs);
  const rawAdd = addStudy.study.adds[0].medianTotalMs;
  const w = medianOf(whatIf, (m) => m.wallMs);
  const rows: Row[] = [
    {
      section: S,
      measurement: 'run wall time (prepare + execute), max_parallel 8, engine defaults',
      value: fmtMs(wall),
      baseline: 'ideal 2.00 s',
      ratio: wall / 2000,
      target: 'report',
      note: `runs ${runs.map((m) => `${fmtMs(m.wallMs)}${busy(m)}`).join(', ')}; keep_worktrees: always`,
    },
    ...breakdownRows(runs),
    {
      section: S,
      measurement: `run wall time with worktreeAddConcurrency ${whatIfAddConcurrency}`,
      value: fmtMs(w),
      baseline: `engine default: ${fmtMs(wall)}`,
      ratio: w / wall,
      note: `runs ${whatIf.map((m) => `${fmtMs(m.wallMs)}${busy(m)}`).join(', ')}; last step started after ${fmtMs(medianOf(whatIf, (m) => m.breakdown.untilLastStepStartedMs))}`,
    },
    {
      section: 'isolation cost',
      measurement: '(run wall − 2 s) / raw git worktree add ×8 (sequential)',
      value: fmtMs(wall - 2000),
      baseline: `raw adds ${fmtMs(rawAdd)}`,
      ratio: median(isolationRatios),
      target: 'report',
      note: `per round (run and raw adds of the same round): ${isolationRatios.map((x) => x.toFixed(2)).join(', ')}`,
    },
    ...addStudy.rows,
    {
      section: 'worktree adds ×8',
      measurement: 'disk: µs per file creation, before each round / after the last',
      value: fsProbeUs.map((x) => x.toFixed(0)).join(' / '),
      note: 'checkouts are file creations: when this climbs, recent deletions are slowing inode allocation',
    },
  ];
  return {
    result: { rounds, parallel8x2: runs, whatIf, whatIfAddConcurrency, splitConcurrency, isolationRatios, adds: addStudy.study, fsProbeUs },
    batches,
    rows,
  };
}

export interface SequentialResult {
  readonly sequential: RunMeasurement[];
  readonly parallel: RunMeasurement[];
}

/** Section 3b: sequential mode against parallel, 8 × `sleep 0.5`, alternating which goes first. */
export async function sequentialVsParallel(
  repo: BenchRepo,
  workDir: string,
  reps: number,
): Promise<{ result: SequentialResult; rows: Row[] }> {
  const sequential: RunMeasurement[] = [];
  const parallel: RunMeasurement[] = [];
  const seqSpec: RunSpec = { name: 'sequential-8x0.5s', steps: 8, sleepSeconds: 0.5, maxParallel: 1, keepWorktrees: 'always' };
  const parSpec: RunSpec = { name: 'parallel-8x0.5s', steps: 8, sleepSeconds: 0.5, maxParallel: 8, keepWorktrees: 'always' };
  for (let r = 0; r < reps; r++) {
    if (r % 2 === 0) {
      sequential.push(await measureRun(repo, workDir, seqSpec));
      parallel.push(await measureRun(repo, workDir, parSpec));
    } else {
      parallel.push(await measureRun(repo, workDir, parSpec));
      sequential.push(await measureRun(repo, workDir, seqSpec));
    }
    log(
      `runs: 8×sleep 0.5 sequential ${fmtMs(sequential[r].wallMs)}${busy(sequential[r])}, parallel ${fmtMs(parallel[r].wallMs)}${busy(parallel[r])}`,
    );
  }
  const seq = medianOf(sequential, (m) => m.wallMs);
  const par = medianOf(parallel, (m) => m.wallMs);
  const sec = 'sequential vs parallel';
  const rows: Row[] = [
    {
      section: sec,
      measurement: 'sequential (max_parallel 1), 8 × sleep 0.5 s',
      value: fmtMs(seq),
      baseline: `ideal 4.00 s`,
      ratio: seq / 4000,
      note: `runs ${sequential.map((m) => `${fmtMs(m.wallMs)}${busy(m)}`).join(', ')}`,
    },
    {
      section: sec,
      measurement: 'parallel (max_parallel 8), 8 × sleep 0.5 s',
      value: fmtMs(par),
      baseline: `ideal 0.50 s`,
      ratio: par / 500,
      note: `runs ${parallel.map((m) => `${fmtMs(m.wallMs)}${busy(m)}`).join(', ')}`,
    },
    {
      section: sec,
      measurement: 'sequential / parallel',
      value: fmtMs(seq),
      baseline: `parallel ${fmtMs(par)}`,
      ratio: seq / par,
      target: 'report (ideal 8×)',
    },
  ];
  return { result: { sequential, parallel }, rows };
}

/** The breakdown rows of a set of runs of the same spec (medians). */
function breakdownRows(runs: readonly RunMeasurement[], section = S): Row[] {
  const b = (f: (x: RunBreakdown) => number) => medianOf(runs, (m) => f(m.breakdown));
  const first = runs[0].breakdown;
  return [
    { section, measurement: '  prepare (open repo, capture base, run_started)', value: fmtMs(b((x) => x.prepareMs)) },
    {
      section,
      measurement: '  execute → last step started (worktree adds)',
      value: fmtMs(b((x) => x.untilLastStepStartedMs)),
      note: `worktree ready after (ms, per step, first run): ${first.worktreeReadyMs.map((x) => Math.round(x)).join(', ')}`,
    },
    { section, measurement: '  last step: start → succeeded (sleep + capture)', value: fmtMs(b((x) => x.lastStepRunAndCaptureMs)) },
    { section, measurement: '  last step succeeded → run_finished (aggregate)', value: fmtMs(b((x) => x.aggregateMs)) },
    { section, measurement: '  after execute: run.settled() (delete removed worktrees)', value: fmtMs(b((x) => x.settledMs)) },
    {
      section,
      measurement: '  git processes',
      value: `${first.gitProcesses}`,
      note: `git time by command (first run): ${Object.entries(first.git)
        .map(([k, v]) => `${k} ${v.count}× ${fmtMs(v.totalMs)}`)
        .join('; ')}`,
    },
  ];
}

/**
 * The engine's default: worktrees of successful steps are removed in the background during the
 * run. Measured after everything else that creates worktrees, on a disk with no recent deletions.
 */
export async function removingRun(
  repo: BenchRepo,
  workDir: string,
  keptWallMs: number | undefined,
): Promise<{ result: RunMeasurement; rows: Row[] }> {
  const m = await measureRun(repo, workDir, { name: 'parallel-8x2s-removing', steps: 8, sleepSeconds: 2, maxParallel: 8 });
  log(`runs: 8×sleep 2 with default keep_worktrees in ${fmtMs(m.wallMs)}${busy(m)}`);
  const section = '8 steps × sleep 2 s, default keep_worktrees';
  const rows: Row[] = [
    {
      section,
      measurement: 'run wall time until the result (worktrees of succeeded steps removed)',
      value: fmtMs(m.wallMs),
      baseline: keptWallMs === undefined ? 'ideal 2.00 s' : `keep always: ${fmtMs(keptWallMs)}`,
      ratio: m.wallMs / (keptWallMs ?? 2000),
      note: `then run.settled() ${fmtMs(m.breakdown.settledMs)}${busy(m)}`,
    },
    ...breakdownRows([m], section),
  ];
  return { result: m, rows };
}
