import { constants } from 'node:fs';
import { truncate } from 'node:fs/promises';
import path from 'node:path';
import { stepWorktreePath } from '../git/worktrees';
import { RunEventSchema, type RunEvent } from './events';
import { migrateSnapshot } from './migrate';
import { reduce, type RunSnapshot, type StepSnapshot } from './snapshot';
import { plural } from '../util/words';
import { samePath } from '../util/paths';
import { openNoFollow } from '../util/openNoFollow';

export interface LoadedRun {
  readonly dir: string;
  readonly snapshot: RunSnapshot;
  readonly events: readonly RunEvent[];
  /** What was recovered from, for the user: a torn line, a corrupt snapshot, a migration, a dropped record. */
  readonly warnings: readonly string[];
}

export interface ReadOptions {
  /** Cut a torn last line off `events.jsonl` so that appending can go on (only the run's writer may). */
  readonly repair?: boolean;
  /**
   * The folders a step's worktree may lie in (the default root and those configured); a recorded
   * worktree anywhere else is dropped with a warning. Every reader that acts on worktrees or shows
   * them passes them (`loadRun`, `RunWriter`). @default not checked
   */
  readonly worktreeRoots?: readonly string[];
}

/**
 * The largest `events.jsonl` read. A run of eight steps records a few thousand events (progress
 * is coalesced), well under a megabyte; a larger file was not written by Tapps Flow.
 */
export const MAX_EVENTS_BYTES = 64 * 1024 * 1024;

/**
 * Reads a run from its folder, trusting nothing in it: the folder can come from a clone or an
 * archive. Every event is validated (ids by the rule of the workflow format, paths inside the
 * repository, a worktree only at its own place under a known root), sequence numbers must
 * strictly increase, and the run must be the one its folder is named for. The events are the
 * source of truth; `state.json` is used only when there are none (an older run). Damage is
 * recovered from with a warning, never fatal while anything intact remains.
 */
