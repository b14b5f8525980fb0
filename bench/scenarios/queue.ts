/**
 * The `queue` runner against the local one: what sending a step to a worker (a job on Redis, its
 * base pushed to the team remote, fetched by the worker, its result pushed back and fetched) adds
 * to a step that does nothing (`true`). Everything runs through the real CLI processes
 * (`dist/cli.js run …` timed from spawn to exit, `dist/cli.js worker …` started once), on a
 * loopback `redis-server` and a bare repository as the remote. Workers on this machine share its
 * CPUs: this measures the overhead only, never the gain of more machines (see BENCHMARKS.md for
 * the model that turns the overhead into a break-even step length).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { exec, fixedDateEnv, git, log, median, now, round } from '../lib/util';

export const QUEUE_SECTION = 'queue runner overhead (8 × true)';
export const QUEUE_FIRST_SECTION = 'queue runner: first step on the 10,000-file repository';

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli.js');
const REDIS = process.env.REDIS_SERVER ?? 'redis-server';
const STEPS = 8;
const WORKERS = 2;
const WORKER_CONCURRENCY = 4;

/** One timed CLI run: from spawn to exit, and the engine's own `elapsedMs` from its report. */
export interface CliRun {
  readonly wallMs: number;
  readonly elapsedMs: number;
}

/** Wall times (ms) of the runs of one kind, one per repetition. */
type Series = Record<'local' | 'queue', number[]>;

export interface QueueStudy {
  readonly reps: number;
  /** 8 × `true`, max_parallel 8 (2 workers × 4 on the queue side). */
  readonly parallel: Series;
  /** 8 × `true` with --sequential. */
  readonly sequential8: Series;
  /** 1 × `true`. */
  readonly sequential1: Series;
  /** Medians: the marginal wall time of one more step (sequential), ms. */
  readonly perStepMs?: { local: number; queue: number; addedMs: number; ratio: number };
  /** Medians: a run's cost beyond its steps (intercept of 1 → 8 steps), ms. */
  readonly perRunMs?: { local: number; queue: number; addedMs: number };
  /** The 10,000-file repository, one step: fresh remote and worker, then warm. */
  readonly first?: FirstStepStudy;
  /** Runs that failed only through the engine's view race (see VIEW_RACE), run again and not counted. */
  readonly raced: readonly string[];
  readonly skipped?: string;
  readonly rows: Row[];
}

/** One step on the bench repository (10,000 files, 70 MiB), local and through the queue; wall times (ms), one per repetition. */
export interface FirstStepStudy {
  readonly reps: number;
  /** Local: a fresh checkout (`pool_size: 0`), and a pooled worktree. */
  readonly local: { readonly cold: number[]; readonly warm: number[] };
  /** Through a remote that holds nothing: its first run (a fresh worker), and its next run (same remote and worker). */
  readonly emptyRemote: { readonly cold: number[]; readonly warm: number[] };
  /** Through a remote that already holds the repository's branch, as a team's `origin` does. */
  readonly branchRemote: { readonly cold: number[]; readonly warm: number[] };
  /** Raw `git push` of HEAD to an empty bare repository, and raw `git fetch` of it into an empty repository. */
  readonly rawPushMs: number[];
  readonly rawFetchMs: number[];
}

