import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, cp, link, lstat, mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Git } from '../git/git';
import { startProcessTree } from '../process/processTree';
import type { DependencySharing } from '../workflow/schema';
import { removeRetrying } from '../util/paths';
import { openNoFollow } from '../util/openNoFollow';

/**
 * Shared dependencies: the ignored folders a setup installs (node_modules, .venv, target, …) are
 * kept once per *key* (the setup's commands, the lockfiles and manifests at the step's base, the
 * platform) and brought into the next worktree with the same key instead of installed again.
 *
 * How a kept folder is brought (`dependency_sharing`):
 * - `reflink`: a copy-on-write clone of each file (Btrfs, XFS, APFS): fast, no extra disk, each
 *   worktree's files its own;
 * - `copy`: a plain copy: each worktree's files its own, the disk of an install;
 * - `hardlink`: the files are the kept ones (folders are the worktree's own): fast, no extra disk,
 *   but a step that rewrites an installed file in place changes it for every worktree; the kept
 *   folder is checked after each step and dropped when a step changed it;
 * - `symlink`: the folder is a link to the kept one: instant, but everything a step writes into it
 *   is shared; checked and dropped the same way;
 * - `auto` (default): `reflink` where the file system clones, else `copy`.
 *
 * A folder is kept only when it is relocatable (no file in it names the worktree it was installed
 * in: a Python venv's scripts do) and is a real folder. When a setup's only effect was its
 * dependency folders (no other ignored output, no tracked file changed), a worktree that gets them
 * all skips the commands.
 */

export type Strategy = Exclude<DependencySharing, 'auto' | 'none'>;

/** The ignored folders shared when a workflow does not name its own (matched by name, at any depth). */
export const DEFAULT_DEPENDENCY_FOLDERS = ['node_modules', '.venv', 'venv', 'target', 'vendor'] as const;

/** Files whose contents decide what an install produces: lockfiles, manifests, toolchain pins (by name, at any depth). */
const KEY_FILE_NAMES = new Set([
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'pnpm-workspace.yaml',
  'bun.lock',
  'bun.lockb',
  '.npmrc',
  '.yarnrc.yml',
  '.nvmrc',
  '.node-version',
  'pyproject.toml',
  'poetry.lock',
  'uv.lock',
  'Pipfile',
  'Pipfile.lock',
  'setup.py',
  'setup.cfg',
  '.python-version',
  'Cargo.toml',
  'Cargo.lock',
  'rust-toolchain',
  'rust-toolchain.toml',
  'Gemfile',
  'Gemfile.lock',
  'go.mod',
  'go.sum',
  'composer.json',
  'composer.lock',
  '.tool-versions',
]);
const isKeyFile = (name: string) => KEY_FILE_NAMES.has(name) || /^requirements.*\.txt$/.test(name);

/** What the shared dependencies of a plan are decided by. */
export interface DependencySpec {
  /** Folder names (or paths) of ignored dependency folders. */
  readonly folders: readonly string[];
  /** Extra tracked files (globs) whose contents change what the setup produces (a schema a generator reads). */
  readonly keyFiles: readonly string[];
}

/**
 * The key of a setup's dependencies at a tree: a hash of the commands, the environment the plan
 * sets, the platform, and every key file of the tree by path and blob id.
 */
export async function dependencyKey(
  git: Git,
  tree: string,
  inputs: { readonly commands: readonly string[]; readonly env: Readonly<Record<string, string>>; readonly spec: DependencySpec },
): Promise<string> {
  // The steps of a run ask for the same key (before their worktree is taken, and in their setup): listed once.
  const memo = `${tree}\0${JSON.stringify(inputs)}`;
  let key = keys.get(memo);
  if (!key) {
    key = computeKey(git, tree, inputs);
    keys.set(memo, key);
    if (keys.size > 64) keys.delete(keys.keys().next().value!);
    key.catch(() => keys.delete(memo));
  }
  return key;
}

const keys = new Map<string, Promise<string>>();

async function computeKey(
  git: Git,
  tree: string,
  inputs: { readonly commands: readonly string[]; readonly env: Readonly<Record<string, string>>; readonly spec: DependencySpec },
): Promise<string> {
  const listing = await git.run(['ls-tree', '-r', '-z', '--full-tree', tree]);
  const extra = inputs.spec.keyFiles.length > 0 ? picomatch([...inputs.spec.keyFiles], { dot: true }) : () => false;
  const files: string[] = [];
  for (const record of listing.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const file = record.slice(tab + 1);
    const name = file.slice(file.lastIndexOf('/') + 1);
    if (isKeyFile(name) || extra(file)) files.push(`${record.slice(0, tab).split(' ')[2]} ${file}`);
  }
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      v: 1,
      platform: process.platform,
      arch: process.arch,
      commands: inputs.commands,
      env: Object.entries(inputs.env).sort(([a], [b]) => (a < b ? -1 : 1)),
      folders: inputs.spec.folders,
      files: files.sort(),
    }),
  );
  return hash.digest('hex').slice(0, 32);
}

