import { readFile } from 'node:fs/promises';
import { applyResult, branchFromResult } from '../core/apply/applyResult';
import { resolveConflict, type Resolution } from '../core/apply/resolveConflict';
import { cleanup } from '../core/cleanup/cleanup';
import { describeLinks } from '../core/findings/symlinks';
import { openRepository } from '../core/git/repository';
import { EXIT, runReport } from '../core/run/runReport';
import { runDir } from '../core/run/stateDir';
import { commandName } from './commandName';
import { sendRequest } from '../core/state/requests';
import { listRuns, loadRun, stopOrphanedSteps, trackedRunIds, type RunView } from '../core/state/runs';
import { TappsError } from '../core/util/errors';
import { idProblem } from '../core/util/ids';

const print = (text: string) => process.stdout.write(`${text}\n`);
const warn = (text: string) => process.stderr.write(`${text}\n`);

/** `tapps-flow status [<run-id>]`: lists runs newest first, or shows one as `run --json` would. */
export async function statusCommand(repoDir: string, runId: string | undefined, json: boolean): Promise<number> {
  const repo = await openRepository(repoDir);
  const tracked = await trackedRunIds(repo);
  if (runId !== undefined) {
    const run = await findRun(repo, runId, tracked);
    await stopOrphans([run]);
    for (const w of run.warnings) warn(`warning: ${w}`);
    const report = runReport(run.snapshot, run.dir);
    if (json) print(JSON.stringify(report, null, 2));
    else {
      print(`Run ${report.runId} (${run.snapshot.workflow.name}): ${report.status}`);
      for (const s of report.steps) print(`  ${s.id}: ${s.status}${s.error ? ` — ${s.error}` : ''}`);
      if (report.aggregate) print(`Aggregate: ${report.aggregate.commit}${report.aggregate.partial ? ' (partial)' : ''}`);
      for (const c of report.conflicts) print(`  conflict ${c.kind}: ${c.path} (${c.steps.join(' ↔ ')})`);
      for (const f of report.findings) print(`  needs your eye, ${f.kind}: ${f.path} (${f.steps.join(', ')}): ${f.detail}`);
      if (report.escaped) {
        const files = report.escapes.filter((e) => e.kind === 'file');
        const left = files.filter((e) => !e.restored).length;
        print(
          `Escaped: the steps wrote outside their worktrees (${files.length - left} of ${files.length} listed file write(s) restored).${
            left > 0 ? ` Put back the files with: ${commandName()} restore ${report.runId}` : ''
          }`,
        );
      }
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
  else if (runs.length === 0) print(`No runs in ${repo.root}. Start one with: ${commandName()} run <workflow.yaml>`);
  else
    for (const r of runs)
      print(
        `${r.snapshot.runId}  ${r.snapshot.status.padEnd(11)} ${r.snapshot.escaped ? '[escaped] ' : ''}${r.snapshot.workflow.name} (${r.snapshot.steps.filter((s) => s.status === 'succeeded').length}/${r.snapshot.steps.length} steps succeeded)${r.readOnly ? '  [read-only: its state is tracked by git]' : ''}`,
      );
  return EXIT.succeeded;
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

export async function applyCommand(repoDir: string, runId: string, allowSymlinksOut = false): Promise<number> {
  const result = await applyResult(repoDir, runId, { allowSymlinksOut });
  // The message says how many paths changed, and when the result was partial, which steps it lacks.
  print(result.message);
  for (const p of result.changed) print(`  ${p}`);
  return EXIT.succeeded;
}

export async function branchCommand(repoDir: string, runId: string, name: string): Promise<number> {
  const result = await branchFromResult(repoDir, runId, name);
  print(`Created branch ${name} at ${result.commit}.`);
  if (result.symlinksOut.length > 0)
    warn(
      `warning: the branch holds ${result.symlinksOut.length === 1 ? 'a symbolic link' : `${result.symlinksOut.length} symbolic links`} pointing outside the repository: ${describeLinks(result.symlinksOut)}. Nothing was written in your working tree; checking the branch out writes them.`,
    );
  if (result.unresolved > 0)
    warn(
      `warning: the result still has ${result.unresolved} unresolved conflict(s); the branch holds the earlier step's version of those paths.`,
    );
  return EXIT.succeeded;
}

export async function resolveCommand(
  repoDir: string,
  runId: string,
  file: string,
  take: string | undefined,
  contentFile: string | undefined,
): Promise<number> {
  if ((take === undefined) === (contentFile === undefined))
    throw new TappsError('usage', 'resolve needs exactly one of --take <step> or --file FILE');
  const resolution: Resolution = take !== undefined ? { take } : { content: await readFile(contentFile!, 'utf8') };
  const result = await resolveConflict(repoDir, runId, file, resolution);
  print(
    `Resolved ${file}; new aggregate ${result.commit}. ${result.remaining === 0 ? `No conflicts remain: apply with ${commandName()} apply ${runId}` : `${result.remaining} conflict(s) remain.`}`,
  );
  return EXIT.succeeded;
}

export async function cleanupCommand(
  repoDir: string,
  olderThanDays: number | undefined,
  keep: number | undefined,
  dryRun: boolean,
  json: boolean,
): Promise<number> {
  const report = await cleanup(repoDir, { olderThanDays, keep, dryRun });
  if (json) {
    print(JSON.stringify(report, null, 2));
    return EXIT.succeeded;
  }
  const verb = dryRun ? 'Would remove' : 'Removed';
  if (report.runs.length === 0 && report.orphanedWorktrees.length === 0) print('Nothing to clean up.');
  for (const r of report.runs)
    print(`${verb} run ${r.runId} (${r.status}): ${r.worktrees.length} worktree(s), ${r.refs.length} ref(s), its state folder`);
  for (const w of report.orphanedWorktrees) print(`${verb} orphaned worktree ${w}`);
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
