import { appendFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyResult } from '../../src/core/apply/applyResult';
import { runDir, runRef } from '../../src/core/run/stateDir';
import { RunStore } from '../../src/core/state/runStore';
import { fsProbe } from '../lib/fsProbe';
import { COMMIT_TIME } from '../lib/repo';
import { fmtMs, fmtRatio, type Row } from '../lib/table';
import { git, log, median, now, round } from '../lib/util';

export const APPLY_TARGET = 1.5;
export const APPLY_SECTION = 'apply (50,000 changed files)';
const RUN_ID = 'bench-apply';
/** 50 × 20 folders of 50 files: 50,000 files in the base. */
const TOP = 50;
const MID = 20;
const PER_FOLDER = 50;
/** Files the run adds, in folders of their own: 25 × 100. */
const ADDED_FOLDERS = 25;
const ADDED_PER_FOLDER = 100;
/** Files the user edits after the run started (the result leaves them alone), so that apply merges. */
const USER_EDITS = 5;

export interface ApplyStudy {
  readonly files: number;
  readonly changed: number;
  readonly reps: number;
  readonly engineMs: number[];
  readonly rawMs: number[];
  readonly medianEngineMs: number;
  readonly medianRawMs: number;
  readonly ratio: number;
  /** The median of each round's engine / raw: less swayed than `ratio` when the disk's speed drifts during the study. */
  readonly pairedRatio: number;
  /** The median of each round's engine − raw: what apply adds to git's own checkout. */
  readonly overheadMs: number;
  /** The work tree after the engine's apply is the tree raw `merge-tree` gives (checked once). */
  readonly sameTree: boolean;
  /** µs per file creation before the first and after the last measurement. */
  readonly diskUsPerFile: readonly [number, number];
  readonly setupMs: number;
}

interface ApplyRepo {
  readonly dir: string;
  /** The user's files: the base plus a few edits of their own. */
  readonly userTree: string;
  /** What apply must leave: the user's edits and the run's result merged. */
  readonly targetTree: string;
  readonly files: number;
  readonly changed: number;
}

const content = (i: number, version: string) => `// file ${i}\nexport const value${i} = ${JSON.stringify(version)};\n`;

/** One `M` command of a fast-import stream, the content inline. */
function inline(file: string, text: string): string {
  return `M 100644 inline ${file}\ndata ${Buffer.byteLength(text)}\n${text}\n`;
}

function commit(ref: string, mark: number, message: string, from: number | undefined, body: string[]): string {
  const head = `commit ${ref}\nmark :${mark}\ncommitter Bench <bench@localhost> ${COMMIT_TIME} +0000\ndata ${message.length}\n${message}\n`;
  return `${head}${from === undefined ? '' : `from :${from}\n`}${body.join('')}\n`;
}

/**
 * A repository of 50,000 files checked out with a few edits of the user's, and a finished run whose
 * aggregate changes 50,000 paths against its base: 45,000 modified, 2,500 deleted, 2,500 added
 * in new folders. Built with `git fast-import` (seconds, where 100,000 `hash-object`s would take
 * minutes), the run's state written through the engine's own RunStore.
 */
