import { constants } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Repository } from '../git/repository';
import { STATE_FOLDER } from '../git/repository';
import { hostname } from 'node:os';
import { identityComparable, recordedProcessAlive } from '../process/processIdentity';
import { environmentReader } from '../process/processTable';
import { stopGroup } from '../process/processTree';
import { stopProcessesOf, TAG_VARIABLES, taggedProcesses, ticksOfIdentity } from '../process/stepProcesses';
import { currentOs } from '../process/platform';
import { runDir, runsDir, STATE_TRASH_PREFIX, stateFolderProblem } from '../run/stateDir';
import { idProblem } from '../util/ids';
import { inspectLock } from '../util/lock';
import { candidateWorktreeKey, checkWorktreeKey } from './checkRuns';
import { readRun, type LoadedRun } from './readRun';
import { runLockPath, runsLeftLocked, worktreeRoots, type RunsLocation } from './runLocation';
import { newestFirst, reduce, type RunSnapshot } from './snapshot';
import { openNoFollow } from '../util/openNoFollow';

/** A run as a reader sees it: its validated state, and whether anything may act on it. */
export interface RunView extends LoadedRun {
  /** A live process holds the run's lock: it runs it (or resumes, resolves, applies it) right now. */
  readonly live: boolean;
  /**
   * Why nothing may act on the run: its state is tracked by git (it came with a clone, so its
   * pids, paths and commits are someone else's). Undefined when it may.
   */
  readonly readOnly: string | undefined;
}

export interface ReadRunsOptions {
  readonly now?: () => Date;
  /** The run ids whose state git tracks (see `trackedRunIds`); unknown when not given. */
  readonly tracked?: ReadonlySet<string>;
  /** The repository's worktree roots (see `worktreeRoots`), when the caller has them already. */
  readonly worktreeRoots?: readonly string[];
}

/**
 * The run ids whose state folder holds files git tracks. Such state arrived with the repository
 * (committed by someone, planted by a hostile one): it is shown, never acted on.
 */
export async function trackedRunIds(repo: Pick<Repository, 'git'>): Promise<Set<string>> {
  const prefix = `${STATE_FOLDER}/workflow-state/`;
  const out = await repo.git.run(['ls-files', '-z', '--cached', '--', prefix]);
  const ids = new Set<string>();
  for (const file of out.split('\0')) if (file.startsWith(prefix)) ids.add(file.slice(prefix.length).split('/')[0]);
  return ids;
}

/** The snapshot with the interruption that a writer records when it takes the run over. */
export function asInterrupted(snapshot: RunSnapshot, reason: string, time: Date): RunSnapshot {
  const interrupted = reduce(snapshot, { type: 'run_interrupted', reason, seq: snapshot.lastSeq + 1, time: time.toISOString() });
  return { ...interrupted, lastSeq: snapshot.lastSeq };
}

/** Why a run whose owner is gone was interrupted, in a user's words. */
export function interruptionReason(snapshot: RunSnapshot): string {
  return `interrupted: the process that ran it (pid ${snapshot.owner.pid} on ${snapshot.owner.host}) stopped`;
}

/**
 * Reads one run without writing anything. A run whose state says it is running while no live
 * process holds its lock is shown as the writer that takes it over will record it: interrupted,
 * with the steps that were running interrupted too.
 */
export async function loadRun(location: RunsLocation, runId: string, options: ReadRunsOptions = {}): Promise<RunView> {
  const problem = idProblem('run', runId) ?? (await stateFolderProblem(location.root, runId));
  if (problem) throw new Error(problem);
  const roots = options.worktreeRoots ?? (await worktreeRoots(location));
  const loaded = await readRun(runDir(location.root, runId), { worktreeRoots: roots });
  const live = (await inspectLock(runLockPath(location, runId))).held;
  const readOnly = options.tracked?.has(runId)
    ? `its state is tracked by git (it came with the repository, not from a run on this machine); it is shown read-only`
    : undefined;
  const now = options.now ?? (() => new Date());
  const snapshot =
    loaded.snapshot.status === 'running' && !live
      ? asInterrupted(loaded.snapshot, interruptionReason(loaded.snapshot), now())
      : loaded.snapshot;
  return { ...loaded, snapshot, live, readOnly, warnings: readOnly ? [readOnly, ...loaded.warnings] : loaded.warnings };
}

/**
 * Every run of a repository, newest first; a damaged run folder is reported, not fatal. Only the
 * folders that hold a run are looked at (see `holdsRun`): whatever else is in the state folder
 * belongs to another tool and is passed over in silence.
 */