/** A free TCP port on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A child process started by this study, stopped by its own pid only. */
class Child {
  private readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (d: Buffer) => {
      this.output.push(d.toString('utf8'));
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** The last of what it printed, for an error message. */
  tail(): string {
    return this.output.join('').split('\n').slice(-15).join('\n');
  }

  /** Resolves once its output contains `marker`; rejects if it exits first or after `ms`. */
  async waitFor(marker: string, ms: number): Promise<void> {
    const started = now();
    while (!this.output.join('').includes(marker)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`${this.name} exited before it was ready:\n${this.tail()}`);
      if (now() - started > ms) throw new Error(`${this.name} was not ready after ${ms / 1000} s:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGTERM, then SIGKILL if it has not left after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const left = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs))]);
    if (!left) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

async function startRedis(dir: string): Promise<{ url: string; server: Child }> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const server = new Child(
    'redis-server',
    spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  try {
    await server.waitFor('Ready to accept connections', 10_000);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, server };
}

async function startWorker(queue: string, remote: string, name: string, dir: string): Promise<Child> {
  const worker = new Child(
    `worker ${name}`,
    spawn(
      process.execPath,
      [CLI, 'worker', '--queue', queue, '--remote', remote, '--name', name, '--dir', dir, '--concurrency', String(WORKER_CONCURRENCY)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  try {
    await worker.waitFor(': ready:', 30_000);
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return worker;
}

/** A small committed repository (a few files): what the steps' base is when its size does not matter. */
async function smallRepo(dir: string): Promise<string> {
  await mkdir(path.join(dir, 'src'), { recursive: true });
  await git(dir, ['init', '--quiet', '--initial-branch=main']);
  await git(dir, ['config', 'user.name', 'Bench']);
  await git(dir, ['config', 'user.email', 'bench@localhost']);
  await writeFile(path.join(dir, 'README.md'), '# Queue bench\n');
  for (let i = 0; i < 10; i++) await writeFile(path.join(dir, 'src', `f${i}.ts`), `export const f${i} = ${i};\n`);
  await git(dir, ['add', '--all']);
  await git(dir, ['commit', '--quiet', '-m', 'Queue bench repository'], { env: fixedDateEnv(1_700_000_000) });
  return dir;
}

/** An empty bare repository; with `from`, holding that repository's `main` (as a team's remote holds its branches). */
async function bareRemote(dir: string, from?: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await git(dir, ['init', '--quiet', '--bare']);
  if (from) await git(from, ['push', '--quiet', '--no-verify', dir, 'main:main']);
  return dir;
}

/** A workflow of `steps` × `true`, written outside the repository (not part of the base). */
async function workflowFile(
  dir: string,
  name: string,
  steps: number,
  settings: { poolSize: number; keepWorktrees: 'always' | 'on_failure' },
): Promise<string> {
  const lines = [
    'workflow:',
    `  id: ${name}`,
    '  settings:',
    `    max_parallel: ${STEPS}`,
    `    pool_size: ${settings.poolSize}`,
    `    keep_worktrees: ${settings.keepWorktrees}`,
    '  steps:',
  ];
  for (let i = 1; i <= steps; i++) lines.push(`    - { id: s${i}, agent: shell, run: "true" }`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

interface Target {
  readonly repo: string;
  readonly queue: string;
  readonly remote: string;
}

/**
 * What the engine says when it read a job as completed without its result. `StepQueue.view` reads
 * the job's hash (`Job.fromId`), then its state (`getState`), in two calls: a job that completes
 * between them is seen completed with no return value, and its step fails. A bench run that hits
 * this is not a measurement: it is counted, and run again.
 */
const VIEW_RACE = 'answered with a result that is not one';

/** A run that failed only because it hit the race above. */
class ViewRace extends Error {}

/** How many runs hit the race, by what they were. */
export const raced: string[] = [];

/** `tapps-flow run` as a user runs it, timed from spawn to exit; a run that does not succeed is an error. */
async function runOnce(target: Target, workflow: string, runner: 'local' | 'queue', sequential: boolean): Promise<CliRun> {
  const args = [CLI, 'run', workflow, '--repo', target.repo, '--runner', runner, '--json'];
  if (runner === 'queue') args.push('--queue', target.queue, '--remote', target.remote);
  if (sequential) args.push('--sequential');
  const t0 = now();
  const r = await exec(process.execPath, args, { cwd: target.repo, okCodes: [1, 2, 3, 4] });
  const wallMs = now() - t0;
  let report: { status?: string; elapsedMs?: number; steps?: Array<{ id: string; status: string; error: string | null }> };
  try {
    report = JSON.parse(r.stdout) as typeof report;
  } catch {
    throw new Error(`run ${path.basename(workflow)} (${runner}) printed no report (exit ${r.code}): ${r.stderr.trim().slice(-2000)}`);
  }
  if (r.code !== 0 || report.status !== 'succeeded') {
    const failed = (report.steps ?? []).filter((s) => s.status !== 'succeeded').map((s) => `${s.id}: ${s.status} ${s.error ?? ''}`);
    const message = `run ${path.basename(workflow)} (${runner}${sequential ? ', sequential' : ''}) ended ${report.status} (exit ${r.code}): ${failed.join('; ')}`;
    throw failed.length > 0 && failed.every((f) => f.includes(VIEW_RACE)) ? new ViewRace(message) : new Error(message);
  }
  return { wallMs, elapsedMs: report.elapsedMs ?? NaN };
}

/** `runOnce`, again after a run that hit the view race (at most 5 times). */
async function runCli(target: Target, workflow: string, runner: 'local' | 'queue', sequential: boolean): Promise<CliRun> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(target, workflow, runner, sequential);
    } catch (error) {
      if (!(error instanceof ViewRace) || attempt >= 5) throw error;
      raced.push(error.message);
      log(`queue: ${error.message}; run again`);
    }
  }
}

const runsText = (ms: readonly number[]) => ms.map((x) => fmtMs(x)).join(', ');

/**
 * Small repository, 2 workers × 4: per repetition, 8 × `true` in parallel, 8 with --sequential and
 * 1, each locally and through the queue, in alternating order. The marginal cost of one step is
 * the slope from 1 to 8 sequential steps (the run's own cost, the same whatever the number of
 * steps, cancels out); the intercept is the run's cost beyond its steps. Then, when `bigRepo` is
 * given, its first step through a fresh remote and a fresh worker (see `firstStep`).
 */
export async function queueStudy(bigRepo: BenchRepo | undefined, workDir: string, reps: number, firstReps: number): Promise<QueueStudy> {
  const empty = (): Series => ({ local: [], queue: [] });
  const study = { reps, parallel: empty(), sequential8: empty(), sequential1: empty(), raced };
  if (!existsSync(CLI)) throw new Error(`queue study: ${CLI} is missing; build first (node esbuild.js)`);
  const hasRedis = await exec(REDIS, ['--version'], { cwd: workDir }).then(
    () => true,
    () => false,
  );
  if (!hasRedis) {
    const skipped = `${REDIS} not found (set REDIS_SERVER to its path): the queue study needs a local Redis`;
    log(`queue: ${skipped}`);
    return { ...study, skipped, rows: [{ section: QUEUE_SECTION, measurement: 'skipped', value: '', note: skipped }] };
  }
  const root = path.join(workDir, 'queue');
  const { url, server } = await startRedis(path.join(root, 'redis'));
  const workers: Child[] = [];
  try {
    const target: Target = {
      repo: await smallRepo(path.join(root, 'small-repo')),
      queue: url,
      remote: await bareRemote(path.join(root, 'small-remote.git'), path.join(root, 'small-repo')),
    };
    for (let w = 1; w <= WORKERS; w++) workers.push(await startWorker(url, target.remote, `w${w}`, path.join(root, `w${w}`)));
    log(`queue: redis at ${url}, ${WORKERS} workers × ${WORKER_CONCURRENCY}, remote ${target.remote}`);
    const flows = path.join(root, 'workflows');
    // pool_size 8 on both sides (a worker pools up to its concurrency): after the warm-up, no step checks out.
    const settings = { poolSize: STEPS, keepWorktrees: 'on_failure' as const };
    const eight = await workflowFile(flows, 'queue-8-true', STEPS, settings);
    const one = await workflowFile(flows, 'queue-1-true', 1, settings);
    for (const runner of ['local', 'queue'] as const) {
      await runCli(target, eight, runner, false); // warm-up: pools filled, the page cache and the remote warm
      await runCli(target, eight, runner, false);
    }
    type Item = { series: Series; runner: 'local' | 'queue'; file: string; sequential: boolean; label: string };
    const items: Item[] = [];
    for (const runner of ['local', 'queue'] as const) {
      items.push({ series: study.parallel, runner, file: eight, sequential: false, label: `8 parallel` });
      items.push({ series: study.sequential8, runner, file: eight, sequential: true, label: `8 sequential` });
      items.push({ series: study.sequential1, runner, file: one, sequential: true, label: `1` });
    }
    for (let r = 0; r < reps; r++) {
      const done: string[] = [];
      for (const item of r % 2 === 0 ? items : [...items].reverse()) {
        const m = await runCli(target, item.file, item.runner, item.sequential);
        item.series[item.runner].push(m.wallMs);
        done.push(`${item.runner} ${item.label} ${fmtMs(m.wallMs)}`);
      }
      log(`queue round ${r + 1}/${reps}: ${done.join(', ')}`);
    }
    for (const w of workers.splice(0)) await w.stop();
    const first = bigRepo ? await firstStep(bigRepo, root, url, firstReps) : undefined;
    return { ...study, ...derived(study), ...(first ? { first } : {}), rows: rows(study, first) };
  } finally {
    for (const w of workers) await w.stop();
    await server.stop();
  }
}

function derived(s: { sequential8: Series; sequential1: Series }): Pick<QueueStudy, 'perStepMs' | 'perRunMs'> {
  const slope = (k: 'local' | 'queue') => (median(s.sequential8[k]) - median(s.sequential1[k])) / (STEPS - 1);
  const local = slope('local');
  const queue = slope('queue');
  const intercept = (k: 'local' | 'queue', b: number) => median(s.sequential1[k]) - b;
  return {
    perStepMs: { local: round(local, 1), queue: round(queue, 1), addedMs: round(queue - local, 1), ratio: round(queue / local, 2) },
    perRunMs: {
      local: round(intercept('local', local), 1),
      queue: round(intercept('queue', queue), 1),
      addedMs: round(intercept('queue', queue) - intercept('local', local), 1),
    },
  };
}

/**
 * The first step of a run on the bench repository (10,000 files, 70 MiB) through a worker that has
 * never seen it: the worker fetches the whole base, then checks it out; through an empty remote
 * the run first pushes the whole base too. Against the same step run locally with a fresh checkout
 * (`pool_size: 0`, worktrees kept so that no deletion is timed). Then the next run on the same
 * remote and worker (the worker has the objects, its worktree pooled) against a local run from a
 * pooled worktree. Two remotes: one that holds nothing, and one that holds the repository's branch
 * (as the team's `origin` does). Each repetition has its own remotes and workers, one at a time
 * (a worker takes any job of the queue, and fetches from its own remote). Raw `git push` and `git
 * fetch` of the same commit into empty repositories are the baseline of what the queue adds.
 */
async function firstStep(repo: BenchRepo, root: string, queue: string, reps: number): Promise<FirstStepStudy> {
  const flows = path.join(root, 'workflows');
  const cold = await workflowFile(flows, 'first-cold', 1, { poolSize: 0, keepWorktrees: 'always' });
  const warm = await workflowFile(flows, 'first-warm', 1, { poolSize: 1, keepWorktrees: 'on_failure' });
  const result: FirstStepStudy = {
    reps,
    local: { cold: [], warm: [] },
    emptyRemote: { cold: [], warm: [] },
    branchRemote: { cold: [], warm: [] },
    rawPushMs: [],
    rawFetchMs: [],
  };
  const local: Target = { repo: repo.dir, queue, remote: '' };
  await runCli(local, warm, 'local', false); // the local pool holds one worktree from here on
  const localRuns = async () => {
    result.local.cold.push((await runCli(local, cold, 'local', false)).wallMs);
    result.local.warm.push((await runCli(local, warm, 'local', false)).wallMs);
  };
  /** The first and the next run through a new remote (empty, or holding `main`) and a new worker. */
  const queueRuns = async (r: number, kind: 'empty' | 'branch', into: { cold: number[]; warm: number[] }) => {
    let worker: Child | undefined;
    let target: Target | undefined;
    const fresh = async (attempt: number) => {
      await worker?.stop();
      const remote = await bareRemote(path.join(root, `big-${kind}-${r}-${attempt}.git`), kind === 'branch' ? repo.dir : undefined);
      worker = await startWorker(queue, remote, `big-${kind}${r}-${attempt}`, path.join(root, `big-${kind}-w${r}-${attempt}`));
      target = { repo: repo.dir, queue, remote };
    };
    try {
      for (let attempt = 0; ; attempt++) {
        await fresh(attempt);
        try {
          into.cold.push((await runOnce(target!, cold, 'queue', false)).wallMs);
          break;
        } catch (error) {
          // Run again, but never warm: a new remote and a new worker.
          if (!(error instanceof ViewRace) || attempt >= 4) throw error;
          raced.push(error.message);
          log(`queue: ${error.message}; run again with a new remote and worker`);
        }
      }
      await runCli(target!, warm, 'queue', false); // the worker's pool gets a worktree (the first run kept its own)
      into.warm.push((await runCli(target!, warm, 'queue', false)).wallMs);
    } finally {
      await worker?.stop();
    }
  };
  for (let r = 0; r < reps; r++) {
    if (r % 2 === 0) await localRuns();
    await queueRuns(r, 'empty', result.emptyRemote);
    await queueRuns(r, 'branch', result.branchRemote);
    if (r % 2 === 1) await localRuns();
    // The baseline: the same objects pushed to an empty bare repository, then fetched into an empty one.
    const rawRemote = await bareRemote(path.join(root, `raw-remote-${r}.git`));
    const rawClone = path.join(root, `raw-clone-${r}`);
    await mkdir(rawClone, { recursive: true });
    await git(rawClone, ['init', '--quiet']);
    let t0 = now();
    await git(repo.dir, ['push', '--quiet', '--no-verify', rawRemote, `+${repo.head}:refs/bench/base`]);
    result.rawPushMs.push(now() - t0);
    t0 = now();
    await git(rawClone, ['fetch', '--quiet', '--no-tags', rawRemote, '+refs/bench/base:refs/bench/base']);
    result.rawFetchMs.push(now() - t0);
    log(
      `queue first step ${r + 1}/${reps}: local fresh ${fmtMs(result.local.cold[r])}, pooled ${fmtMs(result.local.warm[r])}; ` +
        `empty remote first ${fmtMs(result.emptyRemote.cold[r])}, next ${fmtMs(result.emptyRemote.warm[r])}; ` +
        `remote with the branch first ${fmtMs(result.branchRemote.cold[r])}, next ${fmtMs(result.branchRemote.warm[r])}; ` +
        `raw push ${fmtMs(result.rawPushMs[r])}, fetch ${fmtMs(result.rawFetchMs[r])}`,
    );
  }
  return result;
}

function rows(s: Pick<QueueStudy, 'reps' | 'parallel' | 'sequential8' | 'sequential1' | 'raced'>, first: QueueStudy['first']): Row[] {
  const section = QUEUE_SECTION;
  const m = (x: readonly number[]) => median(x);
  const perStep = derived(s).perStepMs!;
  const perRun = derived(s).perRunMs!;
  const of = `median of ${s.reps}`;
  const par = { local: m(s.parallel.local), queue: m(s.parallel.queue) };
  const seq = { local: m(s.sequential8.local), queue: m(s.sequential8.queue) };
  const one = { local: m(s.sequential1.local), queue: m(s.sequential1.queue) };
  const out: Row[] = [
    {
      section,
      measurement: 'per step, sequential: queue (slope of the run wall from 1 to 8 steps)',
      value: fmtMs(perStep.queue),
      baseline: `local ${fmtMs(perStep.local)}`,
      ratio: perStep.ratio,
      target: 'report',
      note: `the queue adds ${fmtMs(perStep.addedMs)} per step; ${of} runs of each; ${WORKERS} workers × ${WORKER_CONCURRENCY}, loopback redis, a bare repository holding the branch as the remote`,
    },
    {
      section,
      measurement: '  added per step (queue − local)',
      value: fmtMs(perStep.addedMs),
    },
    {
      section,
      measurement: `8 × true, --sequential: queue, per step (run wall / 8)`,
      value: fmtMs(seq.queue / STEPS),
      baseline: `local ${fmtMs(seq.local / STEPS)}`,
      ratio: seq.queue / seq.local,
      note: `run walls, queue ${runsText(s.sequential8.queue)}; local ${runsText(s.sequential8.local)}`,
    },
    {
      section,
      measurement: '1 × true: queue, run wall (CLI start to exit)',
      value: fmtMs(one.queue),
      baseline: `local ${fmtMs(one.local)}`,
      ratio: one.queue / one.local,
      note: `the run's own cost beyond its steps (intercept): queue ${fmtMs(perRun.queue)}, local ${fmtMs(perRun.local)}, added ${fmtMs(perRun.addedMs)} (connect, check the remote, delete the run's refs at the end)`,
    },
    {
      section,
      measurement: `8 × true, max_parallel 8 (${WORKERS} workers × ${WORKER_CONCURRENCY}): queue, run wall`,
      value: fmtMs(par.queue),
      baseline: `local ${fmtMs(par.local)}`,
      ratio: par.queue / par.local,
      note: `the queue adds ${fmtMs(par.queue - par.local)} to a run of 8 steps at once (${fmtMs((par.queue - par.local) / STEPS)} per step); runs, queue ${runsText(s.parallel.queue)}; local ${runsText(s.parallel.local)}`,
    },
    {
      section,
      measurement: 'queue runs that failed only through the view race, run again (not counted)',
      value: `${s.raced.length}`,
      note:
        s.raced.length === 0
          ? undefined
          : 'StepQueue.view reads the job (Job.fromId), then its state: a job completing in between reads as completed with no result, and its step fails',
    },
  ];
  if (first) {
    const f = QUEUE_FIRST_SECTION;
    const local = { cold: m(first.local.cold), warm: m(first.local.warm) };
    const push = m(first.rawPushMs);
    const fetch = m(first.rawFetchMs);
    const of = `median of ${first.reps}, 1 × true`;
    const e = { cold: m(first.emptyRemote.cold), warm: m(first.emptyRemote.warm) };
    const b = { cold: m(first.branchRemote.cold), warm: m(first.branchRemote.warm) };
    out.push(
      {
        section: f,
        measurement: 'first step, empty remote, new worker (whole base pushed, fetched, checked out): queue',
        value: fmtMs(e.cold),
        baseline: `local, fresh checkout ${fmtMs(local.cold)}`,
        ratio: e.cold / local.cold,
        target: 'report',
        note: `${of}; queue ${runsText(first.emptyRemote.cold)}; local ${runsText(first.local.cold)}`,
      },
      {
        section: f,
        measurement: '  added by the queue to that first step',
        value: fmtMs(e.cold - local.cold),
        baseline: `raw push + fetch ${fmtMs(push + fetch)}`,
        ratio: (e.cold - local.cold) / (push + fetch),
        note: `raw git push of the commit to an empty bare repository ${runsText(first.rawPushMs)}; raw fetch of it into an empty repository ${runsText(first.rawFetchMs)}`,
      },
      {
        section: f,
        measurement: 'first step, remote already holding the branch, new worker (whole base fetched): queue',
        value: fmtMs(b.cold),
        baseline: `local, fresh checkout ${fmtMs(local.cold)}`,
        ratio: b.cold / local.cold,
        note: `added ${fmtMs(b.cold - local.cold)} (raw fetch ${fmtMs(fetch)}); queue ${runsText(first.branchRemote.cold)}`,
      },
      {
        section: f,
        measurement: 'next run, remote holding the branch (worker has the objects, worktree pooled): queue',
        value: fmtMs(b.warm),
        baseline: `local, pooled ${fmtMs(local.warm)}`,
        ratio: b.warm / local.warm,
        note: `added ${fmtMs(b.warm - local.warm)}; queue ${runsText(first.branchRemote.warm)}; local ${runsText(first.local.warm)}`,
      },
      {
        section: f,
        measurement: 'next run, the remote that held nothing: queue',
        value: fmtMs(e.warm),
        baseline: `local, pooled ${fmtMs(local.warm)}`,
        ratio: e.warm / local.warm,
        note: `added ${fmtMs(e.warm - local.warm)}; the run's refs are deleted when it ends, so the remote advertises no ref and the next push sends the whole base again; queue ${runsText(first.emptyRemote.warm)}`,
      },
    );
  }
  return out;
}
