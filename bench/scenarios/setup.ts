import { mkdir, appendFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { exec, git, log, median, now, round } from '../lib/util';
import { measureRun, type RunMeasurement } from './workflowRuns';
import { fsProbe } from '../lib/fsProbe';
import { WorktreePool } from '../../src/core/git/worktreePool';
import { defaultWorktreeRoot } from '../../src/core/git/worktrees';
import { openRepository } from '../../src/core/git/repository';
import { bringFolder, reflinksIn, type Strategy } from '../../src/core/setup/dependencies';
import { DependencyStore } from '../../src/core/setup/dependencyStore';

export const SETUP_SECTION = 'setup: 8 steps, each installing 3,000 dependency files';

export interface SetupRound {
  /** µs per file creation just before the round (see fsProbe). */
  readonly diskUsPerFile: number;
  /** Eight sequential `git worktree add` each followed by the same install. */
  readonly rawMs: number;
  /** The install alone, eight times, into empty folders. */
  readonly installsMs: number;
  readonly bare: RunMeasurement;
  /** Installs in every worktree (`dependency_sharing: none`). */
  readonly withSetup: RunMeasurement;
  /** Cold runs (no pool, an empty store) sharing the installed folder each way. */
  readonly shared: Readonly<Record<string, RunMeasurement>>;
  /** A run with setup whose worktrees come from a pool a run with the same setup filled. */
  readonly warm: RunMeasurement;
}

/** Bringing the installed folder into 8 worktrees each way, against 8 installs. */
export interface StrategyCost {
  readonly strategy: string;
  readonly ms: number;
  /** Disk each worktree's folder adds (blocks; hard-linked files counted once, with the kept copy). */
  readonly bytesPerStep: number;
}

export interface SetupStudy {
  readonly files: number;
  readonly rounds: readonly SetupRound[];
  readonly strategies: readonly StrategyCost[];
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
  const root = defaultWorktreeRoot(await openRepository(repo.dir));
  const store = new DependencyStore(root);
  const strategies = ['copy', 'hardlink', 'symlink', ...((await reflinksIn(root)) ? ['reflink'] : [])];
  const install = [`tar -xf ${tar}`];
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
          setupCommands: install,
          dependencySharing: 'none',
        }),
      shared: async () => {
        const got: Record<string, RunMeasurement> = {};
        for (const strategy of strategies) {
          await store.trim(); // cold: the first worktree installs, the other seven get its folder
          got[strategy] = await measureRun(repo, workDir, {
            name: `setup-${strategy}-${r}`,
            steps: 8,
            sleepSeconds: 0,
            maxParallel: 8,
            setupCommands: install,
            dependencySharing: strategy,
          });
        }
        return got;
      },
      warm: async () => {
        // Eight held at once by steps long enough for all to start, then parked with their folder.
        const spec = { steps: 8, maxParallel: 8, poolSize: 8, setupCommands: install };
        await measureRun(repo, workDir, { ...spec, name: `setup-fill-${r}`, sleepSeconds: 15 });
        const warm = await measureRun(repo, workDir, { ...spec, name: `setup-warm-${r}`, sleepSeconds: 0 });
        await new WorktreePool(await openRepository(repo.dir), root, 0).trim();
        await store.trim();
        return warm;
      },
    };
    const order =
      r % 2 === 0
        ? (['raw', 'installs', 'bare', 'withSetup', 'shared', 'warm'] as const)
        : (['warm', 'shared', 'withSetup', 'bare', 'installs', 'raw'] as const);
    const got: Partial<Record<keyof typeof parts, number | RunMeasurement | Record<string, RunMeasurement>>> = {};
    for (const name of order) got[name] = await parts[name]();
    const round_: SetupRound = {
      diskUsPerFile,
      rawMs: round(got.raw as number, 1),
      installsMs: round(got.installs as number, 1),
      bare: got.bare as RunMeasurement,
      withSetup: got.withSetup as RunMeasurement,
      shared: got.shared as Record<string, RunMeasurement>,
      warm: got.warm as RunMeasurement,
    };
    log(
      `setup round ${r + 1}: disk ${diskUsPerFile} µs/file; raw ${fmtMs(round_.rawMs)}, installs ${fmtMs(round_.installsMs)}, bare run ${fmtMs(round_.bare.wallMs)}, run with setup ${fmtMs(round_.withSetup.wallMs)}, ${strategies.map((s) => `${s} ${fmtMs(round_.shared[s].wallMs)}`).join(', ')}, warm ${fmtMs(round_.warm.wallMs)}`,
    );
    results.push(round_);
  }
  const m = (f: (r: SetupRound) => number) => median(results.map(f));
  const raw = m((r) => r.rawMs);
  const installs = m((r) => r.installsMs);
  const withSetup = m((r) => r.withSetup.wallMs);
  const bare = m((r) => r.bare.wallMs);
  const phase = median(results.flatMap((r) => r.withSetup.breakdown.setupPhaseMs));
  const warm = m((r) => r.warm.wallMs);
  const costs = await strategyCosts(path.join(dir, 'strategies'), tar, strategies);
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
    {
      section,
      measurement: `warm isolation + setup of 8 steps (pooled worktrees keeping their node_modules), ${of}`,
      value: fmtMs(warm),
      baseline: `cold, installing in each ${fmtMs(withSetup)}`,
      ratio: warm / withSetup,
      target: '≤ 0.1×',
    },
    ...strategies.map((strategy) => {
      const wall = m((r) => r.shared[strategy].wallMs);
      return {
        section,
        measurement: `cold isolation + setup, shared by ${strategy} (one install, seven brought), ${of}`,
        value: fmtMs(wall),
        baseline: `installing in each ${fmtMs(withSetup)}`,
        ratio: wall / withSetup,
      };
    }),
    ...costs.map((c) => ({
      section,
      measurement: `bring the installed folder into 8 worktrees by ${c.strategy}: time, and disk per step ${fmtBytes(c.bytesPerStep)}`,
      value: fmtMs(c.ms),
      baseline: `8 installs ${fmtMs(costs.find((x) => x.strategy === 'install')!.ms)}, ${fmtBytes(costs.find((x) => x.strategy === 'install')!.bytesPerStep)} per step`,
      ratio: c.ms / costs.find((x) => x.strategy === 'install')!.ms,
    })),
  ];
  return { files: FILES, rounds: results, strategies: costs, rows };
}

