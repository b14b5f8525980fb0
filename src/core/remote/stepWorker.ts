import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import * as z from 'zod/mini';
import { stopProcessesOf } from '../process/stepProcesses';
import path from 'node:path';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Git } from '../git/git';
import { openRepository, type Repository } from '../git/repository';
import { Worktrees } from '../git/worktrees';
import { runStep, type StepOutcome } from '../run/stepRunner';
import { runRef } from '../run/stateDir';
import { DEFAULT_SANDBOX_WRITABLE, EffectiveSettingsSchema, sandboxFolders, withSandboxSupport } from '../run/settings';
import { poolDisk } from '../setup/dependencyStore';
import { secretValuesOf } from '../setup/resolvePlan';
import { errorMessage, TappsError } from '../util/errors';
import { describeOwner, Lock, LockBusyError } from '../util/lock';
import type { Step, Workflow } from '../workflow/schema';
import type { QueueAddress } from './queueUrl';
import {
  CANCEL_CHANNEL,
  CancelMessageSchema,
  cancelKey,
  JOB_VERSION,
  QUEUE_NAME,
  StepJobSchema,
  type JobProgress,
  type JobResult,
  type StepJob,
} from './stepJob';
import { fetchCommit, pushCommit, resultRefOf, type TeamRemote } from './teamRemote';

export interface WorkerOptions {
  readonly queue: QueueAddress;
  readonly remote: TeamRemote;
  /** The worker's own folder: its clone (`repo/`), worktrees and logs. */
  readonly dir: string;
  /** Steps run at once, 1 to 8. */
  readonly concurrency: number;
  readonly name: string;
  /** How long a step's job stays taken without the worker renewing it; a dead worker's step is retried about this long after it died. */
  readonly lockSeconds: number;
  /** Says what the worker does, one line at a time. */
  readonly say: (line: string) => void;
}

/** How often a running step's new log lines go to its job. */
const LOG_FLUSH_MS = 250;

/**
 * `tapps-flow worker`: takes step jobs from the queue and runs each with the same code as a local
 * step (`runStep`: setup, agent, capture, containment, timeout), in a pooled worktree of its own
 * clone, whose objects come from the team remote. It holds no state a run needs: a worker that
 * dies loses only the steps it was running, which the queue gives to another worker.
 */
