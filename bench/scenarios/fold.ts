import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { GitObserver } from '../../src/core/git/git';
import { openRepository } from '../../src/core/git/repository';
import { foldResults, type FoldItem } from '../../src/core/merge/fold';
import { policyMatcher } from '../../src/core/merge/mergeRules';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { fixedDateEnv, git, log, median, now, round } from '../lib/util';

const STEPS = 8;
const FILES_PER_STEP = 50;
export const FOLD_TARGET = 1.2;

/**
 * 8 step result commits on the base: each changes 50 files no other step touches, and edits every
 * shared file at its own line (60 lines apart, so the 3-way merge combines them cleanly).
 */
export async function makeStepResults(repo: BenchRepo, scratch: string): Promise<FoldItem[]> {
  const shared = new Set(repo.sharedFiles);
  const ordinary = repo.files.filter((f) => !shared.has(f) && f.startsWith('src/'));
  const items: FoldItem[] = [];
  const region = Math.floor(repo.sharedLines / STEPS);
  for (let k = 0; k < STEPS; k++) {
    const dir = path.join(scratch, `step${k}`);
    await mkdir(dir, { recursive: true });
    const changes: { file: string; content: string }[] = [];
    for (let j = 0; j < FILES_PER_STEP; j++) {
      const file = ordinary[((j * STEPS + k) * 24) % ordinary.length];
      changes.push({ file, content: `${await readFile(path.join(repo.dir, file), 'utf8')}// edited by step ${k}\n` });
    }
    for (const file of repo.sharedFiles) {
      const lines = (await readFile(path.join(repo.dir, file), 'utf8')).split('\n');
      const at = k * region + Math.floor(region / 2);
      lines[at] = `${lines[at]} (edited by step ${k})`;
      changes.push({ file, content: lines.join('\n') });
    }
    const tmpFiles = changes.map((_, i) => path.join(dir, `blob${i}`));
    await Promise.all(changes.map((c, i) => writeFile(tmpFiles[i], c.content)));
    const oids = (await git(repo.dir, ['hash-object', '-w', '--', ...tmpFiles])).split('\n');
    const env = { GIT_INDEX_FILE: path.join(dir, 'index') };
    await git(repo.dir, ['read-tree', repo.tree], { env });
    await git(repo.dir, ['update-index', '--index-info'], { env, input: changes.map((c, i) => `100644 ${oids[i]}\t${c.file}\n`).join('') });
    const tree = await git(repo.dir, ['write-tree'], { env });
    const commit = await git(repo.dir, ['commit-tree', tree, '-p', repo.head, '-m', `bench step ${k}`], { env: fixedDateEnv(repo.time) });
    await rm(dir, { recursive: true, force: true });
    items.push({ step: `step${k}`, commit, parent: repo.head, parentTree: repo.tree, changed: changes.map((c) => c.file).sort() });
  }
  return items;
}

/** The baseline: plain `merge-tree --write-tree` of the running head with each result, then `commit-tree`. */
export async function rawFold(repo: BenchRepo, items: readonly FoldItem[]): Promise<{ tree: string; processes: number }> {
  let head = repo.head;
  let tree = repo.tree;
  let processes = 0;
  const env = fixedDateEnv(repo.time);
  for (const item of items) {
    const out = await git(repo.dir, ['merge-tree', '--write-tree', head, item.commit], { okCodes: [1] });
    tree = out.split('\n')[0];
    head = await git(repo.dir, ['commit-tree', tree, '-p', head, '-m', 'raw fold'], { env });
    processes += 2;
  }
  return { tree, processes };
}

export interface FoldStudy {
  readonly reps: number;
  readonly engineMs: number[];
  readonly rawMs: number[];
  readonly medianEngineMs: number;
  readonly medianRawMs: number;
  readonly ratio: number;
  readonly engineProcesses: number;
  readonly rawProcesses: number;
  /** Total ms inside git processes during one engine fold (from the observer), by command. */
  readonly engineGitByCommand: Record<string, { count: number; ms: number }>;
  readonly sameTree: boolean;
  readonly conflicts: number;
  /** The 8 step result commits (reused to time recycling worktrees). */
  readonly stepCommits: string[];
}

