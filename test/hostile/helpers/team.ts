import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from '../../unit/helpers/cli';
import type { TempRepo } from '../../unit/helpers/tempRepo';
import { waitFor } from '../../unit/helpers/wait';
import { freePort } from '../../unit/helpers/ports';

/**
 * What the `queue` runner's tests stand up, as a team would have it: a real `redis-server` on a
 * loopback port, a bare repository as the team remote (the test repository's `origin`), and
 * worker processes (`tapps-flow worker`), each with a folder and clone of its own, as two machines
 * would have.
 */
export class Team {
  readonly workers = new Map<string, WorkerProcess>();
  private redis: ChildProcess | undefined;

  private constructor(
    readonly repo: TempRepo,
    readonly port: number,
    readonly remote: string,
  ) {}

  /** Redis started, and the bare remote made and set as the repository's `origin`. */
  static async start(repo: TempRepo): Promise<Team> {
    const remote = path.join(repo.root, 'team.git');
    execFileSync('git', ['init', '-q', '--bare', remote]);
    repo.git(['remote', 'add', 'origin', remote]);
    const team = new Team(repo, await freePort(), remote);
    await team.startRedis();
    return team;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The flags a run or resume through this team's queue takes. */
  get flags(): string[] {
    return ['--runner', 'queue', '--queue', this.url];
  }

  /** Starts redis-server (again, after `stopRedis`) on the team's port, holding nothing. */
  async startRedis(): Promise<void> {
    const dir = path.join(this.repo.root, 'redis');
    mkdirSync(dir, { recursive: true });
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      {
        stdio: 'ignore',
      },
    );
    this.redis = child;
    await waitFor(`redis-server on port ${this.port}`, () => portAnswers(this.port), 15_000);
  }

  /** Stops redis-server at once (SIGKILL: no shutdown handshake with its clients). */
  async stopRedis(): Promise<void> {
    const child = this.redis;
    this.redis = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** The folder of the worker of that name. */
  workerDir(name: string): string {
    return path.join(this.repo.root, 'workers', name);
  }

  /** The CLI's arguments for a worker of this team: its name, and its folder (its own by default). */
  workerArgs(name: string, dir = this.workerDir(name)): string[] {
    return ['worker', '--queue', this.url, '--remote', this.remote, '--name', name, '--dir', dir];
  }

  /** Starts a worker; resolves once it says it is ready. */
  async startWorker(name: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
    const child = spawn(process.execPath, [CLI, ...this.workerArgs(name), '--lock-seconds', '2', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const worker = new WorkerProcess(name, child);
    this.workers.set(name, worker);
    await waitFor(
      `worker ${name} to be ready`,
      () => worker.output.includes('ready:') || (child.exitCode !== null && 'exited'),
      20_000,
    ).then((v) => {
      if (v === 'exited') throw new Error(`worker ${name} exited: ${worker.output}`);
    });
    return worker;
  }

  /** Refs the remote holds under the run's namespace. */
  remoteRefs(runId: string): string[] {
    return execFileSync('git', ['--git-dir', this.remote, 'for-each-ref', '--format=%(refname)', `refs/tapps-flow/runs/${runId}/`])
      .toString()
      .split('\n')
      .filter(Boolean);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.kill('SIGKILL')));
    await this.stopRedis();
  }
}

/** A `tapps-flow worker` process and what it printed. */
export class WorkerProcess {
  output = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal);
    await exited;
  }
}

async function portAnswers(port: number): Promise<boolean> {
  try {
    execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe', timeout: 2_000 });
    return true;
  } catch {
    await sleep(50);
    return false;
  }
}
