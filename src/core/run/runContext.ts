import { hostname } from 'node:os';
import type { Base } from '../git/base';
import { captureBase } from '../git/base';
import { writeBaseline } from '../escape/baseline';
import type { EscapeWatch } from '../escape/escapeWatch';
import { watchCheckout } from '../escape/startWatch';
import { excludeStateFolder, type Repository } from '../git/repository';
import { sweepScratch } from '../git/scratch';
import { defaultWorktreeRoot } from '../git/worktrees';
import { registerWorktreeRoot } from '../state/runLocation';
import { RunWriter } from '../state/runWriter';
import type { LoadedWorkflow } from '../workflow/loadWorkflow';
import type { RunOptions } from './options';
import { planRun, type RunPlan } from './plan';
import type { RemoteSetup } from '../remote/openRemote';
import type { ResolvedSetup } from '../setup/resolvePlan';
import type { EffectiveSettings } from './settings';
import { runRef } from './stateDir';
import { crashPoint } from '../util/crashPoint';
import { samePath } from '../util/paths';

/** Everything a run needs to execute, with its writer holding the run's lock. */
export interface RunContext {
  readonly repo: Repository;
  readonly runId: string;
  readonly loaded: LoadedWorkflow;
  readonly base: Base;
  readonly settings: EffectiveSettings;
  readonly writer: RunWriter;
  readonly options: RunOptions;
  /** The setup of each step's worktree. */
  readonly setup: ResolvedSetup;
  /** The watch of the main checkout for writes outside the worktrees; none with isolation `off`. */
  readonly watch?: EscapeWatch;
  /** The queue and the team remote, when the steps run on workers. */
  readonly remote?: RemoteSetup;
}

/**
 * Starts a new run: plans it (nothing written for a bad workflow, id or setting), takes the run's
 * lock, captures the base and records `run_started`.
 */
export async function startRun(options: RunOptions): Promise<RunContext> {
  const plan = await planRun(options);
  try {
    return await startPlanned(plan, options);
  } catch (error) {
    await plan.remote?.queue.close();
    throw error;
  }
}

async function startPlanned(plan: RunPlan, options: RunOptions): Promise<RunContext> {
  const { repo, runId, settings, loaded } = plan;
  const now = options.now ?? (() => new Date());
  await excludeStateFolder(repo);
  await sweepScratch(repo);
  if (!samePath(settings.worktreeRoot, defaultWorktreeRoot(repo))) await registerWorktreeRoot(repo, settings.worktreeRoot);
  const writer = await RunWriter.create(repo, runId, `running ${loaded.workflow.id}`, { now });
  // Watching starts before the base is captured, so that no write after the capture goes unseen.
  const watching = watchCheckout(repo, settings);
  watching.catch(() => undefined);
  try {
    const base = await captureBase(repo);
    await repo.git.run(['update-ref', runRef(runId, 'base'), base.commit]);
    crashPoint('base-captured');
    const watch = await watching;
    writer.append({
      type: 'run_started',
      runId,
      repo: repo.root,
      workflow: { file: plan.recordedFile, id: loaded.workflow.id, name: loaded.workflow.name ?? loaded.workflow.id },
      base,
      settings: { ...settings },
      steps: loaded.graph.ids.map((id) => ({ id, dependencies: [...loaded.graph.dependencies.get(id)!] })),
      owner: { pid: process.pid, host: hostname(), startedAt: now().toISOString() },
    });
    await writer.store.flush();
    if (watch) await writeBaseline(writer.dir, watch.baseline);
    return {
      repo,
      runId,
      loaded,
      base,
      settings,
      writer,
      options: { ...options, workflowFile: plan.workflowFile },
      watch,
      setup: plan.setup,
      ...(plan.remote ? { remote: plan.remote } : {}),
    };
  } catch (error) {
    void watching.then(
      (w) => w?.dispose(),
      () => undefined,
    );
    await writer.close().catch(() => undefined);
    throw error;
  }
}