async function makeApplyRepo(dir: string): Promise<ApplyRepo> {
  await mkdir(dir, { recursive: true });
  await git(dir, ['init', '--quiet', '--initial-branch=main']);
  for (const [k, v] of [
    ['user.name', 'Bench'],
    ['user.email', 'bench@localhost'],
    ['gc.auto', '0'],
  ])
    await git(dir, ['config', k, v]);
  const files: string[] = [];
  for (let p = 0; p < TOP; p++)
    for (let m = 0; m < MID; m++)
      for (let f = 0; f < PER_FOLDER; f++)
        files.push(`src/p${String(p).padStart(2, '0')}/m${String(m).padStart(2, '0')}/f${String(f).padStart(3, '0')}.ts`);
  const base: string[] = files.map((file, i) => inline(file, content(i, 'base')));
  const result: string[] = [];
  const untouched: number[] = [];
  files.forEach((file, i) => {
    if (i % 20 === 0) result.push(`D ${file}\n`);
    else if (i % 20 === 1) untouched.push(i);
    else result.push(inline(file, content(i, 'changed by the run')));
  });
  for (let g = 0; g < ADDED_FOLDERS; g++)
    for (let a = 0; a < ADDED_PER_FOLDER; a++)
      result.push(
        inline(`gen/g${String(g).padStart(2, '0')}/a${String(a).padStart(3, '0')}.ts`, content(1_000_000 + g * 1000 + a, 'added')),
      );
  const user = untouched.slice(0, USER_EDITS).map((i) => inline(files[i], content(i, 'edited by the user')));
  const stream = [
    commit('refs/heads/main', 1, 'base', undefined, base),
    commit('refs/bench/result', 2, 'Tapps Flow aggregate', 1, result),
    commit('refs/bench/user', 3, 'user edits', 1, user),
  ].join('');
  await git(dir, ['fast-import', '--quiet'], { input: stream });
  const [baseCommit, resultCommit, userCommit] = await Promise.all(
    ['refs/heads/main', 'refs/bench/result', 'refs/bench/user'].map((r) => git(dir, ['rev-parse', r])),
  );
  const rev = (r: string) => git(dir, ['rev-parse', `${r}^{tree}`]);
  const [baseTree, resultTree, userTree] = await Promise.all([rev(baseCommit), rev(resultCommit), rev(userCommit)]);
  const targetTree = (await git(dir, ['merge-tree', '--write-tree', userCommit, resultCommit])).split('\n')[0];

  // The user's checkout: HEAD at the base, their edits in the work tree and in their index.
  await git(dir, ['reset', '--quiet', '--hard', baseCommit]);
  await git(dir, ['read-tree', '-m', '-u', baseTree, userTree]);
  await appendFile(path.join(dir, '.git/info/exclude'), '/.tapps-agents/\n');

  // A finished run whose aggregate is the result commit, recorded as a run records it.
  await git(dir, ['update-ref', runRef(RUN_ID, 'base'), baseCommit]);
  await git(dir, ['update-ref', runRef(RUN_ID, 'aggregate'), resultCommit]);
  const store = new RunStore(runDir(dir, RUN_ID), { now: () => new Date(COMMIT_TIME * 1000) });
  store.append({
    type: 'run_started',
    runId: RUN_ID,
    repo: dir,
    workflow: { file: 'bench.yaml', id: 'bench-apply', name: 'bench apply' },
    base: { commit: baseCommit, tree: baseTree, head: baseCommit, time: COMMIT_TIME },
    settings: { maxParallel: 1, sequential: true },
    steps: [{ id: 'bulk', dependencies: [] }],
    owner: { pid: process.pid, host: 'bench', startedAt: new Date(COMMIT_TIME * 1000).toISOString() },
  });
  store.append({ type: 'step_started', step: 'bulk', worktree: dir, pid: null, base: baseCommit });
  store.append({ type: 'step_succeeded', step: 'bulk', result: resultCommit, tree: resultTree, changed: [], undeclared: [] });
  store.append({ type: 'aggregate_made', commit: resultCommit, tree: resultTree, partial: false, conflicts: 0 });
  store.append({ type: 'run_finished', status: 'succeeded' });
  await store.flush();
  store.dispose();
  const changed = (await git(dir, ['diff-tree', '-r', '--name-only', '--no-renames', userTree, targetTree])).split('\n').length;
  return { dir, userTree, targetTree, files: files.length, changed };
}

/**
 * Puts the work tree and the user's index back to the user's files (untimed, between
 * measurements): a checkout from the target back to the user's tree in a scratch index that then
 * becomes the index, refreshed a second later so that no entry is racily clean and both contenders
 * start from the same fresh index.
 */
async function resetToUser(repo: ApplyRepo, scratch: string): Promise<void> {
  const env = { GIT_INDEX_FILE: scratch };
  await git(repo.dir, ['read-tree', repo.targetTree], { env });
  await git(repo.dir, ['read-tree', '--reset', '-u', repo.targetTree, repo.userTree], { env });
  await rename(scratch, path.join(repo.dir, '.git/index'));
  await sleep(1100);
  await git(repo.dir, ['update-index', '-q', '--refresh'], { okCodes: [1] });
}

/** The tree git sees in the work tree (a throw-away index seeded with the user's). */
async function workTreeTree(repo: ApplyRepo, scratch: string): Promise<string> {
  const env = { GIT_INDEX_FILE: scratch };
  try {
    await git(repo.dir, ['read-tree', 'HEAD'], { env });
    await git(repo.dir, ['add', '--all', '--', '.'], { env });
    return await git(repo.dir, ['write-tree'], { env });
  } finally {
    await rm(scratch, { force: true });
  }
}

/**
 * The engine's apply of a run that changes 50,000 files against the plain `git read-tree -m -u`
 * of the same two trees (the user's files → the merged result), which is the checkout apply
 * itself ends with: the ratio is the price of capturing the user's files, merging their edits,
 * checking every added path on disk and keeping their index untouched. The two alternate (ABBA),
 * each from the same freshly reset state. The headline is the median of the rounds' own ratios:
 * mass deletions slow the file creations that follow on this disk for minutes (the resets delete
 * and create 50,000 files each), so the speed drifts during the study and the two sides' medians
 * can come from different disk states; the medians are reported too.
 */
