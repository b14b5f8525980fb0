import { appendFileSync, watch, statSync, readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunEventSchema, type NewRunEvent, type RunEvent } from '../../src/core/state/events';
import { RunStore } from '../../src/core/state/runStore';
import { reduce, type RunSnapshot } from '../../src/core/state/snapshot';
import type { BenchRepo } from '../lib/repo';
import { fmtBytes, type Row } from '../lib/table';
import { log, now, round } from '../lib/util';

const EVENTS = 10_000;
const STEPS = 8;
/** Paced mode: 100 events, then a 30 ms pause: 10,000 events over about 3 s, a chatty step. */
const PACED_BATCH = 100;
const PACED_PAUSE_MS = 30;

export interface StoreMeasurement {
  readonly mode: 'burst' | 'paced';
  readonly events: number;
  /** Wall time from the first append to the end of flush (includes the pauses in paced mode). */
  readonly totalMs: number;
  /** Time spent inside append() calls plus the final flush, per event. */
  readonly usPerEvent: number;
  readonly inAppendMs: number;
  readonly flushMs: number;
  readonly eventsBytes: number;
  /** state.json rewrites seen from the outside (inotify renames onto state.json) after run_started. */
  readonly stateRewrites: number;
  readonly stateBytesWritten: number;
  readonly stateSize: number;
  readonly rawUsPerLine: number;
  readonly rawMs: number;
}

function runStarted(repo: BenchRepo): NewRunEvent {
  return {
    type: 'run_started',
    runId: 'bench-store',
    repo: repo.dir,
    workflow: { file: 'bench.yaml', id: 'bench', name: 'bench' },
    base: { commit: repo.head, tree: repo.tree, head: repo.head, time: repo.time },
    settings: { maxParallel: 8, sequential: false },
    steps: Array.from({ length: STEPS }, (_, i) => ({ id: `s${i + 1}`, dependencies: [] })),
    owner: { pid: process.pid, host: 'bench', startedAt: new Date(0).toISOString() },
  };
}

function progress(i: number): NewRunEvent {
  return {
    type: 'step_progress',
    step: `s${(i % STEPS) + 1}`,
    percent: Math.floor((i / EVENTS) * 100),
    message: `processing item ${i} of ${EVENTS}`,
  };
}

/**
 * 10,000 `step_progress` events through RunStore, then `flush()`. `burst` appends them in one
 * synchronous loop; `paced` pauses 30 ms after every 100, as progress lines arriving from a
 * chatty step would (about 3 s in all), so the store's writes and its snapshot timer run between
 * the appends. The time per event is the time spent in append() plus the final flush (the
 * appends' own writes run in the background; in burst mode they all happen inside flush).
 */
