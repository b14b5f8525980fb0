import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EscapeDetector } from '../../src/core/escape/detector';
import { EscapeWatch } from '../../src/core/escape/escapeWatch';
import { captureBase } from '../../src/core/git/base';
import { openRepository } from '../../src/core/git/repository';
import { defaultWorktreeRoot } from '../../src/core/git/worktrees';
import { WorkflowRun } from '../../src/core/run/workflowRun';
import { resetSandboxProbe } from '../../src/core/process/sandbox';
import type { Isolation } from '../../src/core/workflow/schema';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { log, median, now, round } from '../lib/util';

export const DETECT_SECTION = 'isolation: detect, sandbox (8 steps × sleep 2 s)';

/**
 * The ways a run is measured: `plain` is the baseline without any of it (isolation off, no
 * bubblewrap: process groups and tags only); `off` adds the PID namespace every step gets where
 * bubblewrap works; `detect` adds detection; `sandbox` the sandbox and detection.
 */
const VARIANTS = [
  { name: 'plain', isolation: 'off', bwrap: false },
  { name: 'off', isolation: 'off', bwrap: true },
  { name: 'detect', isolation: 'detect', bwrap: true },
  { name: 'sandbox', isolation: 'sandbox', bwrap: true },
] as const;
type Variant = (typeof VARIANTS)[number];

export interface DetectStudy {
  readonly reps: number;
  /** Wall times (prepare + execute) of the 8 × sleep 2 s run per variant (see VARIANTS), one per rep. */
  readonly plainMs: number[];
  readonly offMs: number[];
  readonly detectMs: number[];
  readonly sandboxMs: number[];
  /** median(detect) / median(off). */
  readonly ratio: number;
  /** median(sandbox) / median(plain), median(detect) / median(plain), median(off) / median(plain). */
  readonly sandboxRatio: number;
  readonly detectToPlainRatio: number;
  readonly namespaceRatio: number;
  /** Per variant, per rep: the median of the run's steps' own times (process started → success recorded). */
  readonly stepMs: Readonly<Record<string, number[]>>;
  /** Setting up the watch alone: the baseline (HEAD, refs, config, hooks) and a watch per folder. */
  readonly watchSetupMs: number[];
  readonly foldersWatched: number;
  /** The base capture alone: the watch is set up beside it, so only what it takes longer counts. */
  readonly baseCaptureMs: number[];
  /** The last check of a run in which nothing was written (on the run's path, before the aggregate). */
  readonly endCheckMs: number[];
  /** What detection adds to the run's path, from its parts: max(0, watch − base capture) + the end check. */
  readonly pathCostMs: number;
}

let counter = 0;

/**
 * One 8 × `sleep 2` run (max_parallel 8) of the engine with the given isolation: its wall time
 * until the result is recorded, and the median of its steps' own times (from the step's process
 * started to its success recorded: its 2 s, the end of its processes, the checks after it, its
 * capture), which the worktree checkouts before it do not sway.
 */
async function timedRun(repo: BenchRepo, workflow: string, variant: Variant): Promise<{ wall: number; step: number }> {
  // The engine asks once per process whether bubblewrap works: ask again with it turned off or on.
  if (variant.bwrap) delete process.env.TAPPS_NO_BWRAP;
  else process.env.TAPPS_NO_BWRAP = '1';
  resetSandboxProbe();
  const isolation: Isolation = variant.isolation;
  const t0 = now();
  const run = await WorkflowRun.prepare({
    workflowFile: workflow,
    repoDir: repo.dir,
    runId: `bench-detect-${variant.name}-${++counter}`,
    isolation,
  });
  const started = new Map<string, number>();
  const stepTimes: number[] = [];
  const subscription = run.onDidEvent((e) => {
    if (e.type === 'step_started') started.set(e.step, now());
    else if (e.type === 'step_succeeded' && started.has(e.step)) stepTimes.push(now() - started.get(e.step)!);
  });
  try {
    const snapshot = await run.execute();
    const wall = now() - t0;
    if (snapshot.status !== 'succeeded' || snapshot.escaped)
      throw new Error(`bench run ended ${snapshot.status}${snapshot.escaped ? ', escaped' : ''}`);
    return { wall, step: median(stepTimes) };
  } finally {
    subscription.dispose();
    await run.settled();
    run.store.dispose();
  }
}

/**
 * The cost of detecting writes outside the worktrees (the baseline, the watch of the checkout, a
 * check after each step and at the end) on the 10,000-file repository: the 8 × sleep 2 s run with
 * isolation `detect` against the same run with `off`, alternating which goes first in each rep so
 * that drift of the machine weighs on both alike. Target: at most 1.1×.
 */
