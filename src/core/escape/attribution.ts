/**
 * Who wrote what, by time: a write outside the steps' worktrees is put down to the steps that were
 * running when it happened; one made while no step ran, or one the editor says it saved, is the
 * user's. The clock is the caller's (injected), so that this file is pure and tested on fixtures.
 */

/**
 * How long after a step ended (its capture done) a write is still put down to it: the watcher's
 * report of a write arrives a moment after the write. The step's own last writes come before its
 * process tree is stopped, well inside its window; this covers an event loop busy at that moment.
 */
export const DELIVERY_GRACE_MS = 200;

/**
 * How far apart a write and the editor's report of a save of the same file may be for the write
 * to be the editor's: the save event comes after the write, and the watcher's event around it.
 */
export const USER_NOTE_WINDOW_MS = 3_000;

/** The steps' activity windows: from when a step was taken up (its worktree made) until its capture ended. */
export class Activity {
  private readonly windows = new Map<string, Array<{ start: number; end: number | undefined }>>();

  constructor(
    /** Step ids in workflow order: the order steps are named in. */
    private readonly order: readonly string[],
    private readonly graceMs = DELIVERY_GRACE_MS,
  ) {}

  begin(step: string, at: number): void {
    const list = this.windows.get(step) ?? [];
    list.push({ start: at, end: undefined });
    this.windows.set(step, list);
  }

  end(step: string, at: number): void {
    const open = this.windows.get(step)?.find((w) => w.end === undefined);
    if (open) open.end = at;
  }

  /** Whether any step is running now. */
  get running(): boolean {
    for (const list of this.windows.values()) if (list.some((w) => w.end === undefined)) return true;
    return false;
  }

  /** The steps running at `at` (a step counts for the grace period after it ended), in workflow order. */
  at(at: number): string[] {
    return this.during(at, at);
  }

  /** The steps running at any moment from `from` to `to`, in workflow order. */
  during(from: number, to: number): string[] {
    const found = new Set<string>();
    for (const [step, list] of this.windows) {
      if (list.some((w) => w.start <= to && (w.end === undefined || w.end + this.graceMs >= from))) found.add(step);
    }
    return this.sorted(found);
  }

  /** Steps in workflow order (unknown ones last, by name). */
  sorted(steps: Iterable<string>): string[] {
    const rank = (s: string) => {
      const i = this.order.indexOf(s);
      return i < 0 ? this.order.length : i;
    };
    return [...new Set(steps)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** How far around the engine's own write (apply, restore) a write seen is still its: the watcher reports it a moment later. */
const ENGINE_SLACK_MS = 1_000;

/** The writes the editor reported as its own (saves, creations, deletions), by path and time. */
export class UserWrites {
  private readonly notes = new Map<string, number[]>();
  private readonly spans = new Map<string, Array<[number, number]>>();

  constructor(
    private readonly windowMs = USER_NOTE_WINDOW_MS,
    /** Paths remembered at most; the oldest are forgotten first. */
    private readonly maxPaths = 10_000,
  ) {}

  note(file: string, at: number): void {
    const times = this.notes.get(file) ?? [];
    this.notes.delete(file); // re-inserted last: Map order is the order of last use
    times.push(at);
    this.notes.set(file, times.slice(-8));
    if (this.notes.size > this.maxPaths) this.notes.delete(this.notes.keys().next().value!);
  }

  /** The engine wrote `file` on the user's request (apply, restore) from `start` to `end`: writes seen then are the user's. */
  noteSpan(file: string, start: number, end: number): void {
    const spans = this.spans.get(file) ?? [];
    this.spans.delete(file);
    spans.push([start - ENGINE_SLACK_MS, end + ENGINE_SLACK_MS]);
    this.spans.set(file, spans.slice(-8));
    if (this.spans.size > this.maxPaths) this.spans.delete(this.spans.keys().next().value!);
  }

  /** Whether a write of `file` at `at` is one the editor reported, or the engine made for the user. */
  covers(file: string, at: number): boolean {
    return (
      (this.notes.get(file)?.some((t) => Math.abs(t - at) <= this.windowMs) ?? false) ||
      (this.spans.get(file)?.some(([from, to]) => from <= at && at <= to) ?? false)
    );
  }
}

/**
 * The steps a change is put down to, from the times it was seen written: every step running at one
 * of those times, except at the times the editor reported writing `file` itself (files only; the
 * editor reports no writes of refs or config). Empty when every write was the user's (made while
 * no step ran, or reported by the editor).
 */
export function attribute(times: readonly number[], activity: Activity, user: UserWrites, file?: string): string[] {
  const steps = new Set<string>();
  for (const t of times) {
    if (file !== undefined && user.covers(file, t)) continue;
    for (const s of activity.at(t)) steps.add(s);
  }
  return activity.sorted(steps);
}
