import { exitCodeOf, runReport } from '../core/run/runReport';
import { WorkflowRun } from '../core/run/workflowRun';
import type { Isolation, Runner, SetupMode } from '../core/workflow/schema';
import { plansAnything } from '../core/setup/setUpWorktree';
import { explanation } from './setupCommand';
import { LiveView } from './liveView';
import { repoOption, summaryLines } from './runSummary';
import { clean, localTime } from './words';
import { formatIssue } from '../core/util/errors';
import { plural } from '../core/util/words';

export interface RunFlags {
  readonly workflow: string;
  readonly repo?: string;
  readonly maxParallel?: number;
  readonly sequential: boolean;
  readonly isolation?: Isolation;
  readonly setup?: SetupMode;
  readonly runId?: string;
  readonly runner?: Runner;
  /** `--queue` and `--remote`, for the `queue` runner (else from the environment). */
  readonly queueUrl?: string;
  readonly queueRemote?: string;
  readonly json: boolean;
}

/** What the command line says of the queue and the team remote, as run defaults. */
function remoteDefaults(flags: { readonly queueUrl?: string; readonly queueRemote?: string }) {
  return {
    ...(flags.queueUrl === undefined ? {} : { queueUrl: flags.queueUrl }),
    ...(flags.queueRemote === undefined ? {} : { queueRemote: flags.queueRemote }),
  };
}

/** `tapps-flow run`: SIGINT/SIGTERM cancel the run cleanly (steps stopped, state recorded). */
export async function runCommand(flags: RunFlags): Promise<number> {
  const controller = new AbortController();
  const run = await WorkflowRun.prepare({
    workflowFile: flags.workflow,
    repoDir: flags.repo,
    maxParallel: flags.maxParallel,
    sequential: flags.sequential,
    isolation: flags.isolation,
    setup: flags.setup,
    runId: flags.runId,
    runner: flags.runner,
    defaults: remoteDefaults(flags),
    signal: controller.signal,
  });
  warnUnusedQueueFlags(run, flags, 'add --runner queue to run them on workers');
  return drive(run, controller, flags.json, flags.repo);
}

/** `tapps-flow resume <run-id>`: finishes an interrupted, failed or cancelled run. */
export async function resumeCommand(
  repoFlag: string | undefined,
  runId: string,
  json: boolean,
  remote: { readonly queueUrl?: string; readonly queueRemote?: string } = {},
): Promise<number> {
  const controller = new AbortController();
  const run = await WorkflowRun.resume({
    repoDir: repoFlag ?? process.cwd(),
    runId,
    signal: controller.signal,
    defaults: remoteDefaults(remote),
  });
  warnUnusedQueueFlags(run, remote, 'a run keeps the runner it started with');
  return drive(run, controller, json, repoFlag);
}

/** `--queue` or `--remote` given to a run whose steps run on this machine: said, since they change nothing. */
function warnUnusedQueueFlags(run: WorkflowRun, flags: { readonly queueUrl?: string; readonly queueRemote?: string }, hint: string): void {
  if (run.settings.runner === 'queue') return;
  const given = [flags.queueUrl === undefined ? '' : '--queue', flags.queueRemote === undefined ? '' : '--remote'].filter(Boolean);
  if (given.length > 0)
    process.stderr.write(`warning: ${given.join(' and ')} not used: the steps of run ${run.runId} run on this machine (${hint})\n`);
}

/** Runs to the end with a live view; the first SIGINT/SIGTERM cancels, a second one leaves at once. */
async function drive(run: WorkflowRun, controller: AbortController, json: boolean, repoFlag: string | undefined): Promise<number> {
  const out = json ? process.stderr : process.stdout;
  const { snapshot: start } = run;
  const done = start.steps.filter((s) => s.status === 'succeeded').length;
  const toRun = start.steps.length - done;
  out.write(
    `Run ${run.runId} of "${clean(start.workflow.name)}", started ${localTime(start.startedAt)}: ${plural(toRun, 'step')} to run${
      done > 0 ? ` (${done} succeeded before)` : ''
    }, up to ${run.settings.maxParallel} at once, base ${run.base.commit.slice(0, 10)}\n`,
  );
  if (run.settings.isolationFallback) out.write(`Isolation: ${run.settings.isolationFallback}.\n`);
  if (run.settings.runner === 'queue')
    out.write(
      `Steps run on workers through the queue; each step's base (uncommitted work included) goes to the team remote ${run.settings.queueRemote ?? ''} under refs/tapps-flow/runs/${run.runId}/, deleted when the run ends.\n`,
    );
  // The setup's commands come from the repository's files: what will run is said before it does.
  if (plansAnything(run.setup.plan)) out.write(`${["Setup of each step's worktree:", ...explanation(run.setup.plan)].join('\n')}\n`);
  // What the file holds that is kept but not used (see the workflow loader's warnings): said, never fatal.
  for (const w of run.loaded.warnings) process.stderr.write(`warning: ${clean(formatIssue(w))}\n`);
  const view = new LiveView(out, () => run.snapshot, run.stateDir);
  const subscription = run.onDidEvent((e) => view.onEvent(e));
  let signals = 0;
  const onSignal = (name: string) => {
    signals += 1;
    if (signals === 1) {
      out.write(`\n${name}: cancelling the run; stopping its steps (press Ctrl-C again to leave without waiting)\n`);
      controller.abort();
    } else process.exit(130);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  view.start();
  try {
    const snapshot = await run.execute();
    view.stop();
    if (json) process.stdout.write(`${JSON.stringify(runReport(snapshot, run.stateDir), null, 2)}\n`);
    else {
      // A terminal's view already shows every step; a log gets them again, all in one place.
      const lines = summaryLines(snapshot, {
        stateDir: run.stateDir,
        now: Date.now(),
        steps: !view.redraws,
        repo: repoOption(repoFlag, run.repo.root),
      });
      out.write(`\n${lines.join('\n')}\n`);
    }
    await run.settled();
    return exitCodeOf(snapshot);
  } finally {
    view.stop();
    subscription.dispose();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    run.store.dispose();
  }
}
