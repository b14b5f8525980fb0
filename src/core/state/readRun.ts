import { readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { RunEventSchema, type RunEvent } from './events';
import { migrateSnapshot } from './migrate';
import { reduce, type RunSnapshot } from './snapshot';

export interface LoadedRun {
  readonly dir: string;
  readonly snapshot: RunSnapshot;
  readonly events: readonly RunEvent[];
  /** What was recovered from, for the user: a torn line, a corrupt snapshot, a migration. */
  readonly warnings: readonly string[];
}

export interface ReadOptions {
  /** Cut a torn last line off `events.jsonl` so that appending can go on (only the run's writer may). */
  readonly repair?: boolean;
}

/**
 * Reads a run from its folder. The events are the source of truth; `state.json` is used only when
 * there are none (an older run). Damage is recovered from with a warning, never fatal while
 * anything intact remains.
 */
export async function readRun(dir: string, options: ReadOptions = {}): Promise<LoadedRun> {
  const warnings: string[] = [];
  const eventsFile = path.join(dir, 'events.jsonl');
  const raw = await readFile(eventsFile).catch(() => undefined);
  const events: RunEvent[] = [];
  if (raw && raw.length > 0) {
    const text = raw.toString('utf8');
    const complete = text.endsWith('\n') ? text.length : text.lastIndexOf('\n') + 1;
    if (complete < text.length) {
      warnings.push(
        `events.jsonl ended in a torn line (its writer stopped mid-write); the ${text.length - complete} byte(s) after the last complete event were ignored`,
      );
      if (options.repair) await truncate(eventsFile, Buffer.byteLength(text.slice(0, complete)));
    }
    text
      .slice(0, complete)
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() === '') return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          warnings.push(`events.jsonl line ${i + 1} is not JSON; skipped`);
          return;
        }
        const event = RunEventSchema.safeParse(parsed);
        if (event.success) events.push(event.data);
        else warnings.push(`events.jsonl line ${i + 1} is not a known event (${event.error.issues[0]?.message ?? 'invalid'}); skipped`);
      });
  }
  let snapshot: RunSnapshot | undefined;
  for (const event of events) {
    try {
      snapshot = reduce(snapshot, event);
    } catch (error) {
      warnings.push(`event ${event.seq} could not be applied: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const stateFile = path.join(dir, 'state.json');
  if (!snapshot) {
    const stateText = await readFile(stateFile, 'utf8').catch(() => undefined);
    if (stateText === undefined) throw new Error(`${dir} holds no run: neither events.jsonl nor state.json is readable`);
    try {
      snapshot = migrateSnapshot(JSON.parse(stateText), path.resolve(dir, '..', '..', '..'));
      if (snapshot.lastSeq < 0) warnings.push('state.json is of an older version; loaded through its migration');
    } catch (error) {
      throw new Error(
        `${dir}: events.jsonl is missing and state.json is unreadable (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  } else {
    const stateText = await readFile(stateFile, 'utf8').catch(() => undefined);
    if (stateText === undefined) warnings.push('state.json was missing; rebuilt from events.jsonl');
    else {
      try {
        JSON.parse(stateText);
      } catch {
        warnings.push('state.json was corrupt; rebuilt from events.jsonl');
      }
    }
  }
  return { dir, snapshot, events, warnings };
}
