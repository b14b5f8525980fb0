import { mkdir, appendFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { exec, git, log, median, now, round } from '../lib/util';
import { measureRun, type RunMeasurement } from './workflowRuns';
import { fsProbe } from '../lib/fsProbe';

export const SETUP_SECTION = 'setup: 8 steps, each installing 3,000 dependency files';

export interface SetupRound {
  /** µs per file creation just before the round (see fsProbe). */
  readonly diskUsPerFile: number;
  /** Eight sequential `git worktree add` each followed by the same install. */
  readonly rawMs: number;
  /** The install alone, eight times, into empty folders. */
  readonly installsMs: number;
  readonly bare: RunMeasurement;
  readonly withSetup: RunMeasurement;
}

export interface SetupStudy {
  readonly files: number;
  readonly rounds: readonly SetupRound[];
  readonly rows: Row[];
}

const FILES = 3_000;

/**
 * Cold isolation plus setup: a run of 8 steps whose setup installs a dependency folder (a tar of
 * 3,000 files, standing for a package manager's install from its cache), against a plain `git
 * worktree add` plus the same install, eight times; and what the setup phase costs the engine
 * beyond the install itself. Rounds alternate the order of the three, and each starts with a
 * probe of the disk: file creation slows for a while after mass deletions, and every part of a
 * round ends with one.
 */
export async function setupStudy(repo: BenchRepo, workDir: string, rounds: number): Promise<SetupStudy> {
  const section = SETUP_SECTION;
  const dir = path.join(workDir, 'setup');
  const tar = await dependencyTar(dir);
  // Ignored as installs are: through the repository's own exclude file, so HEAD stays the same.
  await appendFile(path.join(repo.dir, '.git', 'info', 'exclude'), '\nnode_modules/\n');
  const results: SetupRound[] = [];
  for (let r = 0; r < rounds; r++) {
    const diskUsPerFile = fsProbe(path.join(dir, 'probes'));
    const parts = {
      raw: () => rawAddsAndInstalls(repo, path.join(dir, `raw-${r}`), tar),
      installs: () => installsAlone(path.join(dir, `installs-${r}`), tar),
      bare: () => measureRun(repo, workDir, { name: `setup-bare-${r}`, steps: 8, sleepSeconds: 0, maxParallel: 8 }),
      withSetup: () =>
        measureRun(repo, workDir, {
          name: `setup-install-${r}`,
          steps: 8,
          sleepSeconds: 0,
          maxParallel: 8,
          setupCommands: [`tar -xf ${tar}`],
        }),
    };
    const order = r % 2 === 0 ? (['raw', 'installs', 'bare', 'withSetup'] as const) : (['withSetup', 'bare', 'installs', 'raw'] as const);
    const got: Partial<Record<keyof typeof parts, number | RunMeasurement>> = {};
    for (const name of order) got[name] = await parts[name]();
    const round_: SetupRound = {
      diskUsPerFile,
      rawMs: round(got.raw as number, 1),
      installsMs: round(got.installs as number, 1),
      bare: got.bare as RunMeasurement,
      withSetup: got.withSetup as RunMeasurement,
    };
    log(
      `setup round ${r + 1}: disk ${diskUsPerFile} µs/file; raw ${fmtMs(round_.rawMs)}, installs ${fmtMs(round_.installsMs)}, bare run ${fmtMs(round_.bare.wallMs)}, run with setup ${fmtMs(round_.withSetup.wallMs)}`,
    );
    results.push(round_);
  }
  const m = (f: (r: SetupRound) => number) => median(results.map(f));
  const raw = m((r) => r.rawMs);
  const installs = m((r) => r.installsMs);
  const withSetup = m((r) => r.withSetup.wallMs);
  const bare = m((r) => r.bare.wallMs);
  const phase = median(results.flatMap((r) => r.withSetup.breakdown.setupPhaseMs));
  const of = `median of ${rounds} rounds`;
  const rows: Row[] = [
    {
      section,
      measurement: `cold isolation + setup of 8 steps (run wall), ${of}`,
      value: fmtMs(withSetup),
      baseline: `git worktree add + install ×8 ${fmtMs(raw)}`,
      ratio: withSetup / raw,
      target: 'report',
      note: `disk before each round: ${results.map((r) => `${r.diskUsPerFile} µs`).join(', ')} per file creation`,
    },
    {
      section,
      measurement: 'what the setup adds to a run: (run with setup − bare run)',
      value: fmtMs(withSetup - bare),
      baseline: `install ×8 alone ${fmtMs(installs)}`,
      ratio: (withSetup - bare) / installs,
    },
    { section, measurement: `bare run: 8 steps, no setup, ${of}`, value: fmtMs(bare) },
    {
      section,
      measurement: "setup phase of a step (its start → its agent's start), median of all steps",
      value: fmtMs(phase),
      baseline: `one install ${fmtMs(installs / 8)}`,
      ratio: phase / (installs / 8),
    },
  ];
  return { files: FILES, rounds: results, rows };
}

async function installsAlone(dir: string, tar: string): Promise<number> {
  const t0 = now();
  for (let i = 0; i < 8; i++) {
    await mkdir(path.join(dir, `i${i}`), { recursive: true });
    await exec('tar', ['-xf', tar], { cwd: path.join(dir, `i${i}`) });
  }
  const ms = now() - t0;
  await rm(dir, { recursive: true, force: true });
  return ms;
}

async function rawAddsAndInstalls(repo: BenchRepo, dir: string, tar: string): Promise<number> {
  const t0 = now();
  for (let i = 0; i < 8; i++) {
    const wt = path.join(dir, `w${i}`);
    await git(repo.dir, ['worktree', 'add', '--detach', '--quiet', wt, 'HEAD']);
    await exec('tar', ['-xf', tar], { cwd: wt });
  }
  const ms = now() - t0;
  await rm(dir, { recursive: true, force: true });
  await git(repo.dir, ['worktree', 'prune']);
  return ms;
}

/** A tar of a `node_modules` folder of 3,000 small files in 300 packages. */
async function dependencyTar(dir: string): Promise<string> {
  const cache = path.join(dir, 'cache');
  for (let p = 0; p < FILES / 10; p++) {
    const pkg = path.join(cache, 'node_modules', `pkg-${p}`, 'lib');
    await mkdir(pkg, { recursive: true });
    for (let f = 0; f < 10; f++) await writeFile(path.join(pkg, `f${f}.js`), `module.exports = ${p * 10 + f};\n`.repeat(40));
  }
  const tar = path.join(dir, 'deps.tar');
  await exec('tar', ['-cf', tar, '-C', cache, 'node_modules'], { cwd: dir });
  await rm(cache, { recursive: true, force: true });
  return tar;
}
