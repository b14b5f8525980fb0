import { waitingWords } from '../core/run/loadGate';
import { describeTarget } from '../core/checks/runCheck';
import type { RunEvent } from '../core/state/events';
import type { RunSnapshot } from '../core/state/snapshot';
import { describeSteps, statusPhrase } from './runSummary';
import { failureDetail, stepCounts, stepOutcome, stepRows } from './stepRows';
import { clean } from './words';
import { listed, plural } from '../core/util/words';

/**
 * The terminal view of a run. On a TTY it redraws a block: a header that counts the steps by
 * state, then one row per step; elsewhere (CI logs, pipes) it prints one line per lifecycle event.
 * Either way a failed step shows its log's path and the last lines of its output.
 */
export class LiveView {
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly snapshot: () => RunSnapshot,
    private readonly stateDir: string,
  ) {}

  /** Whether the view redraws its block in place (it then shows every step when the run ends). */
  get redraws(): boolean {
    return this.out.isTTY === true;
  }

  start(): void {
    if (this.redraws) this.timer = setInterval(() => this.redraw(), 250);
  }

  onEvent(event: RunEvent): void {
    if (this.redraws) return;
    for (const line of this.describe(event)) this.out.write(`${line}\n`);
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.redraw();
  }

  private redraw(): void {
    const snapshot = this.snapshot();
    const now = Date.now();
    const header = `${statusPhrase(snapshot, now)} · ${stepCounts(snapshot.steps)}`;
    const width = (this.out.columns || 120) - 1;
    let lines = [header, ...stepRows(snapshot, this.stateDir, now)].map((l) => l.slice(0, width));
    // A block taller than the terminal cannot be redrawn in place (the cursor stops at the top).
    const room = (this.out.rows || 50) - 1;
    if (lines.length > room) lines = [...lines.slice(0, room - 1), `  … ${lines.length - room + 1} more lines`];
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    // \x1b[J clears what an earlier, longer block left below.
    this.out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n\x1b[J`);
    this.drawn = lines.length;
  }

  /** The lines an event prints; the snapshot has already taken the event in. */
  private describe(e: RunEvent): string[] {
    const step = 'step' in e ? this.snapshot().steps.find((s) => s.id === e.step) : undefined;
    switch (e.type) {
      case 'step_waiting':
        return [`… ${e.step} ${waitingWords(e.reason)} before it starts`];
      case 'step_setting_up':
        // The commands come from the repository's files: each is printed as it runs.
        return e.command === undefined
          ? [`⚙ ${e.step} setting up its worktree${on(e.worker)}`]
          : [`  ${e.step} $ ${clean(e.command)}${e.origin ? `   (from ${clean(e.origin)})` : ''}`];
      case 'step_started':
        return [`▶ ${e.step} started${on(e.worker)}${e.pid ? ` (pid ${e.pid}${e.port ? `, port ${e.port}` : ''})` : ''}`];
      case 'step_retried':
        // Its worker stopped answering: the step goes back to the queue for another worker.
        return [`↻ ${e.step}: ${clean(e.reason)}`];
      case 'step_progress':
        return [`  ${e.step} ${e.percent}% ${clean(e.message)}`];
      case 'step_succeeded':
        return [`✔ ${e.step} succeeded: ${plural(e.changed.length, 'file')} changed, result ${e.result.slice(0, 10)}`];
      case 'step_failed':
      case 'step_timed_out':
      case 'step_cancelled':
      case 'step_skipped': {
        const icon = { step_failed: '✖', step_timed_out: '⏱', step_cancelled: '■', step_skipped: '↷' }[e.type];
        if (!step) return [`${icon} ${e.step} ${e.type.slice('step_'.length).replace('_', ' ')}`];
        return [`${icon} ${e.step} ${stepOutcome(step)}`, ...failureDetail(step, this.stateDir, '    ')];
      }
      case 'aggregate_made': {
        const missing = this.snapshot().steps.filter((s) => s.status !== 'succeeded');
        const partial = e.partial && missing.length > 0 ? ` (partial: it lacks ${describeSteps(missing)})` : e.partial ? ' (partial)' : '';
        return [`aggregate ${e.commit.slice(0, 10)}${partial}: ${plural(e.conflicts, 'conflict')}`];
      }
      case 'check_started': {
        if (e.pid !== null) return []; // the same run, its command now started
        return [`⚙ check ${e.check} on ${describeTarget(e)}`];
      }
      case 'check_finished': {
        const run = this.snapshot().checks.find((c) => c.n === e.n);
        const icon = e.status === 'passed' ? '✔' : e.status === 'cancelled' ? '■' : '✖';
        return [`${icon} check ${run?.check ?? ''} ${e.status.replace('_', ' ')}${e.detail ? ` (${clean(e.detail)})` : ''}`];
      }
      case 'culprit_found':
        return e.outcome === 'found'
          ? [`  ${e.check} is broken by ${listed(e.steps)}${e.steps.length > 1 ? ' together' : ''} (${plural(e.runs, 'check run')})`]
          : [`  ${e.check}: ${e.outcome === 'base-fails' ? "it fails on the run's base too" : 'it passed when run again'}`];
      case 'alternative_made':
        return e.alternative
          ? [`passing alternative ${e.alternative.commit.slice(0, 10)}: the result without ${listed(e.alternative.leftOut)}`]
          : [];
      default:
        return [];
    }
  }
}

/** " on w1" for a step run on a worker (the `queue` runner), else nothing. */
function on(worker: string | undefined): string {
  return worker ? ` on ${clean(worker)}` : '';
}