async function measureStore(repo: BenchRepo, dir: string, mode: 'burst' | 'paced'): Promise<StoreMeasurement> {
  mkdirSync(dir, { recursive: true });
  let clock = 0;
  const store = new RunStore(dir, { now: () => new Date(1_700_000_000_000 + clock++) });
  store.append(runStarted(repo));
  await store.flush();
  const eventsBefore = statSync(store.eventsFile).size;

  // Counted from the outside: every atomic write of state.json ends in a rename onto it.
  let rewrites = 0;
  let stateBytes = 0;
  const watcher = watch(dir, (type, name) => {
    if (type !== 'rename' || name !== 'state.json') return;
    try {
      const size = statSync(store.stateFile).size;
      rewrites += 1;
      stateBytes += size;
    } catch {
      // between the rename and the stat: counted by the next event
    }
  });
  await sleep(20);

  const started = now();
  let inAppendMs = 0;
  for (let i = 0; i < EVENTS; i++) {
    const t = now();
    store.append(progress(i));
    inAppendMs += now() - t;
    if (mode === 'paced' && i % PACED_BATCH === PACED_BATCH - 1) await sleep(PACED_PAUSE_MS);
  }
  const t = now();
  await store.flush();
  const flushMs = now() - t;
  const totalMs = now() - started;
  await sleep(200); // let inotify deliver the last events
  watcher.close();
  store.dispose();

  const eventsBytes = statSync(store.eventsFile).size - eventsBefore;
  const lines = readFileSync(store.eventsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(1)
    .map((l) => `${l}\n`);
  const rawFile = path.join(dir, 'raw-events.jsonl');
  const rawStart = now();
  for (const line of lines) appendFileSync(rawFile, line);
  const rawMs = now() - rawStart;
  return {
    mode,
    events: EVENTS,
    totalMs: round(totalMs, 1),
    usPerEvent: round(((inAppendMs + flushMs) * 1000) / EVENTS, 2),
    inAppendMs: round(inAppendMs, 1),
    flushMs: round(flushMs, 1),
    eventsBytes,
    stateRewrites: rewrites,
    stateBytesWritten: stateBytes,
    stateSize: statSync(store.stateFile).size,
    rawUsPerLine: round((rawMs * 1000) / lines.length, 2),
    rawMs: round(rawMs, 1),
  };
}

/** Where one append's CPU goes: zod validation, the snapshot reducer, JSON.stringify (µs per event). */
function appendCpuParts(repo: BenchRepo): { parseUs: number; reduceUs: number; stringifyUs: number } {
  const first = RunEventSchema.parse({ ...runStarted(repo), seq: 0, time: new Date(0).toISOString() });
  const raw = Array.from({ length: EVENTS }, (_, i) => ({ ...progress(i), seq: i + 1, time: new Date(i).toISOString() }));
  let t = now();
  const parsed: RunEvent[] = raw.map((e) => RunEventSchema.parse(e));
  const parseUs = ((now() - t) * 1000) / EVENTS;
  t = now();
  let snap: RunSnapshot = reduce(undefined, first);
  for (const e of parsed) snap = reduce(snap, e);
  const reduceUs = ((now() - t) * 1000) / EVENTS;
  t = now();
  let n = 0;
  for (const e of parsed) n += JSON.stringify(e).length;
  const stringifyUs = ((now() - t) * 1000) / EVENTS;
  if (n === 0 || snap.lastSeq !== EVENTS) throw new Error('unexpected');
  return { parseUs: round(parseUs, 2), reduceUs: round(reduceUs, 2), stringifyUs: round(stringifyUs, 2) };
}

export interface StoreStudy {
  readonly burst: StoreMeasurement;
  readonly paced: StoreMeasurement;
  readonly cpu: ReturnType<typeof appendCpuParts>;
}

/** Section 6. */
export async function storeStudy(repo: BenchRepo, workDir: string): Promise<{ study: StoreStudy; rows: Row[] }> {
  const cpu = appendCpuParts(repo);
  const burst = await measureStore(repo, path.join(workDir, 'store-burst'), 'burst');
  const paced = await measureStore(repo, path.join(workDir, 'store-paced'), 'paced');
  log(
    `store: burst ${burst.usPerEvent} µs/event, paced ${paced.usPerEvent} µs/event; state.json rewrites ${burst.stateRewrites} / ${paced.stateRewrites}`,
  );
  const rows: Row[] = [];
  for (const m of [burst, paced]) {
    const label = m.mode === 'burst' ? 'in one loop' : `paced, ${PACED_BATCH} per ${PACED_PAUSE_MS} ms`;
    rows.push(
      {
        section: 'state store (10,000 step_progress)',
        measurement: `RunStore.append ×10,000 + flush, ${label}: per event`,
        value: `${m.usPerEvent.toFixed(1)} µs`,
        baseline: `appendFileSync per line ${m.rawUsPerLine.toFixed(1)} µs`,
        ratio: m.usPerEvent / m.rawUsPerLine,
        note: `in append() ${m.inAppendMs.toFixed(0)} ms, final flush ${m.flushMs.toFixed(1)} ms, wall ${m.totalMs.toFixed(0)} ms; raw appendFileSync ×10,000 ${m.rawMs.toFixed(0)} ms`,
      },
      {
        section: 'state store (10,000 step_progress)',
        measurement: `  bytes: events.jsonl / state.json written (${m.stateRewrites} rewrite${m.stateRewrites === 1 ? '' : 's'} of ${fmtBytes(m.stateSize)})`,
        value: `${fmtBytes(m.eventsBytes)} / ${fmtBytes(m.stateBytesWritten)}`,
        baseline: `10,000 rewrites: ${fmtBytes(EVENTS * m.stateSize)}`,
        ratio: m.stateBytesWritten / (EVENTS * m.stateSize),
      },
    );
  }
  rows.push({
    section: 'state store (10,000 step_progress)',
    measurement: '  CPU per append: zod parse / reduce / JSON.stringify',
    value: `${cpu.parseUs} / ${cpu.reduceUs} / ${cpu.stringifyUs} µs`,
  });
  return { study: { burst, paced, cpu }, rows };
}
