import { hostname, homedir } from 'node:os';
import path from 'node:path';
import { queueAddress } from '../core/remote/queueUrl';
import { teamRemote } from '../core/remote/teamRemote';
import { WorkerName } from '../core/state/events';
import { TappsError } from '../core/util/errors';

export interface WorkerFlags {
  readonly queue?: string;
  readonly remote?: string;
  readonly concurrency?: string;
  readonly name?: string;
  readonly dir?: string;
  readonly lockSeconds?: string;
}

/**
 * `tapps-flow worker`: runs steps that runs queued (runner "queue") until stopped. The first
 * SIGINT/SIGTERM stops taking steps and lets the running ones finish (a container's stop grace);
 * a second leaves at once, and the queue gives those steps to another worker.
 */
export async function workerCommand(flags: WorkerFlags): Promise<number> {
  const queue = queueAddress(flags.queue);
  const remoteUrl = flags.remote ?? process.env.TAPPS_QUEUE_REMOTE;
  if (!remoteUrl)
    throw new TappsError('usage', 'a worker needs the team remote its steps travel through: --remote URL (or TAPPS_QUEUE_REMOTE)');
  const concurrency = whole(flags.concurrency, '--concurrency', 1, 8, 1);
  const lockSeconds = whole(flags.lockSeconds, '--lock-seconds', 2, 600, 30);
  const name = flags.name ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._@:-]/g, '-');
  if (!WorkerName.safeParse(name).success)
    throw new TappsError('usage', `--name expects a name of letters, digits and ._@:- (at most 100), got "${name}"`);
  const dir = path.resolve(flags.dir ?? path.join(homedir(), '.cache', 'tapps-flow', 'worker', name));
  const remote = teamRemote(remoteUrl);
  const say = (line: string) => process.stdout.write(`${new Date().toISOString()} worker ${name}: ${line}\n`);
  const { StepWorker } = await import('../core/remote/stepWorker'); // the queue's client, loaded for this command only
  const worker = await StepWorker.start({ queue, remote, dir, concurrency, name, lockSeconds, say });
  say(`ready: taking steps from ${queue.display}, up to ${concurrency} at once, through ${remote.display}; working in ${dir}`);
  await new Promise<void>((resolve) => {
    let signals = 0;
    const stop = (signal: string) => {
      signals += 1;
      if (signals > 1) process.exit(130);
      say(`${signal}: taking no more steps; the running ones finish first (again to leave at once)`);
      void worker.close().then(resolve, resolve);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  say('stopped');
  return 0;
}

function whole(raw: string | undefined, flag: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new TappsError('usage', `${flag} expects a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}
