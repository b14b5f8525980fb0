import { Git } from '../../src/core/git/git';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { git, median, now } from '../lib/util';

export interface GitOverheadResult {
  readonly calls: number;
  /** Median ms of one call. */
  readonly silentEngine: number;
  readonly silentRaw: number;
  readonly outputEngine: number;
  readonly outputRaw: number;
}

async function each(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await fn(i);
    times.push(now() - t);
  }
  return times;
}

/**
 * The cost of one git call through the engine's `Git` (src/core/git/git.ts) against a plain spawn
 * of the same command: a command that prints nothing (`update-ref`, like `worktree prune`,
 * `worktree add --quiet`, `add --all`) and one that prints its answer (`rev-parse`).
 */
export async function gitOverhead(repo: BenchRepo, calls = 15): Promise<{ result: GitOverheadResult; rows: Row[] }> {
  const engine = new Git(repo.dir);
  await engine.run(['rev-parse', 'HEAD']); // warm up
  const silentEngine = median(await each(calls, (i) => engine.run(['update-ref', `refs/bench/engine/${i}`, repo.head])));
  const silentRaw = median(await each(calls, (i) => git(repo.dir, ['update-ref', `refs/bench/raw/${i}`, repo.head])));
  const outputEngine = median(await each(calls, () => engine.run(['rev-parse', 'HEAD'])));
  const outputRaw = median(await each(calls, () => git(repo.dir, ['rev-parse', 'HEAD'])));
  const result = { calls, silentEngine, silentRaw, outputEngine, outputRaw };
  const rows: Row[] = [
    {
      section: 'engine git call',
      measurement: 'Git.run of a silent command (update-ref), median',
      value: fmtMs(silentEngine),
      baseline: `raw spawn ${fmtMs(silentRaw)}`,
      ratio: silentEngine / silentRaw,
      note:
        silentEngine / silentRaw > 3
          ? 'a fixed delay after commands that print nothing: simple-git (which the engine used at first) waits 50 ms for them'
          : 'no fixed delay after commands that print nothing (simple-git added 50 ms to each: 57 ms vs 4.6 ms when the engine still used it)',
    },
    {
      section: 'engine git call',
      measurement: 'Git.run of a command with output (rev-parse), median',
      value: fmtMs(outputEngine),
      baseline: `raw spawn ${fmtMs(outputRaw)}`,
      ratio: outputEngine / outputRaw,
    },
  ];
  return { result, rows };
}
