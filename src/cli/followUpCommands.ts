import { readFile } from 'node:fs/promises';
import { applyResult, branchFromResult } from '../core/apply/applyResult';
import { resolveConflict, type Resolution } from '../core/apply/resolveConflict';
import { cleanup, type CleanupOptions } from '../core/cleanup/cleanup';
import { describeLinks } from '../core/findings/symlinks';
import { openRepository, type Repository } from '../core/git/repository';
import { DependencyStore } from '../core/setup/dependencyStore';
import { WorktreePool } from '../core/git/worktreePool';
import { worktreeRoots } from '../core/state/runLocation';
import { EXIT, runReport } from '../core/run/runReport';
import { runDir } from '../core/run/stateDir';
import { commandName } from './commandName';
import { sendRequest } from '../core/state/requests';
import { listRuns, loadRun, stopOrphanedSteps, trackedRunIds, type RunView } from '../core/state/runs';
import { TappsError } from '../core/util/errors';
import { idProblem } from '../core/util/ids';
import { describeSteps, missingSteps, repoOption, statusPhrase, summaryLines } from './runSummary';
import { stepCounts, workersLine } from './stepRows';
import { clean, localTime, shellArg } from './words';
import { listed, plural } from '../core/util/words';
import type { RunSnapshot } from '../core/state/snapshot';

const print = (text: string) => process.stdout.write(`${text}\n`);
const warn = (text: string) => process.stderr.write(`${text}\n`);

/** `tapps-flow status [<run-id>]`: lists runs newest first, or shows one (with `--json`, as `run --json` would). */
export async function statusCommand(repoFlag: string | undefined, runId: string | undefined, json: boolean): Promise<number> {
  const repo = await openRepository(repoFlag ?? process.cwd());
  const tracked = await trackedRunIds(repo);
  const now = Date.now();
  if (runId !== undefined) {
    const run = await findRun(repo, runId, tracked);
    await stopOrphans([run]);
    for (const w of run.warnings) warn(`warning: ${w}`);
    if (json) print(JSON.stringify(runReport(run.snapshot, run.dir), null, 2));
    else {
      // A run git tracks came with the repository: nothing may act on it, so no command is offered.
      const options = { stateDir: run.dir, now, steps: true, repo: repoOption(repoFlag, repo.root), hints: !run.readOnly };
      for (const line of withWorkers(summaryLines(run.snapshot, options), run.snapshot)) print(line);
    }
    return EXIT.succeeded;
  }
  const { runs, problems } = await listRuns(repo, { tracked });
  await stopOrphans(runs);
  for (const p of problems) warn(`warning: unreadable run ${p}`);
  if (json)
    print(
      JSON.stringify(
        runs.map((r) => runReport(r.snapshot, r.dir)),
        null,
        2,
      ),
    );
  else {
    if (runs.length === 0) print(`No runs in ${repo.root}. Start one with: ${commandName()} run <workflow.yaml>`);
    else for (const line of runList(runs, now)) print(line);
    const pool = await poolUsage(repo);
    if (pool.worktrees > 0)
      print(
        `Warm pool: ${plural(pool.worktrees, 'worktree')} ready for the next steps (${formatBytes(pool.bytes)}); ${commandName()} cleanup deletes them.`,
      );
    if (pool.shared.sets > 0)
      print(
        `Shared dependencies: ${plural(pool.shared.sets, 'set')} of installed folders (${formatBytes(pool.shared.bytes)}); ${commandName()} cleanup deletes them.`,
      );
  }
  return EXIT.succeeded;
}

/** A run's summary with the workers its steps ran on (the `queue` runner), said before where its state is. */
export function withWorkers(lines: readonly string[], snapshot: Pick<RunSnapshot, 'steps'>): string[] {
  const workers = workersLine(snapshot);
  if (!workers) return [...lines];
  const at = lines.findIndex((l) => l.startsWith('State: '));
  return at < 0 ? [...lines, workers] : [...lines.slice(0, at), workers, ...lines.slice(at)];
}

/** The warm pools of the repository's worktree roots, together. */
async function poolUsage(repo: Repository): Promise<{ worktrees: number; bytes: number; shared: { sets: number; bytes: number } }> {
  let worktrees = 0;
  let bytes = 0;
  const shared = { sets: 0, bytes: 0 };
  for (const root of await worktreeRoots(repo)) {
    const usage = await new WorktreePool(repo, root, 0).usage();
    worktrees += usage.worktrees;
    bytes += usage.bytes;
    for (const kept of await new DependencyStore(root).list()) {
      shared.sets++;
      shared.bytes += kept.bytes;
    }
  }
  return { worktrees, bytes, shared };
}

function formatBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(n >= 10 * 1024 ** 2 ? 0 : 1)} MiB`;
}

/**
 * One line per run, newest first, in columns: id, local start time, state and time taken,
 * workflow name, steps by state; two runs of one workflow are told apart by when they started.
 */
function runList(runs: readonly RunView[], now: number): string[] {
  const rows = runs.map((r) => [
    r.snapshot.runId,
    localTime(r.snapshot.startedAt),
    statusPhrase(r.snapshot, now),
    `"${clean(r.snapshot.workflow.name)}"`,
    `${stepCounts(r.snapshot.steps)}${r.snapshot.escaped ? '  [escaped]' : ''}${r.readOnly ? '  [read-only: its state is tracked by git]' : ''}`,
  ]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
}

/** `tapps-flow cancel <run-id> [--step ID]`: asks the process that owns the run to cancel. */
export async function cancelCommand(repoDir: string, runId: string, step: string | undefined): Promise<number> {
  const repo = await openRepository(repoDir);
  const run = await findRun(repo, runId, await trackedRunIds(repo));
  if (step !== undefined && !run.snapshot.steps.some((s) => s.id === step)) {
    throw new TappsError(
      'unknown-step',
      `Run ${runId} has no step "${step}"; its steps are: ${run.snapshot.steps.map((s) => s.id).join(', ')}`,
    );
  }
  if (run.readOnly) throw new TappsError('run-tracked', `Run ${runId}: ${run.readOnly}; nothing was sent.`);
  const dir = runDir(repo.root, runId);
  if (!run.live || run.snapshot.status !== 'running') {
    print(`Run ${runId} is not running (status ${run.snapshot.status}); nothing to cancel.`);
    return EXIT.succeeded;
  }
  await sendRequest(dir, { type: 'cancel', ...(step ? { step } : {}) });
  print(`Asked the process running ${runId} to cancel ${step ? `step ${step}` : 'the run'}.`);
  return EXIT.succeeded;
}

/**
 * `tapps-flow apply <run-id>`: brings the run's result (or, with `--alternative`, its passing
 * alternative) into the working tree. A partial result, or one that fails a check, is applied as
 * it is (no prompt: scripts apply too), after a line that says so.
 */
export async function applyCommand(
  repoFlag: string | undefined,
  runId: string,
  options: { readonly allowSymlinksOut?: boolean; readonly alternative?: boolean } = {},
): Promise<number> {
  const repoDir = repoFlag ?? process.cwd();
  // Read as `status` reads it; a run apply refuses (a bad id, one git tracks, one with unresolved
  // conflicts) gets no announcement, only the refusal.
  const before = await openRepository(repoDir)
    .then(async (repo) => loadRun(repo, runId, { tracked: await trackedRunIds(repo) }))
    .catch(() => undefined);
  const missing = before && !before.readOnly && before.snapshot.conflicts.length === 0 ? missingSteps(before.snapshot) : [];
  const alternative = options.alternative ? before?.snapshot.alternative : undefined;
  if (alternative) print(`Applying the result without ${listed(alternative.leftOut)}, which passes every check.`);
  else if (missing.length > 0) print(`The result lacks ${describeSteps(missing)}; applying what the other steps did.`);
  if (!options.alternative && before?.snapshot.status === 'checks_failed')
    warn(failsChecksWarning(before.snapshot, runId, repoFlag, 'apply'));
  const result = await applyResult(repoDir, runId, options);
  const paths = plural(result.changed.length, 'path');
  if (result.changed.length === 0) print(`Run ${runId}: nothing to apply, your files already match its result.`);
  else {
    print(
      `Applied ${result.partial ? 'the partial result' : 'the result'} of run ${runId}: ${paths} changed in your working tree (your index is untouched):`,
    );
    for (const p of result.changed) print(`  ${clean(p)}`);
  }
  return EXIT.succeeded;
}

export async function branchCommand(repoFlag: string | undefined, runId: string, name: string, alternative = false): Promise<number> {
  const repoDir = repoFlag ?? process.cwd();
  const result = await branchFromResult(repoDir, runId, name, { alternative });
  print(`Created branch ${name} at ${result.commit}.`);
  if (!alternative) {
    const run = await openRepository(repoDir)
      .then((repo) => loadRun(repo, runId))
      .catch(() => undefined);
    if (run?.snapshot.status === 'checks_failed') warn(failsChecksWarning(run.snapshot, runId, repoFlag, { branch: `${name}-passing` }));
  }
  if (result.symlinksOut.length > 0)
    warn(
      `warning: the branch holds ${result.symlinksOut.length === 1 ? 'a symbolic link' : `${result.symlinksOut.length} symbolic links`} pointing outside the repository: ${describeLinks(result.symlinksOut)}. Nothing was written in your working tree; checking the branch out writes them.`,
    );
  if (result.unresolved > 0)
    warn(
      `warning: the result still has ${plural(result.unresolved, 'unresolved conflict')}; the branch holds the earlier step's version of ${result.unresolved === 1 ? 'its path' : 'those paths'}.`,
    );
  return EXIT.succeeded;
}

