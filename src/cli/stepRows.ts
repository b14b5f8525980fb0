import path from 'node:path';
import type { StepStatus } from '../core/state/events';
import type { RunSnapshot, StepSnapshot } from '../core/state/snapshot';
import { clean, displayPath } from './words';
import { waitingWords } from '../core/run/loadGate';
import { formatDuration, plural } from '../core/util/words';

export const ICONS: Record<StepStatus, string> = {
  pending: '·',
  queued: '…',
  setting_up: '⚙',
  running: '▶',
  succeeded: '✔',
  failed: '✖',
  timed_out: '⏱',
  cancelled: '■',
  skipped: '↷',
  interrupted: '⚡',
};

/** The order the counts of a header go in: what is moving first, then how steps ended. */
const COUNT_ORDER: readonly StepStatus[] = [
  'setting_up',
  'running',
  'queued',
  'pending',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
  'interrupted',
];

/** How many of the last lines of a failed step's output are shown. */
export const SHOWN_LAST_LINES = 5;

/** A status as words: `timed_out` → "timed out". */
export function statusWord(status: string): string {
  return status.replace(/_/g, ' ');
}

/** The steps counted by state, as the rows show them: "4 steps: 2 running, 1 queued, 1 pending", "3 steps succeeded". */
export function stepCounts(steps: readonly Pick<StepSnapshot, 'status'>[]): string {
  const counts = COUNT_ORDER.map((status) => [status, steps.filter((s) => s.status === status).length] as const).filter(([, n]) => n > 0);
  if (counts.length === 1) return `${plural(steps.length, 'step')} ${statusWord(counts[0][0])}`;
  const list = counts.map(([status, n]) => `${n} ${statusWord(status)}`).join(', ');
  return list ? `${plural(steps.length, 'step')}: ${list}` : plural(steps.length, 'step');
}

/**
 * Why a step ended as it did, said once: the engine's reasons often begin with the state the row
 * already shows ("skipped: it depends on…", "timed out after 5 s…"), which is left out.
 */
export function stepReason(step: Pick<StepSnapshot, 'status' | 'error'>): string {
  if (!step.error) return '';
  const word = statusWord(step.status);
  const reason = step.error.toLowerCase().startsWith(word) ? step.error.slice(word.length).replace(/^[:\s—-]+/, '') : step.error;
  return clean(reason || step.error);
}

/**
 * The state and its reason in one phrase, the state said once: "cancelled by the user",
 * "skipped: it depends on…", "failed: the agent exited with code 3; see the step's log".
 */
export function stepOutcome(step: Pick<StepSnapshot, 'status' | 'error'>): string {
  const word = statusWord(step.status);
  if (!step.error) return word;
  return step.error.toLowerCase().startsWith(word) ? clean(step.error) : `${word}: ${clean(step.error)}`;
}

/**
 * The last lines of a failed step's output worth showing: at most five, without blank lines,
 * progress lines or stack frames (the log has them all), each cut to a terminal's width.
 */
export function shownLastLines(lines: readonly string[]): string[] {
  return lines
    .filter((l) => l.trim() !== '' && !/^\s*::progress::/.test(l) && !/^\s+at\s/.test(l))
    .slice(-SHOWN_LAST_LINES)
    .map((l) => {
      const line = clean(l.trimEnd());
      return line.length > 200 ? `${line.slice(0, 199)}…` : line;
    });
}

/** Whether a step ended in a way its log explains (its output is shown with it). */
export function endedBadly(status: StepStatus): boolean {
  return status === 'failed' || status === 'timed_out';
}

/** The lines under a failed or timed-out step: its log, then the last lines of its output. */
export function failureDetail(step: StepSnapshot, stateDir: string, indent: string): string[] {
  if (!endedBadly(step.status)) return [];
  const lines = [`${indent}log: ${displayPath(path.join(stateDir, step.log))}`];
  const last = shownLastLines(step.lastLines);
  if (last.length > 0) {
    lines.push(`${indent}last ${last.length === 1 ? 'line' : `${last.length} lines`} of its output:`);
    for (const l of last) lines.push(`${indent}  │ ${l}`);
  }
  return lines;
}

function stepElapsed(step: StepSnapshot, now: number): string {
  if (!step.startedAt) return '';
  const ms = (step.finishedAt ? Date.parse(step.finishedAt) : now) - Date.parse(step.startedAt);
  return Number.isFinite(ms) ? formatDuration(ms) : '';
}

/**
 * One row per step (icon, id, state, time, progress or reason), a failed or timed-out step
 * followed by its log's path and the last lines of its output.
 */
export function stepRows(snapshot: RunSnapshot, stateDir: string, now: number): string[] {
  const width = Math.max(0, ...snapshot.steps.map((s) => s.id.length));
  return snapshot.steps.flatMap((s) => {
    const live = s.status === 'running' || s.status === 'setting_up';
    const detail = [
      s.status === 'queued' && s.waiting ? waitingWords(s.waiting) : '',
      s.worker ? `on ${s.worker}` : '',
      s.retries ? `retried ${plural(s.retries, 'time')}` : '',
      live && s.port ? `port ${s.port}` : '',
      s.status === 'running' && s.progress ? `${s.progress.percent}% ${clean(s.progress.message)}` : stepReason(s),
    ]
      .filter(Boolean)
      .join('  ');
    const row = `  ${ICONS[s.status] ?? '?'} ${s.id.padEnd(width)}  ${statusWord(s.status).padEnd(11)} ${stepElapsed(s, now).padStart(7)}  ${detail}`;
    return [row.trimEnd(), ...candidateRows(s, stateDir), ...failureDetail(s, stateDir, '      ')];
  });
}

/**
 * The workers the run's steps ran on, each with its steps, in the order they first appear:
 * "Workers: w1 (steps a, b), w2 (step c)"; empty when no step ran on one (the `local` runner).
 */
export function workersLine(snapshot: Pick<RunSnapshot, 'steps'>): string {
  const byWorker = new Map<string, string[]>();
  for (const s of snapshot.steps) if (s.worker) byWorker.set(s.worker, [...(byWorker.get(s.worker) ?? []), s.id]);
  if (byWorker.size === 0) return '';
  const listedWorkers = [...byWorker].map(([worker, ids]) => `${clean(worker)} (${ids.length === 1 ? 'step' : 'steps'} ${ids.join(', ')})`);
  return `${byWorker.size === 1 ? 'Worker' : 'Workers'}: ${listedWorkers.join(', ')}`;
}

/**
 * The rows of a candidate step's attempts, under its own: "candidate 2 (codex)  succeeded  checks
 * 2/2 · 14 lines changed · picked", a failed one with its log.
 */
export function candidateRows(step: StepSnapshot, stateDir: string): string[] {
  return (step.candidates ?? []).flatMap((c) => {
    const facts = [
      c.checksRun > 0 ? `checks ${c.checksPassed}/${c.checksRun}` : '',
      c.score !== null ? `score ${c.score}` : c.diffSize !== null ? `${plural(c.diffSize, 'line')} changed` : '',
      step.picked === c.n ? 'picked' : '',
    ].filter(Boolean);
    const state = c.status === 'running' ? 'running' : statusWord(c.status);
    const row = `      candidate ${c.n} (${clean(c.agent)})  ${state}${facts.length > 0 ? `  ${facts.join(' · ')}` : ''}`;
    const failed = c.status === 'failed' || c.status === 'timed_out';
    return failed ? [row, `        ${clean(c.error ?? '')}; log: ${displayPath(path.join(stateDir, c.log))}`] : [row];
  });
}