export class StepWorker {
  private readonly controllers = new Map<string, AbortController>();
  /** How many steps of each run this worker is running: a run's refs in the clone go with its last. */
  private readonly runs = new Map<string, number>();
  /** Fetches into the clone one at a time: steps of one run share their base's ref. */
  private fetching: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly o: WorkerOptions,
    private readonly repo: Repository,
    private readonly worker: Worker,
    private readonly subscriber: Redis,
    private readonly client: Redis,
    private readonly folder: Lock,
  ) {}

  static async start(o: WorkerOptions): Promise<StepWorker> {
    const folder = await holdFolder(o.dir, o.name);
    try {
      return await StepWorker.startIn(o, folder);
    } catch (error) {
      await folder.release();
      throw error;
    }
  }

  private static async startIn(o: WorkerOptions, folder: Lock): Promise<StepWorker> {
    const repoDir = path.join(o.dir, 'repo');
    if (!existsSync(path.join(repoDir, '.git'))) {
      await mkdir(repoDir, { recursive: true });
      await new Git(repoDir).run(['init', '--quiet', repoDir]);
    }
    const repo = await openRepository(repoDir);
    await sweepLeftRunning(path.join(o.dir, 'running'), o.say);
    const subscriber = new Redis({ ...o.queue.options });
    const client = new Redis({ ...o.queue.options, maxRetriesPerRequest: 1 });
    for (const c of [subscriber, client]) c.on('error', () => undefined);
    const taken: { self?: StepWorker } = {};
    const worker = new Worker(QUEUE_NAME, (job: Job) => taken.self!.process(job), {
      connection: o.queue.options,
      name: o.name,
      concurrency: o.concurrency,
      lockDuration: o.lockSeconds * 1000,
      stalledInterval: o.lockSeconds * 1000,
      // A stalled step fails at once: the run that queued it decides whether another attempt goes
      // to another worker (one job per attempt, each recorded).
      maxStalledCount: 0,
      autorun: false,
    });
    // A queue that is gone is retried every second: said once, then every minute while it lasts.
    let said = { message: '', at: 0 };
    worker.on('error', (error) => {
      const message = errorMessage(error);
      if (message === said.message && Date.now() - said.at < 60_000) return;
      said = { message, at: Date.now() };
      o.say(`the queue at ${o.queue.display} does not answer (${message}); trying again`);
    });
    const self = new StepWorker(o, repo, worker, subscriber, client, folder);
    taken.self = self;
    await subscriber.subscribe(CANCEL_CHANNEL);
    subscriber.on('message', (_channel, message) => self.onCancel(message));
    void worker.run();
    await worker.waitUntilReady();
    return self;
  }

  /** Stops taking steps; the steps it runs finish first. */
  async close(): Promise<void> {
    await this.worker.close();
    this.subscriber.disconnect();
    this.client.disconnect();
    await this.folder.release();
  }

  private onCancel(message: string): void {
    let parsed;
    try {
      parsed = CancelMessageSchema.safeParse(JSON.parse(message));
    } catch {
      return;
    }
    if (parsed.success) this.controllers.get(parsed.data.jobId)?.abort(parsed.data.reason);
  }

  private async process(job: Job): Promise<JobResult> {
    const parsed = StepJobSchema.safeParse(job.data);
    if (!parsed.success)
      throw new Error(`its job is not a step of this version (${JOB_VERSION}) of Tapps Flow: ${issueText(parsed.error.issues[0])}`);
    const data = parsed.data;
    const jobId = job.id!;
    const what = `step ${data.key} of run ${data.runId} (attempt ${data.attempt})`;
    const controller = new AbortController();
    this.controllers.set(jobId, controller);
    this.runs.set(data.runId, (this.runs.get(data.runId) ?? 0) + 1);
    const cancelled = async () => {
      const reason = await this.client.get(cancelKey(jobId)).catch(() => null);
      if (reason) controller.abort(reason);
    };
    await cancelled();
    const watch = setInterval(() => void cancelled(), 2_000);
    const started = Date.now();
    this.o.say(`${what}: taken`);
    const logFile = path.join(this.o.dir, 'logs', `${jobId}.txt`);
    const tail = new LogTail(logFile, (text) => job.log(text));
    try {
      const outcome = await this.run(job, data, logFile, controller.signal, tail);
      const result = await this.answer(data, outcome);
      this.o.say(`${what}: ${outcome.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return result;
    } catch (error) {
      this.o.say(`${what}: could not run: ${errorMessage(error)}`);
      throw error instanceof Error ? error : new Error(String(error));
    } finally {
      clearInterval(watch);
      this.controllers.delete(jobId);
      await tail.stop();
      await rm(logFile, { force: true });
      await this.letGoOf(data.runId);
    }
  }

  /** After a run's last step here: its refs in the clone are deleted (its objects then go with git's gc). */
  private async letGoOf(runId: string): Promise<void> {
    const left = (this.runs.get(runId) ?? 1) - 1;
    if (left > 0) return void this.runs.set(runId, left);
    this.runs.delete(runId);
    const refs = (await this.repo.git.run(['for-each-ref', '--format=%(refname)', `${runRef(runId)}/`]).catch(() => ''))
      .split('\n')
      .filter(Boolean);
    if (refs.length > 0)
      await this.repo.git.run(['update-ref', '--stdin'], { input: refs.map((r) => `delete ${r}\n`).join('') }).catch(() => undefined);
  }

  private async run(job: Job, data: StepJob, logFile: string, signal: AbortSignal, tail: LogTail): Promise<StepOutcome> {
    const fetched = this.fetching.then(() => fetchCommit(this.repo.git, this.o.remote, data.base.ref, signal));
    this.fetching = fetched.catch(() => undefined);
    const base = await fetched;
    if (base !== data.base.commit)
      throw new Error(`the remote's ${data.base.ref} is ${base.slice(0, 10)}, not the step's base ${data.base.commit.slice(0, 10)}`);
    const tree = await this.repo.git.line(['rev-parse', `${base}^{tree}`]);
    if (tree !== data.base.tree) throw new Error(`the base ${base.slice(0, 10)} does not hold the tree its job names`);
    const root = path.join(this.o.dir, 'worktrees');
    const given = EffectiveSettingsSchema.safeParse({
      ...data.settings,
      worktreeRoot: root,
      sandboxWritable: sandboxFolders(DEFAULT_SANDBOX_WRITABLE),
      isolationFallback: undefined,
    });
    if (!given.success) throw new Error(`its job's settings are not ones Tapps Flow gives: ${issueText(given.error.issues[0])}`);
    const settings = withSandboxSupport(given.data);
    const worktrees = new Worktrees(this.repo, data.runId, {
      root,
      poolSize: this.o.concurrency,
      poolDisk: poolDisk(root, settings.poolMaxMb),
    });
    // What the setup copies or links comes from this worker's folder (`repo/`): never through the queue.
    const here = (p: { path: string }) => existsSync(path.join(this.repo.root, ...p.path.split('/')));
    const plan = { ...data.setup, copy: data.setup.copy.filter(here), symlink: data.setup.symlink.filter(here) };
    const state: JobProgress = { worker: this.o.name, worktree: '' };
    const running = path.join(this.o.dir, 'running', `${job.id}.json`);
    // Sent in order, and all of it before the job's answer: the last progress of a quick step is not lost.
    let sent: Promise<void> = Promise.resolve();
    const report = (patch: Partial<JobProgress>) => {
      Object.assign(state, patch);
      const value = { ...state };
      sent = sent.then(() => job.updateProgress(value)).catch(() => undefined);
    };
    // The tag of its processes, kept before the first starts and until the step ends: a worker
    // started after this one died finds what it left. Whole or not at all (written, then renamed).
    const keepTag = (token: string) => {
      writeFileSync(`${running}.new`, JSON.stringify({ runId: data.runId, stepId: data.key, token }));
      renameSync(`${running}.new`, running);
    };
    await mkdir(path.dirname(running), { recursive: true });
    await tail.start();
    try {
      return await runStep({
        repo: this.repo,
        runId: data.runId,
        workflow: { id: data.workflow.id, agents: data.workflow.agents, steps: [] } as unknown as Workflow,
        step: data.step as unknown as Step,
        ...(data.key === data.step.id ? {} : { worktreeKey: data.key }),
        stepBase: { commit: base, tree, time: data.base.time },
        worktrees,
        settings,
        logFile,
        configuredAgents: data.configuredAgents,
        signal,
        setup: { plan, secretValues: await secretValuesOf(this.repo.root, plan) },
        onSettingUp: (s) =>
          report({
            worktree: s.worktree,
            setup: { count: (state.setup?.count ?? 0) + 1, ...(s.command === undefined ? {} : { command: s.command, origin: s.origin }) },
          }),
        onStarted: (s) => report({ worktree: s.worktree, started: { confinement: s.confinement } }),
        onTagged: keepTag,
        onProgress: (p) =>
          report({ progress: { count: (state.progress?.count ?? 0) + 1, percent: p.percent, message: p.message.slice(0, 2000) } }),
      });
    } finally {
      await sent;
      await worktrees.settled().catch(() => undefined);
      await rm(running, { force: true });
      await rm(`${running}.new`, { force: true });
    }
  }

  /** The job's answer: a result is pushed to the team remote first, then named by its id. */
  private async answer(data: StepJob, outcome: StepOutcome): Promise<JobResult> {
    const worker = this.o.name;
    const lines = (l: readonly string[]) => l.slice(-100).map((x) => x.slice(0, 10_000));
    switch (outcome.status) {
      case 'succeeded': {
        await pushCommit(this.repo.git, this.o.remote, outcome.capture.commit, resultRefOf(data.runId, data.key));
        const submoduleWrites = outcome.capture.submoduleWrites.map((w) => ({ ...w, files: [...w.files] }));
        return {
          worker,
          outcome: {
            status: 'succeeded',
            commit: outcome.capture.commit,
            tree: outcome.capture.tree,
            warnings: [...outcome.warnings],
            submoduleWrites,
          },
        };
      }
      case 'failed':
        return {
          worker,
          outcome: {
            status: 'failed',
            error: outcome.error.slice(0, 10_000),
            exitCode: outcome.exitCode,
            lastLines: lines(outcome.lastLines),
          },
        };
      case 'timed_out':
        return { worker, outcome: { status: 'timed_out', error: outcome.error.slice(0, 10_000), lastLines: lines(outcome.lastLines) } };
      case 'cancelled':
        return { worker, outcome: { status: 'cancelled', reason: outcome.reason } };
    }
  }
}

/**
 * The worker's folder, held while it runs. A second worker in it would take the tags of the first
 * one's running steps for ones left by a dead worker, and stop them; and they would share a clone.
 */
async function holdFolder(dir: string, name: string): Promise<Lock> {
  try {
    return await Lock.acquire(path.join(dir, 'worker'), `the worker ${name}`);
  } catch (error) {
    if (!(error instanceof LockBusyError)) throw error;
    throw new TappsError(
      'worker-folder-busy',
      `the folder ${dir} is in use by another worker, ${describeOwner(error.owner)}; give each worker a folder of its own (--dir, or a --name of its own)`,
    );
  }
}

/**
 * Stops what the steps of a worker that died left running (their tags, kept in `running/`): a step
 * whose processes are not kept together by the kernel (no bubblewrap) outlives its worker.
 */
async function sweepLeftRunning(dir: string, say: (line: string) => void): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, name);
    const tag = LeftRunningSchema.safeParse(await readFile(file, 'utf8').then(parsedOrNothing, () => undefined));
    if (tag.success && (await stopProcessesOf({ tag: tag.data }, 1_000)) > 0)
      say(`stopped the processes step ${tag.data.stepId} of run ${tag.data.runId} left running when this worker last stopped`);
    await rm(file, { force: true });
  }
}

