import { constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { engineDir, type Repository } from '../git/repository';
import { isTreePath } from '../state/events';
import { openNoFollow } from '../util/openNoFollow';

/**
 * The engine's own writes into the main checkout on the user's request (apply, restore), so that
 * the runs going on meanwhile take them for the user's, not for an escape of their steps. The
 * writer appends one line per write, `{"v":1,"start":ms,"end":ms,"paths":[...]}`, to a file in the
 * repository's engine folder; a detector reads what was appended since it last looked. Read back
 * trusting nothing but "these paths were written by the engine from `start` to `end`": bounded in
 * size, every line checked, times far from the reader's clock left out.
 */
const FILE = 'engine-writes.jsonl';
/** Past this size the file is started over (a detector that had read further reads it from the start). */
const MAX_FILE_BYTES = 1024 * 1024;
const PATHS_PER_LINE = 1000;
/** The longest write believed, and how far from the reader's clock a time may be. */
const MAX_SPAN_MS = 10 * 60_000;

export interface EngineWrite {
  readonly start: number;
  readonly end: number;
  readonly paths: readonly string[];
}

function fileOf(repo: Pick<Repository, 'commonDir'>): string {
  return engineDir(repo, FILE);
}

/** Records that the engine wrote `paths` (relative to the checkout) from `start` to now. Never fails the caller's write. */
export async function noteEngineWrites(repo: Pick<Repository, 'commonDir'>, paths: readonly string[], start: number): Promise<void> {
  const end = Date.now();
  const valid = paths.filter(isTreePath);
  if (valid.length === 0) return;
  const lines: string[] = [];
  for (let i = 0; i < valid.length; i += PATHS_PER_LINE)
    lines.push(`${JSON.stringify({ v: 1, start, end, paths: valid.slice(i, i + PATHS_PER_LINE) })}\n`);
  const file = fileOf(repo);
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const handle = await openNoFollow(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    try {
      if ((await handle.stat()).size > MAX_FILE_BYTES) await handle.truncate(0);
      await handle.write(lines.join(''));
    } finally {
      await handle.close();
    }
  } catch {
    // Only a courtesy to the runs going on: at worst they report this write as their steps'.
  }
}

/** Reads what was appended since `offset` (0 the first time): the writes, and the offset to pass next time. */
export async function readEngineWrites(
  repo: Pick<Repository, 'commonDir'>,
  offset: number,
  now: number,
): Promise<{ writes: EngineWrite[]; offset: number }> {
  let text: string;
  let size: number;
  try {
    const handle = await openNoFollow(fileOf(repo), constants.O_RDONLY);
    try {
      const stat = await handle.stat();
      if (!stat.isFile() || stat.size > 2 * MAX_FILE_BYTES) return { writes: [], offset };
      size = stat.size;
      const from = size < offset ? 0 : offset;
      const buffer = Buffer.alloc(size - from);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
      text = buffer.subarray(0, bytesRead).toString('utf8');
      offset = from;
    } finally {
      await handle.close();
    }
  } catch {
    return { writes: [], offset };
  }
  // A line still being written is left for next time.
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  const writes: EngineWrite[] = [];
  for (const line of complete.split('\n')) {
    const w = parse(line, now);
    if (w) writes.push(w);
  }
  return { writes, offset: offset + Buffer.byteLength(complete) };
}

function parse(line: string, now: number): EngineWrite | undefined {
  if (line === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { v, start, end, paths } = raw as Record<string, unknown>;
  if (v !== 1 || typeof start !== 'number' || typeof end !== 'number' || !Array.isArray(paths)) return undefined;
  if (!(start <= end && end - start <= MAX_SPAN_MS && Math.abs(now - end) <= MAX_SPAN_MS)) return undefined;
  if (paths.length > PATHS_PER_LINE || !paths.every((p) => typeof p === 'string' && isTreePath(p))) return undefined;
  return { start, end, paths: paths as string[] };
}
