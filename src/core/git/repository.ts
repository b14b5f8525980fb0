import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { GitError, TappsError } from '../util/errors';
import { Git, gitExecutable, type GitObserver } from './git';

/** The folder, relative to the repository root, that holds Tapps Flow's state; never part of a snapshot. */
export const STATE_FOLDER = '.tapps-agents';

/** The paths of a repository that the engine works with. */
export interface Repository {
  readonly root: string;
  /** The git directory shared by all worktrees (where refs and objects live). */
  readonly commonDir: string;
  /** The git directory of the checkout at `root` (its index, its HEAD). */
  readonly gitDir: string;
  readonly git: Git;
}

/** The minimum git version: `merge-tree --write-tree` arrived in 2.38. */
export const MIN_GIT_VERSION = [2, 38] as const;

/**
 * Tapps Flow's own folder inside the git directory: worktrees, temporary indexes, trash, locks.
 * Nothing in it comes from a clone, so unlike the state folder of the work tree it is trusted.
 */
export function engineDir(repo: Pick<Repository, 'commonDir'>, ...rest: string[]): string {
  return path.join(repo.commonDir, 'tapps-flow', ...rest);
}

const checkedExecutables = new Map<string, Promise<void>>();

/** Checks once per executable that git runs and is recent enough. */
function checkGitVersion(git: Git): Promise<void> {
  const executable = gitExecutable();
  let check = checkedExecutables.get(executable);
  if (!check) {
    check = (async () => {
      const version = await git.line(['version']);
      const m = /(\d+)\.(\d+)/.exec(version);
      const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
      if (major < MIN_GIT_VERSION[0] || (major === MIN_GIT_VERSION[0] && minor < MIN_GIT_VERSION[1])) {
        throw new TappsError(
          'git-too-old',
          `Tapps Flow needs git ${MIN_GIT_VERSION.join('.')} or newer (for merge-tree --write-tree); "${executable}" is "${version}". Update git, or point TAPPS_GIT (the editor's git.path setting) at a newer one.`,
        );
      }
    })();
    check.catch(() => checkedExecutables.delete(executable));
    checkedExecutables.set(executable, check);
  }
  return check;
}

/**
 * Opens the repository containing `dir`, checking that git is recent enough. Reads only: nothing
 * is written (see `excludeStateFolder` for the writers).
 */
export async function openRepository(dir: string, observer?: GitObserver): Promise<Repository> {
  const folder = path.resolve(dir);
  const isDir = await stat(folder).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new TappsError('not-a-repository', `${folder} is not a folder. Pass the folder of a git repository (--repo DIR).`);
  const probe = new Git(folder, observer);
  await checkGitVersion(probe);
  // One git call when the folder is in a working tree; the reason is looked for only when it is not.
  const found = await probe
    .run(['rev-parse', '--path-format=absolute', '--git-common-dir', '--git-dir', '--show-toplevel'])
    .catch(async (error: unknown) => {
      throw await whyNotAWorkTree(probe, folder, error);
    });
  // Resolved: git prints `C:/x` on Windows, where every other path of the engine reads `C:\x`.
  const [commonDir, gitDir, root] = found.split('\n').map((l) => path.resolve(l.trim()));
  return { root, commonDir, gitDir, git: new Git(root, observer) };
}

/**
 * Adds the state folder to `.git/info/exclude` so that it never enters a snapshot or a step
 * result. Called by the commands that write run state, after their input was checked.
 */
export async function excludeStateFolder(repo: Pick<Repository, 'commonDir'>): Promise<void> {
  const file = path.join(repo.commonDir, 'info', 'exclude');
  const existing = await readFile(file, 'utf8').catch(() => '');
  if (existing.split(/\r?\n/).some((l) => l.trim() === `/${STATE_FOLDER}/` || l.trim() === `${STATE_FOLDER}/`)) return;
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${existing === '' || existing.endsWith('\n') ? '' : '\n'}# Tapps Flow run state\n/${STATE_FOLDER}/\n`);
}

/** Why `folder` is not in a repository's working tree: no repository, a bare one, inside .git, not trusted by git. */
async function whyNotAWorkTree(probe: Git, folder: string, error: unknown): Promise<TappsError> {
  const stderr = GitError.is(error) ? error.stderr : '';
  if (/dubious ownership/.test(stderr)) {
    return new TappsError(
      'unsafe-repository',
      `git refuses to work in ${folder}: it is owned by another user. If you trust it, run: git config --global --add safe.directory ${folder}`,
    );
  }
  const bare = await probe.line(['rev-parse', '--is-bare-repository']).catch(() => undefined);
  if (bare === undefined) {
    return new TappsError(
      'not-a-repository',
      `${folder} is not inside a git repository. Run Tapps Flow in a git repository (or pass --repo DIR).`,
    );
  }
  if (bare === 'true') {
    return new TappsError(
      'bare-repository',
      `${folder} is a bare git repository: it has no working tree for a run to start from. Run Tapps Flow in a clone with a working tree.`,
    );
  }
  return new TappsError(
    'not-a-repository',
    `${folder} is inside a git directory, not a working tree. Run Tapps Flow in the repository's working tree.`,
  );
}
