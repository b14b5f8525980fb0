import { exitCodeOf, runReport } from '../core/run/runReport';
import { WorkflowRun } from '../core/run/workflowRun';
import type { Isolation } from '../core/workflow/schema';
import { commandName } from './commandName';
import { LiveView } from './liveView';

export interface RunFlags {
  readonly workflow: string;
  readonly repo?: string;
  readonly maxParallel?: number;
  readonly sequential: boolean;
  readonly isolation?: Isolation;
  readonly runId?: string;
  readonly json: boolean;
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
    runId: flags.runId,
    signal: controller.signal,
  });
  return drive(run, controller, flags.json, flags.repo);
}

/** `tapps-flow resume <run-id>`: finishes an interrupted, failed or cancelled run. */
export async function resumeCommand(repoDir: string, runId: string, json: boolean): Promise<number> {
  const controller = new AbortController();
  const run = await WorkflowRun.resume({ repoDir, runId, signal: controller.signal });
  return drive(run, controller, json, repoDir);
}

/** Runs to the end with a live view; the first SIGINT/SIGTERM cancels, a second one leaves at once. */
async function drive(run: WorkflowRun, controller: AbortController, json: boolean, repoFlag: string | undefined): Promise<number> {
  const flags = { json, repo: repoFlag };
  const out = flags.json ? process.stderr : process.stdout;
  const pending = run.snapshot.steps.filter((s) => s.status !== 'succeeded').length;
  out.write(
    `Run ${run.runId} of ${run.snapshot.workflow.name}: ${pending} step(s) to run, up to ${run.settings.maxParallel} at once, base ${run.base.commit.slice(0, 10)}\n`,
  );
  if (run.settings.isolationFallback) out.write(`Isolation: ${run.settings.isolationFallback}.\n`);
  const view = new LiveView(out, () => run.snapshot);
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
    const report = runReport(snapshot, run.stateDir);
    if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      out.write(`\nRun ${snapshot.runId}: ${snapshot.status}\n`);
      if (snapshot.aggregate) out.write(`Aggregate: ${snapshot.aggregate.commit}${snapshot.aggregate.partial ? ' (partial)' : ''}\n`);
      for (const c of snapshot.conflicts) out.write(`  conflict ${c.kind}: ${c.path} (${c.steps.join(' ↔ ')})\n`);
      for (const f of snapshot.findings) out.write(`  needs your eye, ${f.kind}: ${f.path} (${f.steps.join(', ')}): see conflicts.md\n`);
      out.write(`State: ${run.stateDir}\n`);
      const repoFlag = flags.repo ? ` --repo ${flags.repo}` : '';
      if (snapshot.escaped) {
        const n = snapshot.escapes.length + snapshot.escapesUnlisted;
        out.write(
          `Escaped: ${n} write(s) outside the steps' worktrees, listed in conflicts.md. Put back the files with: ${commandName()} restore ${snapshot.runId}${repoFlag}\n`,
        );
      }
      if (snapshot.status === 'succeeded') out.write(`Apply it with: ${commandName()} apply ${snapshot.runId}${repoFlag}\n`);
      if (snapshot.status === 'conflicted')
        out.write(
          `Resolve each conflict with: ${commandName()} resolve ${snapshot.runId} <path> --take <step>${repoFlag} (or --file FILE), then apply.\n`,
        );
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