export async function applyStudy(workDir: string, reps: number): Promise<{ study: ApplyStudy; rows: Row[] }> {
  const setup = now();
  const repo = await makeApplyRepo(path.join(workDir, 'apply-repo'));
  const scratch = path.join(workDir, 'apply-scratch-index');
  const setupMs = now() - setup;
  log(`apply: ${repo.files} files, run changes ${repo.changed} (setup ${fmtMs(setupMs)})`);

  const engine = async (): Promise<number> => {
    const t = now();
    const r = await applyResult(repo.dir, RUN_ID);
    const ms = now() - t;
    if (r.changed.length !== repo.changed) throw new Error(`apply changed ${r.changed.length} paths, expected ${repo.changed}`);
    return ms;
  };
  const raw = async (): Promise<number> => {
    const t = now();
    await git(repo.dir, ['read-tree', '-m', '-u', repo.userTree, repo.targetTree]);
    return now() - t;
  };

  // Warm-up of both (page cache, object packs), untimed; the engine's result is checked once.
  await engine();
  const sameTree = (await workTreeTree(repo, scratch)) === repo.targetTree;
  await resetToUser(repo, scratch);
  await raw();
  await resetToUser(repo, scratch);

  const diskBefore = fsProbe(path.join(workDir, 'fs-probes'));
  const engineMs: number[] = [];
  const rawMs: number[] = [];
  for (let r = 0; r < reps; r++) {
    for (const side of r % 2 === 0 ? (['engine', 'raw'] as const) : (['raw', 'engine'] as const)) {
      if (side === 'engine') engineMs.push(await engine());
      else rawMs.push(await raw());
      await resetToUser(repo, scratch);
    }
    log(`apply: round ${r + 1}/${reps}: engine ${fmtMs(engineMs[r])}, raw ${fmtMs(rawMs[r])}`);
  }
  const diskAfter = fsProbe(path.join(workDir, 'fs-probes'));
  const medianEngineMs = median(engineMs);
  const medianRawMs = median(rawMs);
  const ratio = medianEngineMs / medianRawMs;
  // Each round's two figures were taken back to back on the disk as it was then: their ratio
  // compares like with like, where the two medians may come from rounds minutes apart.
  const pairedRatio = median(engineMs.map((ms, i) => ms / rawMs[i]));
  const overheadMs = median(engineMs.map((ms, i) => ms - rawMs[i]));
  const study: ApplyStudy = {
    files: repo.files,
    changed: repo.changed,
    reps,
    engineMs: engineMs.map((x) => round(x, 1)),
    rawMs: rawMs.map((x) => round(x, 1)),
    medianEngineMs,
    medianRawMs,
    ratio,
    pairedRatio,
    overheadMs: round(overheadMs, 1),
    sameTree,
    diskUsPerFile: [diskBefore, diskAfter],
    setupMs: round(setupMs, 1),
  };
  log(
    `apply: engine ${fmtMs(medianEngineMs)}, raw ${fmtMs(medianRawMs)}, ratio ${ratio.toFixed(2)} (rounds' median ${pairedRatio.toFixed(2)})`,
  );
  const rows: Row[] = [
    {
      section: APPLY_SECTION,
      measurement: `applyResult ÷ raw git read-tree -m -u of the same trees, back to back: median of ${reps} rounds`,
      value: fmtRatio(pairedRatio),
      baseline: `overhead ${fmtMs(overheadMs)} per apply`,
      ratio: pairedRatio,
      target: `≤ ${APPLY_TARGET}×`,
      ok: pairedRatio <= APPLY_TARGET,
      note: `overhead = median of the rounds' engine − raw; work tree after apply = raw merge-tree result: ${sameTree ? 'yes' : 'NO'}`,
    },
    {
      section: APPLY_SECTION,
      measurement: `applyResult (capture, merge with ${USER_EDITS} edits of the user, plan, checkout), median of ${reps}`,
      value: fmtMs(medianEngineMs),
      baseline: `raw git read-tree -m -u ${fmtMs(medianRawMs)}`,
      ratio,
      note: `engine runs ${study.engineMs.map((x) => fmtMs(x)).join(', ')}; raw runs ${study.rawMs.map((x) => fmtMs(x)).join(', ')}`,
    },
    {
      section: APPLY_SECTION,
      measurement: 'disk: µs per file creation before the first / after the last measurement',
      value: `${diskBefore} / ${diskAfter}`,
      note: `${repo.files} files in the base; the run modifies 45,000, deletes 2,500 and adds 2,500 (${repo.changed} changed paths)`,
    },
  ];
  return { study, rows };
}
