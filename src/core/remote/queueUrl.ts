import type { RedisOptions } from 'ioredis';
import { TappsError } from '../util/errors';

/**
 * Where the queue of the `queue` runner is: a Redis server, as `redis://[user:password@]host[:port][/db]`
 * or `rediss://…` for TLS. The password may instead come from `TAPPS_QUEUE_PASSWORD`, so that it
 * need not stand in a settings file. Never recorded in a run's state, never put in a job.
 */
export interface QueueAddress {
  /** The address without credentials: what messages show. */
  readonly display: string;
  readonly options: RedisOptions;
}

/** Where each piece of the queue's address can be given, for messages. */
export const QUEUE_URL_SOURCES = '--queue, TAPPS_QUEUE_URL or tappsFlow.queueUrl';

/** The queue's address from a URL; a malformed one is refused with what was expected. */
export function queueAddress(url: string | undefined, env: NodeJS.ProcessEnv = process.env): QueueAddress {
  const raw = (url ?? env.TAPPS_QUEUE_URL ?? '').trim();
  if (raw === '')
    throw new TappsError(
      'queue-not-set',
      `The steps are to run through a queue (runner "queue"), and no queue is set: give its address (redis://host:6379) with ${QUEUE_URL_SOURCES}, or run with --runner local.`,
    );
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw badUrl(raw, 'it is not a URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw badUrl(raw, `its scheme is "${parsed.protocol.replace(/:$/, '')}"`);
  if (parsed.hostname === '') throw badUrl(raw, 'it names no host');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d{0,2}$/.test(dbText) || !Number.isInteger(db)) throw badUrl(raw, `its database "${dbText}" is not a number`);
  const password = parsed.password !== '' ? decodeURIComponent(parsed.password) : env.TAPPS_QUEUE_PASSWORD || undefined;
  const username = parsed.username !== '' ? decodeURIComponent(parsed.username) : undefined;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const tls = parsed.protocol === 'rediss:';
  return {
    display: `${parsed.protocol}//${parsed.host}${db === 0 ? '' : `/${db}`}`,
    options: {
      host,
      port,
      db,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(tls ? { tls: { servername: host } } : {}),
      connectTimeout: 10_000,
      // The queue's own clients block (workers, events): BullMQ asks for no retry limit.
      maxRetriesPerRequest: null,
      // A lost server is retried every second at most; the engine decides when it is lost (see StepQueue).
      retryStrategy: (times: number) => Math.min(times * 200, 1_000),
      lazyConnect: false,
    },
  };
}

function badUrl(raw: string, why: string): TappsError {
  const shown = raw.replace(/\/\/[^@/]*@/, '//…@');
  return new TappsError(
    'queue-not-set',
    `The queue's address "${shown}" cannot be used: ${why}. Expected redis://[user:password@]host[:port][/db], or rediss://… for TLS (${QUEUE_URL_SOURCES}).`,
  );
}
