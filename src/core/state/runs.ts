import { readdir, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { runsDir } from '../run/stateDir';
import { ownerAlive } from './owner';
import { readRun, type LoadedRun } from './readRun';
import { stopGroup } from '../process/processTree';
import { RunStore } from './runStore';
import type { RunSnapshot } from './snapshot';

/**
 * Loads a run, and when it claims to be running but its owner is gone, marks it `interrupted`:
 * its finished steps keep their results and `resume` can finish it.
 */
export async function loadRun(dir: string, now: () => Date = () => new Date()): Promise<LoadedRun> {
  const loaded = await readRun(dir);
  if (loaded.snapshot.status !== 'running' || (await ownerAlive(dir, loaded.snapshot.owner, now()))) return loaded;
  // The owner is gone, so this process may write: repair a torn line, then record the interruption.
  const repaired = await readRun(dir, { repair: true });
  await stopOrphanedSteps(repaired.snapshot);
  const store = new RunStore(dir, { now }, { snapshot: repaired.snapshot, lastSeq: repaired.snapshot.lastSeq });
  store.append({
    type: 'run_interrupted',
    reason: `the process that ran it (pid ${repaired.snapshot.owner.pid} on ${repaired.snapshot.owner.host}) is gone`,
  });
  await store.flush();
  store.dispose();
  return { ...repaired, snapshot: store.snapshot, warnings: repaired.warnings };
}

/**
 * Stops the process trees of steps that were running when their owner died: they would go on
 * writing into worktrees that resume replaces. Only a process still working in the step's own
 * worktree is stopped, so a reused pid is never hit.
 */
async function stopOrphanedSteps(snapshot: RunSnapshot): Promise<void> {
  if (snapshot.owner.host !== hostname()) return;
  for (const step of snapshot.steps) {
    if (step.status !== 'running' || step.pid === null || step.worktree === null) continue;
    const cwd = await readlink(`/proc/${step.pid}/cwd`).catch(() => undefined);
    if (cwd !== undefined && (cwd === step.worktree || cwd.startsWith(`${step.worktree}/`))) await stopGroup(step.pid, 1_000);
  }
}

/** Every run of a repository, newest first; unreadable folders are reported, not fatal. */
export async function listRuns(repoRoot: string, now: () => Date = () => new Date()): Promise<{ runs: LoadedRun[]; problems: string[] }> {
  const dir = runsDir(repoRoot);
  const names = await readdir(dir).catch(() => [] as string[]);
  const runs: LoadedRun[] = [];
  const problems: string[] = [];
  for (const name of names) {
    try {
      runs.push(await loadRun(path.join(dir, name), now));
    } catch (error) {
      problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  runs.sort((a, b) =>
    a.snapshot.startedAt < b.snapshot.startedAt
      ? 1
      : a.snapshot.startedAt > b.snapshot.startedAt
        ? -1
        : a.snapshot.runId < b.snapshot.runId
          ? 1
          : -1,
  );
  return { runs, problems };
}
