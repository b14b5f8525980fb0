import { mkdir, appendFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchRepo } from '../lib/repo';
import { fmtMs, type Row } from '../lib/table';
import { exec, git, log, now, round } from '../lib/util';
import { busy, measureRun, type RunMeasurement } from './workflowRuns';

export const SETUP_SECTION = 'setup: 8 steps, each installing 3,000 dependency files';

export interface SetupStudy {
  readonly files: number;
  readonly withSetup: RunMeasurement;
  readonly bare: RunMeasurement;
  /** Eight sequential `git worktree add` each followed by the same install. */
  readonly rawMs: number;
  /** The install alone, eight times, into empty folders. */
  readonly installsMs: number;
  readonly rows: Row[];
}

const FILES = 3_000;

/**
 * Cold isolation plus setup: a run of 8 steps whose setup installs a dependency folder (a tar of
 * 3,000 files, standing for a package manager's install from its cache), against a plain `git
 * worktree add` plus the same install, eight times; and what the setup phase costs the engine
 * beyond the install itself.
 */
export async function setupStudy(repo: BenchRepo, workDir: string): Promise<SetupStudy> {
  const section = SETUP_SECTION;
  const dir = path.join(workDir, 'setup');
  const tar = await dependencyTar(dir);
  // Ignored as installs are: through the repository's own exclude file, so HEAD stays the same.
  await appendFile(path.join(repo.dir, '.git', 'info', 'exclude'), '\nnode_modules/\n');
  const install = `tar -xf ${tar}`;

  const installs = path.join(dir, 'installs');
  const t0 = now();
  for (let i = 0; i < 8; i++) {
    await mkdir(path.join(installs, `i${i}`), { recursive: true });
    await exec('tar', ['-xf', tar], { cwd: path.join(installs, `i${i}`) });
  }
  const installsMs = now() - t0;
  await rm(installs, { recursive: true, force: true });

  const raw = path.join(dir, 'raw');
  const t1 = now();
  for (let i = 0; i < 8; i++) {
    const wt = path.join(raw, `w${i}`);
    await git(repo.dir, ['worktree', 'add', '--detach', '--quiet', wt, 'HEAD']);
    await exec('tar', ['-xf', tar], { cwd: wt });
  }
  const rawMs = now() - t1;
  await rm(raw, { recursive: true, force: true });
  await git(repo.dir, ['worktree', 'prune']);

  const bare = await measureRun(repo, workDir, { name: 'setup-bare', steps: 8, sleepSeconds: 0, maxParallel: 8 });
  const withSetup = await measureRun(repo, workDir, {
    name: 'setup-install',
    steps: 8,
    sleepSeconds: 0,
    maxParallel: 8,
    setupCommands: [install],
  });
  log(
    `setup: raw ${fmtMs(rawMs)}, installs ${fmtMs(installsMs)}, bare run ${fmtMs(bare.wallMs)}, run with setup ${fmtMs(withSetup.wallMs)}`,
  );
  const rows: Row[] = [
    {
      section,
      measurement: `cold isolation + setup of 8 steps (run wall)${busy(withSetup)}`,
      value: fmtMs(withSetup.wallMs),
      baseline: `git worktree add + install ×8 ${fmtMs(rawMs)}`,
      ratio: withSetup.wallMs / rawMs,
      target: 'report',
    },
    {
      section,
      measurement: 'what the setup adds to a run: (run with setup − bare run)',
      value: fmtMs(withSetup.wallMs - bare.wallMs),
      baseline: `install ×8 alone ${fmtMs(installsMs)}`,
      ratio: (withSetup.wallMs - bare.wallMs) / installsMs,
    },
    { section, measurement: `bare run: 8 steps, no setup${busy(bare)}`, value: fmtMs(bare.wallMs) },
  ];
  return { files: FILES, withSetup, bare, rawMs: round(rawMs, 1), installsMs: round(installsMs, 1), rows };
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
