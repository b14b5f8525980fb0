import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { WorkflowRun } from '../../src/core/run/workflowRun';
import type { RunSnapshot } from '../../src/core/state/snapshot';
import { type Row } from '../lib/table';
import { git, log, now, round } from '../lib/util';

export const CHECKS_SECTION = 'checks: runs spent finding the steps that broke a check';

/** One culprit search: how many check runs it spent, against the target. */
export interface SearchCost {
  readonly steps: number;
  /** The steps whose files together fail the check. */
  readonly culprits: readonly string[];
  /** Check runs the search made (the base's included), and the target ⌈log2 n⌉ + 1 (the base's not). */
  readonly runs: number;
  readonly target: number;
  readonly found: readonly string[];
  /** The whole run, and the aggregate's own check run alone. */
  readonly runMs: number;
  readonly checkMs: number;
}

export interface ChecksStudy {
  readonly searches: readonly SearchCost[];
}

/**
 * Runs of n = 1, 2, 4, 8 steps (each adds a file of its own) whose check fails when the files of
 * the culprits are all there: a single culprit at every position, and for n ≥ 2 a pair (the first
 * and the last step, the pair the search meets last). The figure is the number of check runs a
 * search spends, a count that does not depend on the machine; the run's time is for scale.
 */
export async function checksStudy(workDir: string): Promise<{ rows: Row[]; study: ChecksStudy }> {
  const root = await mkdtemp(path.join(workDir, 'checks-'));
  const repoDir = path.join(root, 'repo');
  await mkdir(repoDir);
  await git(repoDir, ['init', '-q', '-b', 'main']);
  await writeFile(path.join(repoDir, 'README.md'), '# checks bench\n');
  await git(repoDir, ['add', '-A']);
  await git(repoDir, ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-qm', 'base']);
  const searches: SearchCost[] = [];
  let counter = 0;
  const search = async (n: number, culprits: readonly string[]): Promise<void> => {
    const steps = Array.from({ length: n }, (_, i) => ({ id: `s${i + 1}`, agent: 'shell', run: `echo ${i} > s${i + 1}.txt` }));
    const check = `! { ${culprits.map((c) => `test -e ${c}.txt`).join(' && ')}; }`;
    const file = path.join(root, `w${++counter}.yaml`);
    await writeFile(file, stringify({ workflow: { id: 'bench', name: 'Bench', checks: [{ name: 'test', run: check }], steps } }));
    const started = now();
    const run = await WorkflowRun.prepare({ repoDir, workflowFile: file, runId: `checks-${counter}` });
    let snapshot: RunSnapshot;
    try {
      snapshot = await run.execute();
    } finally {
      await run.settled();
      run.store.dispose();
    }
    const runMs = now() - started;
    const culprit = snapshot.culprits[0];
    const aggregateRun = snapshot.checks.find((c) => c.target === 'aggregate');
    const cost: SearchCost = {
      steps: n,
      culprits,
      runs: culprit?.runs ?? 0,
      target: Math.ceil(Math.log2(Math.max(1, n))) + 1,
      found: culprit?.steps ?? [],
      runMs: round(runMs, 0),
      checkMs: round(aggregateRun?.durationMs ?? 0, 0),
    };
    searches.push(cost);
    log(`checks: ${n} steps, culprits ${culprits.join('+')}: ${cost.runs} check runs (found ${cost.found.join('+')})`);
  };
  for (const n of [1, 2, 4, 8]) {
    for (let i = 1; i <= n; i++) await search(n, [`s${i}`]);
    if (n >= 2) await search(n, ['s1', `s${n}`]);
  }
  const rows: Row[] = [1, 2, 4, 8].flatMap((n) => {
    const single = searches.filter((s) => s.steps === n && s.culprits.length === 1);
    const pair = searches.find((s) => s.steps === n && s.culprits.length === 2);
    const worst = Math.max(...single.map((s) => s.runs));
    const mean = single.reduce((a, s) => a + s.runs, 0) / single.length;
    const target = single[0].target;
    const out: Row[] = [
      {
        section: CHECKS_SECTION,
        measurement: `${n} step${n === 1 ? '' : 's'}, one culprit (each position): check runs, worst / mean`,
        value: `${worst} / ${round(mean, 1)}`,
        baseline: `⌈log2 ${n}⌉ + 1 = ${target}`,
        ratio: worst / target,
        target: `≤ ${target} + 1 (the base)`,
        ok: worst <= target + 1,
        note: `all found: ${single.every((s) => s.found.join() === s.culprits.join()) ? 'yes' : 'no'}; one check run takes ${Math.round(single[0].checkMs)} ms here`,
      },
    ];
    if (pair)
      out.push({
        section: CHECKS_SECTION,
        measurement: `${n} steps, a pair (s1 and s${n}) that fails only together: check runs`,
        value: String(pair.runs),
        note: `found ${pair.found.join(' + ') || 'nothing'}`,
      });
    return out;
  });
  return { rows, study: { searches } };
}