export async function readRun(dir: string, options: ReadOptions = {}): Promise<LoadedRun> {
  const runId = path.basename(dir);
  const warnings: string[] = [];
  const eventsFile = path.join(dir, 'events.jsonl');
  const raw = await readCapped(eventsFile);
  const events: RunEvent[] = [];
  let snapshot: RunSnapshot | undefined;
  if (raw && raw.length > 0) {
    const text = raw.toString('utf8');
    const complete = text.endsWith('\n') ? text.length : text.lastIndexOf('\n') + 1;
    if (complete < text.length) {
      warnings.push(
        `events.jsonl ended in a torn line (its writer stopped mid-write); the ${plural(text.length - complete, 'byte')} after the last complete event ${text.length - complete === 1 ? 'was' : 'were'} ignored`,
      );
      if (options.repair) await truncate(eventsFile, Buffer.byteLength(text.slice(0, complete)));
    }
    const lines = text.slice(0, complete).split('\n');
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      const skip = (why: string) => warnings.push(`events.jsonl line ${i + 1} ${why}; skipped`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        skip('is not JSON');
        continue;
      }
      const result = RunEventSchema.safeParse(parsed);
      if (!result.success) {
        skip(`is not a known event (${result.error.issues[0]?.message ?? 'invalid'})`);
        continue;
      }
      const problem = eventProblem(result.data, snapshot, runId);
      if (problem) {
        skip(problem);
        continue;
      }
      snapshot = reduce(snapshot, result.data);
      events.push(result.data);
    }
  }
  const stateFile = path.join(dir, 'state.json');
  const stateText = (await readCapped(stateFile).catch(() => undefined))?.toString('utf8');
  if (!snapshot) {
    if (stateText === undefined) throw new Error(`${dir} holds no run: neither events.jsonl nor state.json is readable`);
    try {
      snapshot = migrateSnapshot(JSON.parse(stateText), path.resolve(dir, '..', '..', '..'));
    } catch (error) {
      throw new Error(
        `${dir}: events.jsonl is missing or empty and state.json is unusable (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (snapshot.runId !== runId)
      throw new Error(`${dir}: state.json is of run "${snapshot.runId}", not of the run this folder is named for`);
    warnings.push('state.json is of an older version; loaded through its migration');
  } else if (stateText === undefined) warnings.push('state.json was missing; rebuilt from events.jsonl');
  else if (!parsesAsJson(stateText)) warnings.push('state.json was corrupt; rebuilt from events.jsonl');
  const placed = options.worktreeRoots ? placeWorktrees(snapshot, options.worktreeRoots, warnings) : snapshot;
  return { dir, snapshot: placed, events, warnings };
}

/** Why an event cannot be part of this run's history, or undefined when it can. */
function eventProblem(event: RunEvent, snapshot: RunSnapshot | undefined, runId: string): string | undefined {
  if (event.type === 'run_started') {
    if (snapshot) return 'starts the run a second time';
    if (event.runId !== runId) return `starts run "${event.runId}", not the run this folder is named for ("${runId}")`;
    const ids = new Set<string>();
    for (const s of event.steps) {
      if (ids.has(s.id.toLowerCase())) return `lists step "${s.id}" twice`;
      ids.add(s.id.toLowerCase());
    }
    for (const s of event.steps) for (const d of s.dependencies) if (!ids.has(d.toLowerCase())) return `names an unknown step "${d}"`;
    return undefined;
  }
  if (!snapshot) return `(${event.type}) comes before the run started`;
  if (event.seq <= snapshot.lastSeq) return `repeats or goes back in sequence (${event.seq} after ${snapshot.lastSeq})`;
  if ('step' in event && event.step !== undefined && !snapshot.steps.some((s) => s.id === event.step))
    return `names an unknown step "${event.step}"`;
  if (event.type === 'conflict_detected' && !event.conflict.steps.every((id) => snapshot.steps.some((s) => s.id === id))) {
    return 'names an unknown step in a conflict';
  }
  if (event.type === 'escape_detected' && !event.escapes.every((e) => e.steps.every((id) => snapshot.steps.some((s) => s.id === id)))) {
    return 'names an unknown step in an escape';
  }
  if (event.type === 'escape_detected' && event.count < event.escapes.length) return 'counts fewer escapes than it lists';
  if (event.type === 'finding_detected' && !event.finding.steps.every((id) => snapshot.steps.some((s) => s.id === id))) {
    return 'names an unknown step in a finding';
  }
  return undefined;
}

/** A recorded worktree is kept only where this run's step would have it: `<root>/<run>/<step>--<run>`. */
function placeWorktrees(snapshot: RunSnapshot, roots: readonly string[], warnings: string[]): RunSnapshot {
  const steps = snapshot.steps.map((s): StepSnapshot => {
    const worktree = s.worktree;
    if (worktree === null) return s;
    if (roots.some((root) => samePath(stepWorktreePath(root, snapshot.runId, s.id), worktree))) return s;
    warnings.push(`step ${s.id}: its recorded worktree ${JSON.stringify(s.worktree)} is not where Tapps Flow puts worktrees; ignored`);
    return { ...s, worktree: null };
  });
  return { ...snapshot, steps };
}

/**
 * A state file's bytes; undefined when it is absent. Only a regular file is read, never through a
 * symlink (a cloned `events.jsonl -> /dev/zero` would never end) nor a pipe.
 */
async function readCapped(file: string): Promise<Buffer | undefined> {
  const handle = await openNoFollow(file, constants.O_RDONLY).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new Error(
      `${file} is not a file Tapps Flow wrote (${error.code === 'ELOOP' ? 'a symlink' : (error.code ?? error.message)}); it was not read`,
    );
  });
  if (!handle) return undefined;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${file} is not a regular file; it was not read`);
    const size = stat.size;
    if (size > MAX_EVENTS_BYTES) {
      throw new Error(`${file} is ${size} bytes, more than the ${MAX_EVENTS_BYTES} a run writes; it was not read`);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
