import path from 'node:path';
import type { CheckRun, RunSnapshot } from '../core/state/snapshot';
import { formatDuration, listed, plural } from '../core/util/words';
import { statusWord } from './stepRows';
import { displayPath } from './words';

/** The latest run of each check on the aggregate, in definition order. */
function aggregateRuns(snapshot: RunSnapshot): CheckRun[] {
  const latest = new Map<string, CheckRun>();
  for (const c of snapshot.checks) if (c.target === 'aggregate') latest.set(c.check, c);
  return [...latest.values()].sort((a, b) => a.n - b.n);
}

/**
 * What `status` and `run` print of the aggregate's checks: each check's outcome, the steps that
 * broke a failing one (or why none can be named), its log, and the passing alternative.
 *
 *     Checks: 1 of 2 passed
 *       passed  lint (1.2s)
 *       failed  test (4.0s): broken by auth-rename and api-docs together (7 check runs); log: …
 *     Passing alternative: 3f2c… (the aggregate without api-docs)
 */
export function checkLines(snapshot: RunSnapshot, stateDir: string): string[] {
  const runs = aggregateRuns(snapshot);
  if (runs.length === 0) return [];
  const passed = runs.filter((c) => c.status === 'passed').length;
  const lines = [`Checks: ${passed} of ${plural(runs.length, 'check')} passed`];
  for (const c of runs) {
    const culprit = snapshot.culprits.find((x) => x.check === c.check);
    const took = c.durationMs === null ? '' : ` (${formatDuration(c.durationMs)})`;
    let found = '';
    if (culprit?.outcome === 'found')
      found = `: broken by ${culprit.steps.length === 1 ? culprit.steps[0] : `${listed(culprit.steps)} together`} (${plural(culprit.runs, 'check run')})`;
    else if (culprit?.outcome === 'base-fails') found = ": it fails on the run's base too, so no step broke it";
    else if (culprit?.outcome === 'not-reproduced') found = ': it passed when run again (it may be flaky)';
    else if (c.status !== 'passed' && snapshot.status === 'running') found = ': finding the steps that broke it…';
    const evidence = culprit?.evidence ? snapshot.checks.find((x) => x.check === c.check && x.tree === culprit.evidence) : undefined;
    const log = c.status === 'passed' ? '' : `; log: ${displayPath(path.join(stateDir, (evidence ?? c).log))}`;
    lines.push(`  ${statusWord(c.status).padEnd(9)} ${c.check}${took}${found}${log}`);
  }
  if (snapshot.alternative)
    lines.push(`Passing alternative: ${snapshot.alternative.commit} (the aggregate without ${listed(snapshot.alternative.leftOut)})`);
  return lines;
}
