import { setTimeout as sleep } from 'node:timers/promises';

/** How `waitFor` polls. */
export interface PollOptions {
  /** Gives up after this long. @default 30000 */
  readonly timeoutMs?: number;
  /** Pause between two probes. @default 50 */
  readonly intervalMs?: number;
  /** What the failure message shows of the state last seen. */
  readonly describe?: () => string;
}

/**
 * Polls `probe` until it returns something other than `undefined` or `false`, and returns that.
 * The tests wait on real conditions this way, never on a fixed delay; a timeout says what was
 * awaited and what was seen last.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: PollOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 50, describe } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const seen = describe ? `; last seen: ${describe()}` : '';
      const failed = lastError
        ? `; the last probe threw: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`
        : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${seen}${failed}`);
    }
    await sleep(intervalMs);
  }
}
