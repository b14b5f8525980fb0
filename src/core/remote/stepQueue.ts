import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { TappsError, errorMessage } from '../util/errors';
import type { QueueAddress } from './queueUrl';
import { CANCEL_CHANNEL, cancelKey, QUEUE_NAME, type StepJob } from './stepJob';

/** How long one call to the queue may take before it counts as failed. */
const CALL_TIMEOUT_MS = 5_000;
/** How long a kept cancel request waits for a worker to look (a day). */
const CANCEL_KEPT_SECONDS = 24 * 3600;

/** A job as the run follows it: where it is, and what its worker said so far. */
export interface JobView {
  readonly state: string;
  readonly progress: unknown;
  readonly returnvalue: unknown;
  readonly failedReason: string | undefined;
  /** The worker that took it (BullMQ's `processedBy`). */
  readonly processedBy: string | undefined;
}

/**
 * The run's side of the queue: adds one job per step attempt, reads each job's state, progress and
 * log lines, and publishes cancel requests. Every call is bounded in time: a queue that stops
 * answering fails the call, and the caller (runRemoteStep) decides when the queue is lost.
 */
export class StepQueue {
  private constructor(
    readonly address: QueueAddress,
    private readonly queue: Queue,
    private readonly client: Redis,
  ) {}

  /** Connects; a queue that does not answer is refused before the run writes anything. */
  static async open(address: QueueAddress): Promise<StepQueue> {
    const client = new Redis({ ...address.options, maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: true });
    client.on('error', () => undefined); // reported through the calls that fail
    try {
      await bounded(
        client.connect().then(() => client.ping()),
        10_000,
      );
    } catch (error) {
      client.disconnect();
      throw new TappsError(
        'queue-unreachable',
        `The queue at ${address.display} does not answer (${reasonOf(error)}). Start it, or check its address and password (--queue, TAPPS_QUEUE_URL or tappsFlow.queueUrl; TAPPS_QUEUE_PASSWORD), then try again.`,
      );
    }
    const queue = new Queue(QUEUE_NAME, { connection: { ...address.options, maxRetriesPerRequest: 1 } });
    queue.on('error', () => undefined);
    return new StepQueue(address, queue, client);
  }

  /** Queues one attempt of a step. */
  async add(jobId: string, job: StepJob): Promise<void> {
    await bounded(
      this.queue.add('step', job, {
        jobId,
        attempts: 1,
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      }),
    );
  }

  /** Where a job is now; undefined when the queue no longer has it. */
  async view(jobId: string): Promise<JobView | undefined> {
    return bounded(
      (async () => {
        // The state first: a job read as completed (or failed) then holds its answer when it is read.
        const state = await this.queue.getJobState(jobId);
        const job = await Job.fromId(this.queue, jobId);
        if (!job || state === 'unknown') return undefined;
        return {
          state,
          progress: job.progress,
          returnvalue: job.returnvalue as unknown,
          failedReason: job.failedReason || undefined,
          processedBy: job.processedBy,
        };
      })(),
    );
  }

  /**
   * Whether a worker holds the job's lock: one that took it renews the lock while it lives, and an
   * active job whose lock lapsed has a dead worker (what BullMQ's stalled check looks for; the
   * run looks too, so that it does not depend on another worker being there to look).
   */
  async lockHeld(jobId: string): Promise<boolean> {
    return (await bounded(this.client.exists(`${this.queue.toKey(jobId)}:lock`))) === 1;
  }

  /** The job's log lines from `from` on. */
  async logs(jobId: string, from: number): Promise<string[]> {
    const { logs } = await bounded(this.queue.getJobLogs(jobId, from, from + 499, true));
    return logs;
  }

  /** Asks the worker that has the job (or will take it) to stop it: kept, and published. */
  async cancel(jobId: string, reason: string): Promise<void> {
    const message = JSON.stringify({ jobId, reason });
    await bounded(this.client.set(cancelKey(jobId), reason, 'EX', CANCEL_KEPT_SECONDS));
    await bounded(this.client.publish(CANCEL_CHANNEL, message));
    // One still waiting is taken by no one.
    await bounded(this.queue.remove(jobId)).catch(() => 0);
  }

  /** Lets go of the connections, without waiting on a queue that does not answer. */
  async close(): Promise<void> {
    await bounded(this.queue.close(), 2_000).catch(() => this.queue.disconnect());
    this.client.disconnect();
  }
}

/** `promise`, or a rejection once `ms` passed. */
export function bounded<T>(promise: Promise<T>, ms = CALL_TIMEOUT_MS): Promise<T> {
  promise.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function reasonOf(error: unknown): string {
  const message = errorMessage(error);
  return /ECONNREFUSED/.test(message) ? 'connection refused' : message.replace(/\s+/g, ' ').slice(0, 300);
}