export async function detectStudy(repo: BenchRepo, workDir: string, reps: number): Promise<{ study: DetectStudy; rows: Row[] }> {
  const dir = path.join(workDir, 'workflows');
  await mkdir(dir, { recursive: true });
  const workflow = path.join(dir, 'detect.yaml');
  const steps = Array.from({ length: 8 }, (_, i) => `    - { id: s${i + 1}, agent: shell, run: "sleep 2" }`);
  await writeFile(workflow, ['workflow:', '  id: detect', '  settings:', '    max_parallel: 8', '  steps:', ...steps, ''].join('\n'));
  const times = new Map<Variant['name'], number[]>(VARIANTS.map((v) => [v.name, []]));
  const stepTimes = new Map<Variant['name'], number[]>(VARIANTS.map((v) => [v.name, []]));
  await timedRun(repo, workflow, VARIANTS[2]); // warm-up: caches, the first worktrees
  for (let i = 0; i < reps; i++) {
    // Alternating the order, so that drift of the machine weighs on every variant alike.
    for (const variant of i % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const { wall, step } = await timedRun(repo, workflow, variant);
      times.get(variant.name)!.push(wall);
      stepTimes.get(variant.name)!.push(step);
      log(`isolation: rep ${i + 1}, ${variant.name}: ${fmtMs(wall)} (a step: ${fmtMs(step)})`);
    }
  }
  delete process.env.TAPPS_NO_BWRAP;
  resetSandboxProbe();
  const [plainMs, offMs, detectMs, sandboxMs] = VARIANTS.map((v) => times.get(v.name)!);
  const [plainStep, offStep, detectStep, sandboxStep] = VARIANTS.map((v) => stepTimes.get(v.name)!);
  // The parts, alone: on a loaded machine the runs' wall times vary by more than detection costs.
  const r = await openRepository(repo.dir);
  const watchSetupMs: number[] = [];
  const baseCaptureMs: number[] = [];
  const endCheckMs: number[] = [];
  let foldersWatched = 0;
  for (let i = 0; i < 5; i++) {
    let t0 = now();
    await captureBase(r);
    baseCaptureMs.push(round(now() - t0, 1));
    t0 = now();
    const watch = await EscapeWatch.start(r, { worktreeRoot: defaultWorktreeRoot(r) });
    watchSetupMs.push(round(now() - t0, 1));
    foldersWatched = watch.foldersWatched;
    const detector = new EscapeDetector({ watch, baseTree: repo.tree, order: ['s1'], onFound: () => undefined });
    detector.stepStarted('s1');
    detector.stepEnded('s1');
    t0 = now();
    await detector.finish();
    endCheckMs.push(round(now() - t0, 1));
    detector.dispose();
  }
  const pathCostMs = Math.max(0, median(watchSetupMs) - median(baseCaptureMs)) + median(endCheckMs);
  const ratio = median(detectMs) / median(offMs);
  const plain = median(plainMs);
  const study: DetectStudy = {
    reps,
    plainMs: plainMs.map((x) => round(x, 1)),
    offMs: offMs.map((x) => round(x, 1)),
    detectMs: detectMs.map((x) => round(x, 1)),
    sandboxMs: sandboxMs.map((x) => round(x, 1)),
    ratio: round(ratio, 3),
    sandboxRatio: round(median(sandboxMs) / plain, 3),
    detectToPlainRatio: round(median(detectMs) / plain, 3),
    namespaceRatio: round(median(offMs) / plain, 3),
    stepMs: Object.fromEntries([...stepTimes].map(([k, v]) => [k, v.map((x) => round(x, 1))])),
    watchSetupMs,
    foldersWatched,
    baseCaptureMs,
    endCheckMs,
    pathCostMs: round(pathCostMs, 1),
  };
  const list = (ms: readonly number[]) => ms.map((x) => fmtMs(x)).join(', ');
  const versus = (measurement: string, ms: number[], note: string): Row => ({
    section: DETECT_SECTION,
    measurement,
    value: fmtMs(median(ms)),
    baseline: fmtMs(plain),
    ratio: median(ms) / plain,
    target: '≤ 1.1×',
    ok: median(ms) / plain <= 1.1,
    note: `${note}: ${list(ms)}; without any: ${list(plainMs)}`,
  });
  const stepVersus = (measurement: string, ms: number[]): Row => ({
    section: DETECT_SECTION,
    measurement,
    value: fmtMs(median(ms)),
    baseline: fmtMs(median(plainStep)),
    ratio: median(ms) / median(plainStep),
    target: '≤ 1.1×',
    ok: median(ms) / median(plainStep) <= 1.1,
    note: `medians per run: ${list(ms)}; without any: ${list(plainStep)}`,
  });
  const rows: Row[] = [
    stepVersus("a step's own time (process started → success recorded), isolation off (PID namespace) vs none of it", offStep),
    stepVersus("a step's own time, isolation detect (the default) vs none of it", detectStep),
    stepVersus("a step's own time, isolation sandbox vs none of it", sandboxStep),
    versus(`PID namespace per step (isolation off) vs none of it, median of ${reps}`, offMs, 'off'),
    versus('detection and the PID namespace (isolation detect, the default) vs none of it', detectMs, 'detect'),
    versus('sandbox, PID namespace and detection (isolation sandbox) vs none of it', sandboxMs, 'sandbox'),
    {
      section: DETECT_SECTION,
      measurement: `8 steps × sleep 2 s, ${repo.files.length} files: isolation detect vs off (median of ${reps})`,
      value: fmtMs(median(detectMs)),
      baseline: fmtMs(median(offMs)),
      ratio,
      target: '≤ 1.1×',
      ok: ratio <= 1.1,
      note: `detect ${detectMs.map((x) => fmtMs(x)).join(', ')}; off ${offMs.map((x) => fmtMs(x)).join(', ')}`,
    },
    {
      section: DETECT_SECTION,
      measurement: "detection's share of the run's path, from its parts: max(0, watch set-up − base capture) + end check",
      value: fmtMs(pathCostMs),
      baseline: fmtMs(median(offMs)),
      ratio: (median(offMs) + pathCostMs) / median(offMs),
      target: '≤ 1.1×',
      ok: (median(offMs) + pathCostMs) / median(offMs) <= 1.1,
      note: `watch set-up ${fmtMs(median(watchSetupMs))} (${foldersWatched} folders; baseline of HEAD, refs, config, hooks) beside the base capture ${fmtMs(median(baseCaptureMs))}; end check with nothing written ${fmtMs(median(endCheckMs))}; the check after each step runs off the path`,
    },
  ];
  return { study, rows };
}
