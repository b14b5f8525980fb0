import path from 'node:path';
import { WorktreePool } from '../../src/core/git/worktreePool';
import { defaultWorktreeRoot } from '../../src/core/git/worktrees';
import { openRepository } from '../../src/core/git/repository';
import { fsProbe } from '../lib/fsProbe';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { log, median } from '../lib/util';
import { measureRun, type RunMeasurement } from './workflowRuns';

export const POOL_SECTION = 'warm pool: 8 steps × sleep 2 s';

export interface PoolRound {
  readonly diskUsPerFile: number;
  readonly cold: RunMeasurement;
  readonly warm: RunMeasurement;
}

export interface PoolStudy {
  readonly rounds: readonly PoolRound[];
  readonly rows: Row[];
}

/**
 * A run of 8 steps × 2 s without a pool (a checkout per step, deleted after), against the same run
 * taking its worktrees from a pool a previous run filled; rounds alternate the order, each after
 * a probe of the disk. Isolation is what a run costs beyond its steps' own 2 s.
 */
export async function poolStudy(repo: BenchRepo, workDir: string, rounds: number): Promise<PoolStudy> {
  const section = POOL_SECTION;
  const spec = { steps: 8, sleepSeconds: 2, maxParallel: 8 };
  const pool = async () => new WorktreePool(await openRepository(repo.dir), defaultWorktreeRoot(await openRepository(repo.dir)), 8);
  const results: PoolRound[] = [];
  for (let r = 0; r < rounds; r++) {
    const diskUsPerFile = fsProbe(path.join(workDir, 'pool-probes'));
    const cold = async () => measureRun(repo, workDir, { ...spec, name: `pool-cold-${r}`, poolSize: 0 });
    const warm = async () => {
      // Steps long enough for all eight to hold a worktree at once (checkouts start them over ~12 s): eight parked.
      await measureRun(repo, workDir, { ...spec, sleepSeconds: 15, name: `pool-fill-${r}`, poolSize: 8 });
      return measureRun(repo, workDir, { ...spec, name: `pool-warm-${r}`, poolSize: 8 });
    };
    let c: RunMeasurement;
    let w: RunMeasurement;
    if (r % 2 === 0) {
      c = await cold();
      w = await warm();
    } else {
      w = await warm();
      c = await cold();
    }
    await (await pool()).trim();
    log(`pool round ${r + 1}: disk ${diskUsPerFile} µs/file; cold ${fmtMs(c.wallMs)}, warm ${fmtMs(w.wallMs)}`);
    results.push({ diskUsPerFile, cold: c, warm: w });
  }
  const cold = median(results.map((r) => r.cold.wallMs));
  const warm = median(results.map((r) => r.warm.wallMs));
  const of = `median of ${rounds} rounds`;
  const rows: Row[] = [
    {
      section,
      measurement: `run wall with a warm pool, ${of}`,
      value: fmtMs(warm),
      baseline: 'ideal 2.00 s',
      ratio: warm / 2000,
      target: '≤ 1.2×',
      note: `disk before each round: ${results.map((r) => `${r.diskUsPerFile} µs`).join(', ')} per file creation`,
    },
    {
      section,
      measurement: `run wall without a pool (pool_size 0), ${of}`,
      value: fmtMs(cold),
      baseline: 'ideal 2.00 s',
      ratio: cold / 2000,
    },
    {
      section,
      measurement: 'isolation with a warm pool (run wall − 2 s)',
      value: fmtMs(warm - 2000),
      baseline: `without a pool ${fmtMs(cold - 2000)}`,
      ratio: (warm - 2000) / (cold - 2000),
      target: '≤ 0.1×',
    },
    {
      section,
      measurement: 'warm run: execute → last step started (pooled worktrees taken)',
      value: fmtMs(median(results.map((r) => r.warm.breakdown.untilLastStepStartedMs))),
      baseline: `without a pool ${fmtMs(median(results.map((r) => r.cold.breakdown.untilLastStepStartedMs)))}`,
      ratio:
        median(results.map((r) => r.warm.breakdown.untilLastStepStartedMs)) /
        median(results.map((r) => r.cold.breakdown.untilLastStepStartedMs)),
    },
  ];
  return { rounds: results, rows };
}
