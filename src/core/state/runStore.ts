import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Emitter } from '../util/emitter';
import { writeFileAtomic } from './atomicWrite';
import { RunEventSchema, type NewRunEvent, type RunEvent } from './events';
import { reduce, type RunSnapshot } from './snapshot';

export interface RunStoreOptions {
  /** The clock; injected so that tests and replays control time. @default () => new Date() */
  readonly now?: () => Date;
  /** The shortest time between two snapshot writes outside terminal events. @default 500 */
  readonly snapshotIntervalMs?: number;
  /** The writer's lock: nothing is appended or written once it is lost (see `RunWriter`). */
  readonly guard?: { assertHeld(): void };
}

const TERMINAL_EVENTS = new Set<RunEvent['type']>([
  'step_succeeded',
  'step_failed',
  'step_timed_out',
  'step_cancelled',
  'step_skipped',
  'aggregate_made',
  'run_finished',
  'run_started',
]);

/**
 * The one writer of a run's state: every event is numbered, validated, applied to the in-memory
 * snapshot and queued for `events.jsonl` in call order, so steps finishing in the same instant lose
 * and reorder nothing. `state.json` is rewritten at most every `snapshotIntervalMs`, and at once
 * after every terminal event.
 */
export class RunStore {
  private seq: number;
  private current: RunSnapshot | undefined;
  private pendingLines: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  private snapshotTimer: NodeJS.Timeout | undefined;
  private snapshotDirty = false;
  private failure: Error | undefined;
  private readonly changed = new Emitter<RunEvent>();
  /** Fires after each event has been applied to the snapshot (before it reaches the disk). */
  readonly onDidAppend = this.changed.event;

  constructor(
    readonly dir: string,
    private readonly options: RunStoreOptions = {},
    resumeFrom?: { snapshot: RunSnapshot; lastSeq: number },
  ) {
    this.current = resumeFrom?.snapshot;
    this.seq = resumeFrom ? resumeFrom.lastSeq + 1 : 0;
  }

  get eventsFile(): string {
    return path.join(this.dir, 'events.jsonl');
  }

  get stateFile(): string {
    return path.join(this.dir, 'state.json');
  }

  get snapshot(): RunSnapshot {
    if (!this.current) throw new Error('the run has not started');
    return this.current;
  }

  /** Numbers, validates and records an event; returns it as recorded. */
  append(event: NewRunEvent): RunEvent {
    this.options.guard?.assertHeld();
    const full = RunEventSchema.parse({ ...event, seq: this.seq, time: (this.options.now?.() ?? new Date()).toISOString() });
    this.seq += 1;
    this.current = reduce(this.current, full);
    this.pendingLines.push(JSON.stringify(full));
    this.snapshotDirty = true;
    const terminal = TERMINAL_EVENTS.has(full.type);
    this.schedule(terminal);
    this.changed.fire(full);
    return full;
  }

  /** Resolves when everything appended so far is on disk; rethrows a write failure. */
  async flush(): Promise<void> {
    this.schedule(true);
    await this.writing;
    if (this.failure !== undefined) throw this.failure;
  }

  dispose(): void {
    clearTimeout(this.snapshotTimer);
    this.changed.dispose();
  }

  private schedule(snapshotNow: boolean): void {
    if (snapshotNow) {
      clearTimeout(this.snapshotTimer);
      this.snapshotTimer = undefined;
      this.chain(true);
    } else {
      this.chain(false);
      this.snapshotTimer ??= setTimeout(() => {
        this.snapshotTimer = undefined;
        this.chain(true);
      }, this.options.snapshotIntervalMs ?? 500);
    }
  }

  /** Serialises all writes: one append of every pending line, then the snapshot if asked. */
  private chain(withSnapshot: boolean): void {
    this.writing = this.writing.then(async () => {
      try {
        this.options.guard?.assertHeld();
        if (this.pendingLines.length > 0) {
          const lines = this.pendingLines;
          this.pendingLines = [];
          await mkdir(this.dir, { recursive: true });
          await appendFile(this.eventsFile, `${lines.join('\n')}\n`);
        }
        if (withSnapshot && this.snapshotDirty && this.current) {
          this.snapshotDirty = false;
          await writeFileAtomic(this.stateFile, `${JSON.stringify(this.current, null, 2)}\n`);
        }
      } catch (error) {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      }
    });
  }
}