function parsedOrNothing(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // not one this worker wrote whole: nothing to stop by it
  }
}

const LeftRunningSchema = z.object({ runId: z.string(), stepId: z.string(), token: z.string().check(z.regex(/^[0-9a-f]{32}$/)) });

/** Sends what a step's log file gains to its job, every LOG_FLUSH_MS: whole lines, in order. */
class LogTail {
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly send: (text: string) => Promise<unknown>,
  ) {}

  async start(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    this.timer = setInterval(() => void this.flush(false), LOG_FLUSH_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush(true);
  }

  private flush(last: boolean): Promise<void> {
    this.sending = this.sending.then(async () => {
      const handle = await open(this.file, 'r').catch(() => undefined);
      if (!handle) return;
      try {
        const { size } = await handle.stat();
        if (size > this.offset) {
          const buffer = Buffer.alloc(size - this.offset);
          await handle.read(buffer, 0, buffer.length, this.offset);
          this.offset = size;
          this.partial += buffer.toString('utf8');
        }
      } finally {
        await handle.close();
      }
      const end = last ? this.partial.length : this.partial.lastIndexOf('\n') + 1;
      const text = this.partial.slice(0, end).replace(/\n$/, '');
      this.partial = this.partial.slice(end);
      if (text !== '') await this.send(text).catch(() => undefined);
    });
    return this.sending;
  }
}

function issueText(issue: { readonly path: readonly PropertyKey[]; readonly message: string } | undefined): string {
  return issue ? `${issue.path.map(String).join('.') || 'the job'}: ${issue.message}` : 'unreadable';
}
