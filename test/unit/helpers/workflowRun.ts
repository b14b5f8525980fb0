import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { RunOptions } from '../../../src/core/run/options';
import { WorkflowRun } from '../../../src/core/run/workflowRun';
import type { RunEvent } from '../../../src/core/state/events';
import type { RunSnapshot, StepSnapshot } from '../../../src/core/state/snapshot';
import type { TempRepo } from './tempRepo';

/** A step as a test writes it: the keys of the workflow format, shell agent by default. */
export interface StepSpec {
  readonly id: string;
  readonly run?: string;
  readonly agent?: string;
  readonly requires?: readonly string[];
  readonly creates?: readonly string[];
  readonly needs?: readonly string[];
  readonly next?: string | readonly string[];
  readonly timeout_seconds?: number;
  /** `optional`: its failure does not stop the steps after it (TappsCodingAgents' `condition`). */
  readonly condition?: string;
  /** Best-of-N: attempts of the step's agent, or one per agent of `agents`, ranked by `score`. */
  readonly candidates?: number;
  readonly agents?: readonly string[];
  readonly score?: string | { readonly run: string; readonly better: 'higher' | 'lower' };
}

export interface WorkflowSpec {
  readonly id?: string;
  readonly name?: string;
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly merge?: ReadonlyArray<{ readonly paths: readonly string[]; readonly policy: string }>;
  /** The workflow's own setup of each step's worktree. */
  readonly setup?: Readonly<Record<string, unknown>>;
  /** Agents of the workflow, by name. */
  readonly agents?: Readonly<Record<string, unknown>>;
  /** Checks of the results: name, run, and where (`on`). */
  readonly checks?: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly steps: readonly StepSpec[];
}

/** The YAML text of a workflow (shell agent unless a step names another). */
export function workflowYaml(spec: WorkflowSpec): string {
  const workflow = {
    id: spec.id ?? 'test-workflow',
    name: spec.name ?? 'Test workflow',
    ...(spec.settings ? { settings: spec.settings } : {}),
    ...(spec.merge ? { merge: spec.merge } : {}),
    ...(spec.setup ? { setup: spec.setup } : {}),
    ...(spec.checks ? { checks: spec.checks } : {}),
    ...(spec.agents ? { agents: spec.agents } : {}),
    steps: spec.steps.map((s) => (s.agents ? s : { agent: 'shell', ...s })),
  };
  return stringify({ workflow }, { lineWidth: 0 });
}

/** Writes a workflow file outside the repository (so that it is not part of the run's base) and returns its path. */
export async function writeWorkflow(repo: TempRepo, yaml: string | WorkflowSpec, name = 'workflow.yaml'): Promise<string> {
  const file = path.join(repo.root, 'workflows', name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, typeof yaml === 'string' ? yaml : workflowYaml(yaml));
  return file;
}

/** A run that has been prepared and is executing. */
export interface StartedRun {
  readonly run: WorkflowRun;
  /** Every event, in order, as the run records them. */
  readonly events: RunEvent[];
  /** Resolves with the final snapshot once the removed worktrees are deleted; the run's store is disposed by then. */
  readonly finished: Promise<RunSnapshot>;
}

export type TestRunOptions = Partial<Omit<RunOptions, 'workflowFile'>> & { readonly workflowName?: string };

/** Prepares a run of `yaml` on the repository and starts executing it. */
export async function startWorkflow(repo: TempRepo, yaml: string | WorkflowSpec, options: TestRunOptions = {}): Promise<StartedRun> {
  const workflowFile = await writeWorkflow(repo, yaml, options.workflowName);
  const run = await WorkflowRun.prepare({ repoDir: repo.dir, ...options, workflowFile });
  const events: RunEvent[] = [];
  const subscription = run.onDidEvent((e) => events.push(e));
  const finished = (async () => {
    try {
      const snapshot = await run.execute();
      // The files of removed worktrees are deleted after the result: wait, as a process would before exiting.
      await run.settled();
      return snapshot;
    } finally {
      subscription.dispose();
      run.store.dispose();
    }
  })();
  // A test that fails before awaiting the run must not turn its end into an unhandled rejection.
  finished.catch(() => undefined);
  return { run, events, finished };
}

export interface FinishedRun {
  readonly run: WorkflowRun;
  readonly events: readonly RunEvent[];
  readonly snapshot: RunSnapshot;
}

/** Runs a workflow to its end: `WorkflowRun.prepare` then `execute`. */
export async function runWorkflow(repo: TempRepo, yaml: string | WorkflowSpec, options: TestRunOptions = {}): Promise<FinishedRun> {
  const started = await startWorkflow(repo, yaml, options);
  const snapshot = await started.finished;
  return { run: started.run, events: started.events, snapshot };
}

/** A step of a snapshot by id; fails the test when it is missing. */
export function stepOf(snapshot: RunSnapshot, id: string): StepSnapshot {
  const step = snapshot.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step "${id}" in run ${snapshot.runId}; steps: ${snapshot.steps.map((s) => s.id).join(', ')}`);
  return step;
}

/** id -> status of every step. */
export function statuses(snapshot: RunSnapshot): Record<string, string> {
  return Object.fromEntries(snapshot.steps.map((s) => [s.id, s.status]));
}

/** The step's result commit; fails the test when the step has none. */
export function resultOf(snapshot: RunSnapshot, id: string): string {
  const step = stepOf(snapshot, id);
  if (!step.result) throw new Error(`step "${id}" has no result: status ${step.status}, error ${step.error ?? 'none'}`);
  return step.result;
}

/** The aggregate commit; fails the test when the run made none. */
export function aggregateOf(snapshot: RunSnapshot): string {
  if (!snapshot.aggregate) throw new Error(`run ${snapshot.runId} has no aggregate (status ${snapshot.status})`);
  return snapshot.aggregate.commit;
}

/** A file of the run's state folder (manifest.json, conflicts.json, a step log…). */
export function readStateFile(run: WorkflowRun, file: string): Promise<string> {
  return readFile(path.join(run.stateDir, file), 'utf8');
}

/**
 * The shell's working folder as the OS names it, for use inside double quotes of a `run:` or
 * setup command: `$PWD` on POSIX. On Windows the shell is Git for Windows' (MSYS), whose `$PWD`
 * reads `/c/…`: `cygpath -w` gives the `C:\…` form the engine and the OS use.
 */
export const SHELL_CWD = process.platform === 'win32' ? '$(cygpath -w "$PWD")' : '$PWD';

/** Shell-quotes a value for a `run:` command. */
export function sq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