/**
 * Time and disk of bringing one installed folder into 8 worktrees each way (`install` is the tar
 * itself, 8 times), each after a probe-free fresh folder; disk counted by `du` over the kept copy
 * and the 8 (hard links once), less the kept copy.
 */
async function strategyCosts(dir: string, tar: string, strategies: readonly string[]): Promise<StrategyCost[]> {
  const costs: StrategyCost[] = [];
  await rm(dir, { recursive: true, force: true });
  const kept = path.join(dir, 'kept');
  await mkdir(kept, { recursive: true });
  await exec('tar', ['-xf', tar], { cwd: kept });
  const keptKb = Number((await exec('du', ['-sk', kept], { cwd: dir })).stdout.split('\t')[0]);
  for (const strategy of ['install', ...strategies]) {
    const targets = Array.from({ length: 8 }, (_, i) => path.join(dir, strategy, `w${i}`));
    const t0 = now();
    for (const target of targets) {
      if (strategy === 'install') {
        await mkdir(target, { recursive: true });
        await exec('tar', ['-xf', tar], { cwd: target });
      } else await bringFolder(path.join(kept, 'node_modules'), path.join(target, 'node_modules'), strategy as Strategy);
    }
    const ms = now() - t0;
    const total = (await exec('du', ['-skc', kept, ...targets], { cwd: dir })).stdout.trim().split('\n').pop()!.split('\t')[0];
    costs.push({ strategy, ms: round(ms, 1), bytesPerStep: ((Number(total) - keptKb) * 1024) / 8 });
    await rm(path.join(dir, strategy), { recursive: true, force: true });
  }
  await rm(dir, { recursive: true, force: true });
  return costs;
}

function fmtBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
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
