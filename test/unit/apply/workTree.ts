import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { appendFile, lstat, readdir, readFile, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import type { TempRepo } from '../helpers/tempRepo';

/**
 * Everything apply could change, without following a symbolic link: every entry of the work tree
 * (outside .git and the state folder) as its kind and bytes or target, the index file's bytes and
 * `git ls-files -s`. Two equal states mean nothing changed.
 */
export async function workTreeState(repo: TempRepo): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(repo.dir, full);
      if (rel === '.git' || rel === '.tapps-agents') continue;
      const info = await lstat(full);
      if (info.isSymbolicLink()) state.set(rel, `link -> ${await readlink(full)}`);
      else if (info.isDirectory()) {
        state.set(rel, 'folder');
        await walk(full);
      } else state.set(rel, `file ${(info.mode & 0o111) !== 0 ? 'x' : '-'} ${(await readFile(full)).toString('base64')}`);
    }
  };
  await walk(repo.dir);
  state.set('.git/index', (await readFile(path.join(repo.dir, '.git/index'))).toString('base64'));
  state.set('git ls-files -s', repo.git(['ls-files', '-s']));
  return state;
}

/** The tree git makes of the work tree as it is (tracked and untracked, through the filters), in a throw-away index. */
export function workTreeTree(repo: TempRepo): string {
  const env = { ...process.env, GIT_INDEX_FILE: path.join(repo.root, 'probe-index') };
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: repo.dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
      .toString()
      .trim();
  try {
    git(['add', '--all', '--', '.']);
    return git(['write-tree']);
  } finally {
    rmSync(env.GIT_INDEX_FILE, { force: true });
  }
}

/** Makes git ignore `pattern` in this repository only (`.git/info/exclude`), as a user's local ignore would. */
export async function ignore(repo: TempRepo, pattern: string): Promise<void> {
  await appendFile(path.join(repo.dir, '.git/info/exclude'), `${pattern}\n`);
}

/** The files left in Tapps Flow's scratch folder of the repository (temporary indexes). */
export async function scratchFiles(repo: TempRepo): Promise<string[]> {
  return readdir(path.join(repo.dir, '.git/tapps-flow/tmp')).catch(() => []);
}

/** Removes a path of the work tree, whatever it is (a symbolic link itself, never its target). */
export function remove(repo: TempRepo, file: string): Promise<void> {
  return rm(path.join(repo.dir, file), { recursive: true, force: true });
}