/**
 * The ignored dependency folders a worktree holds: ignored folders (topmost, as git lists them)
 * named like one of `spec.folders` (or at one of its paths), that are real folders.
 */
export async function dependencyFolders(git: Git, dir: string, spec: DependencySpec): Promise<string[]> {
  const listed = await git.run(['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory']);
  const found: string[] = [];
  for (const entry of listed.split('\0')) {
    if (!entry.endsWith('/')) continue;
    const rel = entry.slice(0, -1);
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (!spec.folders.some((f) => (f.includes('/') ? f.replace(/^\/|\/$/g, '') === rel : f === name))) continue;
    if ((await lstat(path.join(dir, rel)).catch(() => undefined))?.isDirectory()) found.push(rel);
  }
  return found.sort();
}

/** Whether a file under `dir` holds `needle` (files over 16 MiB are not read, and count as not holding it). */
export async function holdsText(dir: string, needle: string): Promise<boolean> {
  const wanted = Buffer.from(needle);
  const walk = async (folder: string): Promise<boolean> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (await walk(full)) return true;
      } else if (entry.isSymbolicLink()) {
        if ((await readlink(full)).includes(needle)) return true;
      } else if (entry.isFile()) {
        const handle = await openNoFollow(full, fsConstants.O_RDONLY);
        try {
          const stat = await handle.stat();
          if (stat.isFile() && stat.size <= 16 * 1024 * 1024 && (await handle.readFile()).includes(wanted)) return true;
        } finally {
          await handle.close();
        }
      }
    }
    return false;
  };
  return walk(dir);
}

const reflinkProbes = new Map<string, Promise<boolean>>();

/** Whether files copied within `dir`'s file system can be clones (copy-on-write). */
export function reflinksIn(dir: string): Promise<boolean> {
  let probe = reflinkProbes.get(dir);
  if (!probe) {
    probe = (async () => {
      const from = path.join(dir, `.reflink-probe.${process.pid}.${randomBytes(4).toString('hex')}`);
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(from, 'probe');
        await copyFile(from, `${from}.clone`, fsConstants.COPYFILE_FICLONE_FORCE);
        return true;
      } catch {
        return false;
      } finally {
        await removeRetrying(from, { force: true });
        await removeRetrying(`${from}.clone`, { force: true });
      }
    })();
    reflinkProbes.set(dir, probe);
  }
  return probe;
}

/** The strategy a setting comes to on the file system of `dir`. */
export async function strategyOf(sharing: DependencySharing, dir: string): Promise<Strategy | undefined> {
  if (sharing === 'none') return undefined;
  if (sharing === 'auto') return (await reflinksIn(dir)) ? 'reflink' : 'copy';
  return sharing;
}

/**
 * Brings the folder `from` to `to` (which must not exist) as the strategy says; symbolic links
 * inside are copied as they are. GNU `cp` where there is one (a tenth of the time of Node's own
 * copy, which makes several calls per file), else Node's file system calls.
 */
export async function bringFolder(from: string, to: string, strategy: Strategy): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  if (strategy === 'symlink') return symlink(from, to, 'dir');
  if (await copiedByCp(from, to, strategy)) return;
  if (strategy !== 'hardlink') {
    const mode = strategy === 'reflink' ? fsConstants.COPYFILE_FICLONE_FORCE : fsConstants.COPYFILE_FICLONE;
    return cp(from, to, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false, mode, preserveTimestamps: true });
  }
  const walk = async (a: string, b: string): Promise<void> => {
    await mkdir(b);
    for (const entry of await readdir(a, { withFileTypes: true })) {
      const src = path.join(a, entry.name);
      const dst = path.join(b, entry.name);
      if (entry.isDirectory()) await walk(src, dst);
      else if (entry.isSymbolicLink()) await symlink(await readlink(src), dst);
      else if (entry.isFile()) await link(src, dst);
    }
  };
  await walk(from, to);
}

/** Copies (or hard-links) with GNU cp; false when there is none, or it failed (nothing is left at `to`). */
async function copiedByCp(from: string, to: string, strategy: Exclude<Strategy, 'symlink'>): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  const how = strategy === 'hardlink' ? ['--link'] : [`--reflink=${strategy === 'reflink' ? 'always' : 'auto'}`];
  try {
    const tree = await startProcessTree(['cp', '-a', ...how, '--no-target-directory', '--', from, to], {
      cwd: path.dirname(to),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
      onOutput: () => undefined,
    });
    if ((await tree.exited).code === 0) return true;
  } catch {
    // No cp here: Node's calls below.
  }
  await removeRetrying(to, { recursive: true, force: true });
  return false;
}
