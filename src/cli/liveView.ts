import type { RunEvent } from '../core/state/events';
import type { RunSnapshot } from '../core/state/snapshot';

const ICONS: Record<string, string> = {
  pending: '·',
  queued: '…',
  running: '▶',
  succeeded: '✔',
  failed: '✖',
  timed_out: '⏱',
  cancelled: '■',
  skipped: '↷',
};

function elapsed(from: string | null, to: string | null, now: number): string {
  if (!from) return '';
  const ms = (to ? Date.parse(to) : now) - Date.parse(from);
  return `${(ms / 1000).toFixed(1)}s`;
}

/** One line per step: icon, id, status, elapsed time, progress or error. */
export function stepLines(snapshot: RunSnapshot, now: number): string[] {
  const width = Math.max(...snapshot.steps.map((s) => s.id.length));
  return snapshot.steps.map((s) => {
    const detail = s.status === 'running' && s.progress ? `${s.progress.percent}% ${s.progress.message}` : (s.error ?? '');
    return `  ${ICONS[s.status] ?? '?'} ${s.id.padEnd(width)}  ${s.status.padEnd(9)} ${elapsed(s.startedAt, s.finishedAt, now).padStart(7)}  ${detail}`.trimEnd();
  });
}

/**
 * The terminal view of a run. On a TTY it redraws a block of one line per step; elsewhere (CI
 * logs, pipes) it prints one line per lifecycle event.
 */
export class LiveView {
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly snapshot: () => RunSnapshot,
  ) {}

  start(): void {
    if (this.out.isTTY) this.timer = setInterval(() => this.redraw(), 250);
  }

  onEvent(event: RunEvent): void {
    if (this.out.isTTY) return;
    const line = describe(event);
    if (line) this.out.write(`${line}\n`);
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.out.isTTY) this.redraw();
  }

  private redraw(): void {
    const lines = stepLines(this.snapshot(), Date.now()).map((l) => l.slice(0, (this.out.columns || 120) - 1));
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    this.out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    this.drawn = lines.length;
  }
}

function describe(e: RunEvent): string | undefined {
  switch (e.type) {
    case 'step_started':
      return `▶ ${e.step} started (pid ${e.pid ?? '?'})`;
    case 'step_progress':
      return `  ${e.step} ${e.percent}% ${e.message}`;
    case 'step_succeeded':
      return `✔ ${e.step} succeeded: ${e.changed.length} file(s) changed, result ${e.result.slice(0, 10)}`;
    case 'step_failed':
      return `✖ ${e.step} failed: ${e.error}`;
    case 'step_timed_out':
      return `⏱ ${e.step} ${e.error}`;
    case 'step_cancelled':
      return `■ ${e.step} cancelled: ${e.reason}`;
    case 'step_skipped':
      return `↷ ${e.step} ${e.reason}`;
    case 'aggregate_made':
      return `aggregate ${e.commit.slice(0, 10)}${e.partial ? ' (partial)' : ''}: ${e.conflicts} conflict(s)`;
    default:
      return undefined;
  }
}