export async function resolveCommand(
  repoFlag: string | undefined,
  runId: string,
  file: string,
  take: string | undefined,
  contentFile: string | undefined,
): Promise<number> {
  if ((take === undefined) === (contentFile === undefined))
    throw new TappsError('usage', 'resolve needs exactly one of --take <step> or --file FILE');
  const resolution: Resolution = take !== undefined ? { take } : { content: await readFile(contentFile!, 'utf8') };
  const result = await resolveConflict(repoFlag ?? process.cwd(), runId, file, resolution);
  const how = take !== undefined ? `took ${take}'s version` : 'merged by hand';
  print(`Resolved ${clean(file)} (${how}); new aggregate ${result.commit}.`);
  if (result.remaining > 0) print(`${plural(result.remaining, 'conflict')} ${result.remaining === 1 ? 'remains' : 'remain'}.`);
  else {
    const repo = await openRepository(repoFlag ?? process.cwd());
    const status = (await loadRun(repo, runId).catch(() => undefined))?.snapshot.status;
    const flag = repoFlag === undefined ? '' : ` --repo ${shellArg(repoFlag)}`;
    print(`No conflicts remain${status ? ` (run ${runId}: ${status})` : ''}. Apply it with: ${commandName()} apply ${runId}${flag}`);
  }
  return EXIT.succeeded;
}

export async function cleanupCommand(
  repoDir: string,
  options: CleanupOptions & { readonly dryRun: boolean },
  json: boolean,
): Promise<number> {
  const { dryRun } = options;
  const report = await cleanup(repoDir, options);
  if (json) {
    print(JSON.stringify(report, null, 2));
    return EXIT.succeeded;
  }
  const verb = dryRun ? 'Would remove' : 'Removed';
  if (
    report.runs.length === 0 &&
    report.orphanedWorktrees.length === 0 &&
    report.pooledWorktrees.length === 0 &&
    report.sharedDependencies === 0
  )
    print('Nothing to clean up.');
  for (const r of report.runs)
    print(
      `${verb} run ${r.runId} (${r.status}): ${plural(r.worktrees.length, 'worktree')}, ${plural(r.refs.length, 'ref')}${
        r.remoteRefs.length > 0 ? ` and ${plural(r.remoteRefs.length, 'ref')} on the team remote` : ''
      }, its state folder`,
    );
  // A run kept for its refs on the team remote: they hold its steps' bases, the user's uncommitted work included.
  for (const k of report.skipped) if (k.teamRemote) warn(`Kept run ${k.runId}: ${clean(k.reason)}.`);
  for (const w of report.orphanedWorktrees) print(`${verb} orphaned worktree ${w}`);
  if (report.pooledWorktrees.length > 0)
    print(`${verb} ${plural(report.pooledWorktrees.length, 'worktree')} of the warm pool (the next run checks its worktrees out again)`);
  if (report.sharedDependencies > 0)
    print(`${verb} ${plural(report.sharedDependencies, 'set')} of shared dependency folders (the next setup installs again)`);
  for (const a of report.archived) print(`${dryRun ? 'Would save' : 'Saved'} uncaptured changes of ${a.worktree} to ${a.ref}`);
  return EXIT.succeeded;
}

/**
 * Stops what interrupted runs left running (only processes verifiably theirs, see
 * `stopOrphanedSteps`), and says so: they would go on writing into worktrees resume replaces.
 */
async function stopOrphans(runs: readonly RunView[]): Promise<void> {
  for (const run of runs) {
    if (run.snapshot.status !== 'interrupted') continue;
    for (const step of await stopOrphanedSteps(run))
      warn(`Stopped the processes that step ${step} of interrupted run ${run.snapshot.runId} left running.`);
  }
}

/** A run of the repository for a command; a bad or unknown id is a usage error. */
async function findRun(repo: Awaited<ReturnType<typeof openRepository>>, runId: string, tracked: ReadonlySet<string>): Promise<RunView> {
  const problem = idProblem('run', runId);
  if (problem) throw new TappsError('invalid-run-id', `${problem}. List runs with: tapps-flow status`);
  return loadRun(repo, runId, { tracked }).catch((error: unknown) => {
    const why = error instanceof Error ? error.message : String(error);
    throw new TappsError('run-not-found', `No readable run "${runId}" in ${repo.root} (${why}). List runs with: tapps-flow status`);
  });
}

/** The warning when a result that fails a check is applied or branched: which, and how to take the passing alternative. */
function failsChecksWarning(
  snapshot: RunSnapshot,
  runId: string,
  repoFlag: string | undefined,
  action: 'apply' | { readonly branch: string },
): string {
  const failing = listed(snapshot.culprits.map((c) => c.check));
  const flag = repoFlag === undefined ? '' : ` --repo ${shellArg(repoFlag)}`;
  const said = `warning: the result fails ${failing}; ${action === 'apply' ? 'applying it anyway' : 'the branch holds it'}.`;
  if (!snapshot.alternative) return said;
  const command = action === 'apply' ? `apply ${runId} --alternative` : `branch ${runId} ${shellArg(action.branch)} --alternative`;
  return `${said} The result without ${listed(snapshot.alternative.leftOut)} passes: ${commandName()} ${command}${flag}`;
}
