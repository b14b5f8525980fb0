import type { Progress } from './stepLog';

/** At most one progress update per step in this many milliseconds reaches the run's events. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Coalesces a step's progress lines: a step printing thousands of them a second would otherwise
 * flood the event log and every view. The first update passes at once, later ones at most every
 * `intervalMs`, and `flush()` delivers the last one held back (call it when the step ends).
 */
export class ProgressThrottle {
  private last = -Infinity;
  private held: Progress | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deliver: (progress: Progress) => void,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  push(progress: Progress): void {
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0 && this.timer === undefined) {
      this.emit(progress);
      return;
    }
    this.held = progress;
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined;
        this.flush();
      },
      Math.max(0, wait),
    );
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held) this.emit(this.held);
  }

  private emit(progress: Progress): void {
    this.held = undefined;
    this.last = this.now();
    this.deliver(progress);
  }
}