/** Section 5: the engine's foldResults against the raw fold of the same 8 commits, median of `reps`. */
export async function foldStudy(repo: BenchRepo, scratch: string, reps: number): Promise<{ study: FoldStudy; rows: Row[] }> {
  const items = await makeStepResults(repo, scratch);
  let observing = false;
  let calls: { args: readonly string[]; ms: number }[] = [];
  const observer: GitObserver = (args, ms) => {
    if (observing) calls.push({ args, ms });
  };
  // The observer hook of src/core/git/git.ts, reached through openRepository.
  const engineRepo = await openRepository(repo.dir, observer);
  const options = { policyFor: policyMatcher([]), scratchDir: path.join(engineRepo.commonDir, 'tapps-flow', 'tmp'), time: repo.time };
  const engineFold = () => foldResults(engineRepo, { commit: repo.head, tree: repo.tree }, items, options);

  // Warm-up of both, untimed.
  const warmEngine = await engineFold();
  const warmRaw = await rawFold(repo, items);
  const engineMs: number[] = [];
  const rawMs: number[] = [];
  let engineProcesses = 0;
  let byCommand: Record<string, { count: number; ms: number }> = {};
  for (let r = 0; r < reps; r++) {
    calls = [];
    observing = true;
    let t = now();
    await engineFold();
    engineMs.push(now() - t);
    observing = false;
    engineProcesses = calls.length;
    byCommand = {};
    for (const c of calls) {
      const e = (byCommand[c.args[0]] ??= { count: 0, ms: 0 });
      e.count += 1;
      e.ms = round(e.ms + c.ms, 1);
    }
    t = now();
    await rawFold(repo, items);
    rawMs.push(now() - t);
  }
  const medianEngineMs = median(engineMs);
  const medianRawMs = median(rawMs);
  const ratio = medianEngineMs / medianRawMs;
  const study: FoldStudy = {
    reps,
    engineMs: engineMs.map((x) => round(x, 1)),
    rawMs: rawMs.map((x) => round(x, 1)),
    medianEngineMs,
    medianRawMs,
    ratio,
    engineProcesses,
    rawProcesses: warmRaw.processes,
    engineGitByCommand: byCommand,
    sameTree: warmEngine.tree === warmRaw.tree,
    conflicts: warmEngine.conflicts.length,
    stepCommits: items.map((i) => i.commit),
  };
  log(`fold: engine ${fmtMs(medianEngineMs)}, raw ${fmtMs(medianRawMs)}, ratio ${ratio.toFixed(2)}`);
  const rows: Row[] = [
    {
      section: 'fold (8 results × 54 files)',
      measurement: `foldResults, text policy, median of ${reps}`,
      value: fmtMs(medianEngineMs),
      baseline: `raw merge-tree + commit-tree ${fmtMs(medianRawMs)}`,
      ratio,
      target: `≤ ${FOLD_TARGET}×`,
      ok: ratio <= FOLD_TARGET,
      note: `engine runs ${study.engineMs.map((x) => fmtMs(x)).join(', ')}; raw runs ${study.rawMs.map((x) => fmtMs(x)).join(', ')}`,
    },
    {
      section: 'fold (8 results × 54 files)',
      measurement: 'git processes per fold (engine via Git observer / raw)',
      value: `${engineProcesses}`,
      baseline: `raw ${study.rawProcesses}`,
      ratio: engineProcesses / study.rawProcesses,
      note: `engine git time by command: ${Object.entries(byCommand)
        .map(([k, v]) => `${k} ${v.count}× ${fmtMs(v.ms)}`)
        .join('; ')}; same tree as raw: ${study.sameTree ? 'yes' : 'NO'}; conflicts: ${study.conflicts}`,
    },
  ];
  return { study, rows };
}
