import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { taggedProcesses } from '../../../src/core/process/stepProcesses';
import { runDir } from '../../../src/core/run/stateDir';
import { cli } from '../../unit/helpers/cli';
import type { TempRepo } from '../../unit/helpers/tempRepo';
import { writeWorkflow, type WorkflowSpec } from '../../unit/helpers/workflowRun';
import { plantedEvents, plantRun, startVictim } from './planted';

/** The two ways a step's processes are kept together, for suites that try each. */
export const CONTAINMENT_MODES = [
  { name: 'with bubblewrap', env: {} as NodeJS.ProcessEnv },
  { name: 'without bubblewrap (tagged processes)', env: { TAPPS_NO_BWRAP: '1' } as NodeJS.ProcessEnv },
] as const;

/** The processes of a run (its steps', candidates' and checks') still alive, by their tag. */
export function leftovers(runId: string): number {
  return taggedProcesses().filter((t) => t.runId === runId).length;
}

/** A path in a run's state folder: `stateOf(repo, 'r1', 'events.jsonl')`; the folder itself without parts. */
export function stateOf(repo: TempRepo, runId: string, ...parts: string[]): string {
  return path.join(runDir(repo.dir, runId), ...parts);
}

/** `status <run> --json`, which must succeed. */
export async function statusReport<T>(repo: TempRepo, runId: string): Promise<T> {
  const result = await cli(['status', runId, '--repo', repo.dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

/**
 * Plants a run in the clone whose last event is `start` (a check's or a candidate's start, say)
 * naming a process of no run, runs each command of `commands` (each must succeed), and asserts
 * the process was never signalled.
 */
export async function assertPlantedStartSignalsNothing(
  repo: TempRepo,
  start: (victimPid: number, seq: number) => object,
  commands: ReadonlyArray<readonly string[]>,
): Promise<void> {
  const victim = startVictim();
  try {
    const events = plantedEvents(repo, 'planted', [{ id: 'a' }])
      .trimEnd()
      .split('\n');
    await plantRun(
      path.join(repo.dir, '.tapps-agents', 'workflow-state', 'planted'),
      `${[...events, JSON.stringify(start(victim.pid, events.length))].join('\n')}\n`,
    );
    for (const args of commands) {
      const result = await cli([...args, '--repo', repo.dir]);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
    assert.ok(victim.alive(), 'the planted pid was signalled');
  } finally {
    victim.stop();
  }
}

/** `run` of this workflow is refused with exit 2, the position of the fault, and nothing written. */
export async function assertRefusedWithNothingWritten(repo: TempRepo, spec: WorkflowSpec, expected: RegExp): Promise<void> {
  const workflow = await writeWorkflow(repo, spec);
  const result = await cli(['run', workflow, '--repo', repo.dir]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, expected);
  assert.match(result.stderr, /workflow\.yaml:\d+:\d+:/);
  assert.ok(!existsSync(path.join(repo.dir, '.tapps-agents')), 'nothing written');
}