export async function listRuns(location: RunsLocation, options: ReadRunsOptions = {}): Promise<{ runs: RunView[]; problems: string[] }> {
  const problems: string[] = [];
  const folderProblem = await stateFolderProblem(location.root);
  if (folderProblem) return { runs: [], problems: [folderProblem] };
  const dir = runsDir(location.root);
  const names = await readdir(dir).catch(() => [] as string[]);
  const roots = await worktreeRoots(location); // once for every run
  const runs: RunView[] = [];
  for (const name of names.sort()) {
    if (name.startsWith(STATE_TRASH_PREFIX) || !(await holdsRun(path.join(dir, name)))) continue;
    if (idProblem('run', name)) {
      problems.push(`${name}: not a run folder (its name is not a run id)`);
      continue;
    }
    try {
      runs.push(await loadRun(location, name, { ...options, worktreeRoots: roots }));
    } catch (error) {
      problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  runs.sort(newestFirst);
  return { runs, problems };
}

/** What a run's folder holds besides `events.jsonl`: any one of them makes a folder a run's. */
const RUN_ENTRIES = ['state.json', 'steps', 'requests', 'manifest.json', 'conflicts.json', 'conflicts.md'];

/** How much of an `events.jsonl` is read to tell whose it is: its first line, which is short in every format seen. */
const FIRST_LINE_BYTES = 64 * 1024;

/**
 * Whether an entry of the state folder holds a run of Tapps Flow (possibly a damaged one), rather
 * than another tool's state: TappsCodingAgents keeps its own in the same folder
 * (`<workflow>-<time>.json`, `<workflow>.meta.json`, `last.json`, `history/`, `events/`, and
 * `<workflow-id>/` folders of `events.jsonl` and `checkpoint.json`). A run is a real folder (never
 * a symlink) holding a file or folder of a run; an `events.jsonl` alone counts, unless its first
 * line is a complete record of another format (a JSON object that is not a run's first event).
 * Reads at most the first 64 KiB of one file, never through a symlink.
 */
export async function holdsRun(dir: string): Promise<boolean> {
  const stat = await lstat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) return false;
  for (const name of RUN_ENTRIES) if (await present(path.join(dir, name))) return true;
  const first = await firstLine(path.join(dir, 'events.jsonl'));
  return first !== undefined && !isOtherRecord(first);
}

/** Whether anything is at `file` (a symlink counts; it is not followed). */
async function present(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** The first line of a file; undefined when there is no such file, '' when it cannot be read as one (a symlink, a pipe). */
async function firstLine(file: string): Promise<string | undefined> {
  const handle = await openNoFollow(file, constants.O_RDONLY).catch((error: NodeJS.ErrnoException) =>
    error.code === 'ENOENT' || error.code === 'ENOTDIR' ? undefined : null,
  );
  if (handle === undefined) return undefined;
  if (handle === null) return '';
  try {
    if (!(await handle.stat()).isFile()) return '';
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(FIRST_LINE_BYTES), 0, FIRST_LINE_BYTES, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    const end = text.indexOf('\n');
    return end < 0 ? text : text.slice(0, end);
  } finally {
    await handle.close();
  }
}

/** Whether a line is a whole JSON record that a run never begins with (a run's first event is `run_started`). */
function isOtherRecord(line: string): boolean {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return false; // torn or garbled: a damaged run's, as far as anyone can tell
  }
  return record !== null && typeof record === 'object' && !Array.isArray(record) && (record as { type?: unknown }).type !== 'run_started';
}

/**
 * Stops the process trees of steps that were running when their run's owner died: they would go
 * on writing into worktrees that resume replaces. A process is signalled only when it is
 * verifiably that step's: on this machine, with the pid and start time recorded when the step
 * started, and the run and step ids in its environment. A recorded pid of any other process (a
 * reused one, or one named by planted state) is never touched. Returns the steps stopped.
 */
export async function stopOrphanedSteps(run: RunView, graceMs = 1_000): Promise<string[]> {
  if (run.live || run.readOnly) return [];
  return stopStepProcesses(run, graceMs);
}

/**
 * `stopOrphanedSteps` for the writer that holds the run's lock (its owner is gone). Every process
 * of a step start is found by its tag (the start's token in its environment, with the run and
 * step ids; on Windows, which cannot read it, by descent from the step's recorded first process),
 * and must have started after that process (in this boot, on Linux): a token copied into another
 * process's environment, or planted in the state, names nothing older. Starts recorded before tokens existed fall back to
 * their verified leader's group.
 */
export async function stopStepProcesses(run: LoadedRun, graceMs = 1_000): Promise<string[]> {
  if (run.snapshot.owner.host !== hostname()) return [];
  const stopped: string[] = [];
  for (const start of stepStarts(run)) {
    if (start.token !== undefined) {
      if (!identityComparable(start.identity)) continue;
      const tag = { runId: run.snapshot.runId, stepId: start.step, token: start.token };
      // By descent only where environments cannot be read (Windows): the recorded pid and start
      // time come from the run's state, which a clone can plant, and a process named there with
      // its exact start time (milliseconds on Windows) would be stopped with its children. Where
      // tags can be read, only the tag, which no planted state can give a process, counts.
      const leader = currentOs() === 'win32' ? (start.pid ?? undefined) : undefined;
      if ((await stopProcessesOf({ tag, leader, notBefore: ticksOfIdentity(start.identity) }, graceMs)) > 0) stopped.push(start.step);
    } else if (start.pid !== null && isStepProcess(start.pid, start.identity, run.snapshot.owner.host, run.snapshot.runId, start.step)) {
      await stopGroup(start.pid, graceMs);
      stopped.push(start.step);
    }
  }
  return [...new Set(stopped)];
}

/**
 * Every recorded start of a step's processes, its setup commands' and its agent's (a resumed run
 * may have started a step more than once), of its candidates' and of the checks' commands.
 */
function stepStarts(run: LoadedRun): Array<{ step: string; pid: number | null; identity: string | null; token?: string }> {
  return run.events.flatMap((e) => {
    if (e.type === 'step_started' || (e.type === 'step_setting_up' && e.pid !== null))
      return [{ step: e.step, pid: e.pid, identity: e.identity ?? null, ...(e.token ? { token: e.token } : {}) }];
    // A check's processes carry the tag of its worktree key (see runCheck).
    if (e.type === 'check_started' && e.pid !== null)
      return [{ step: checkWorktreeKey(e.n), pid: e.pid, identity: e.identity ?? null, token: e.token }];
    // A candidate's processes carry the tag of its worktree key (see CandidateGroup).
    if (e.type === 'candidate_started' && e.pid !== null)
      return [
        {
          step: candidateWorktreeKey(e.step, e.candidate),
          pid: e.pid,
          identity: e.identity ?? null,
          ...(e.token ? { token: e.token } : {}),
        },
      ];
    return [];
  });
}

/**
 * What an engine does when it starts in a repository (any command, the extension's activation in
 * a trusted workspace): stops the processes that steps of this repository's interrupted runs left
 * running when their engine died. Cheap when there are none: one pass over the process table
 * finds tagged processes before any run is read (on Windows, which has no tags, the runs whose
 * writer left its lock behind are read).
 * Runs whose lock a live process holds, runs of other repositories and read-only (tracked) runs
 * are left alone. Returns what was stopped.
 */
export async function sweepOrphans(
  location: RunsLocation & { readonly git?: Repository['git'] },
  graceMs = 1_000,
): Promise<Array<{ runId: string; steps: string[] }>> {
  const runIds = new Set<string>();
  // Where tags cannot be read (Windows), the candidates are the runs whose writer left its lock
  // behind; only one whose engine is gone is swept (by descent from its steps' recorded starts).
  const candidates = currentOs() === 'win32' ? await runsLeftLocked(location) : taggedProcesses().map((t) => t.runId);
  for (const id of candidates) if (!idProblem('run', id)) runIds.add(id);
  if (runIds.size === 0) return [];
  const tracked = location.git ? await trackedRunIds({ git: location.git }) : new Set<string>();
  const swept: Array<{ runId: string; steps: string[] }> = [];
  for (const runId of [...runIds].sort()) {
    if (tracked.has(runId) || (await stateFolderProblem(location.root, runId))) continue;
    const run = await loadRun(location, runId, { tracked }).catch(() => undefined);
    if (!run || run.live || run.readOnly) continue;
    const steps = await stopStepProcesses(run, graceMs);
    if (steps.length > 0) swept.push({ runId, steps });
  }
  return swept;
}

/** Whether `pid` is, now, the leader of the process tree that step `stepId` of run `runId` started. */
export function isStepProcess(pid: number, identity: string | null, host: string, runId: string, stepId: string): boolean {
  if (identity === null) return false; // nothing to tell a reused pid by
  if (recordedProcessAlive({ pid, host, identity }) !== true) return false;
  const env = environmentReader(currentOs())(pid);
  return env?.get(TAG_VARIABLES.run) === runId && env?.get(TAG_VARIABLES.step) === stepId;
}
