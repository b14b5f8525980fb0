import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TappsError } from '../util/errors';
import { Git, type GitObserver } from './git';

/** The folder, relative to the repository root, that holds Tapps Flow's state; never part of a snapshot. */
export const STATE_FOLDER = '.tapps-agents';

/** The paths of a repository that the engine works with. */
export interface Repository {
  readonly root: string;
  /** The git directory shared by all worktrees (where refs and objects live). */
  readonly commonDir: string;
  readonly git: Git;
}

/** The minimum git version: `merge-tree --write-tree` arrived in 2.38. */
export const MIN_GIT_VERSION = [2, 38] as const;

/** Opens the repository containing `dir`, checking that git is recent enough. */
export async function openRepository(dir: string, observer?: GitObserver): Promise<Repository> {
  const probe = new Git(dir, observer);
  let top: string;
  try {
    top = await probe.line(['rev-parse', '--show-toplevel']);
  } catch {
    throw new TappsError(
      'not-a-repository',
      `${dir} is not inside a git repository. Run Tapps Flow in a git repository (or pass --repo DIR).`,
    );
  }
  const git = new Git(top, observer);
  const version = await git.line(['version']);
  const m = /(\d+)\.(\d+)/.exec(version);
  if (!m || Number(m[1]) < MIN_GIT_VERSION[0] || (Number(m[1]) === MIN_GIT_VERSION[0] && Number(m[2]) < MIN_GIT_VERSION[1])) {
    throw new TappsError(
      'git-too-old',
      `Tapps Flow needs git ${MIN_GIT_VERSION.join('.')} or newer (for merge-tree --write-tree); found "${version}". Update git and try again.`,
    );
  }
  const commonDir = path.resolve(top, await git.line(['rev-parse', '--git-common-dir']));
  await excludeStateFolder(commonDir);
  return { root: top, commonDir, git };
}

/** Adds the state folder to `.git/info/exclude` so that it never enters a snapshot or a step result. */
async function excludeStateFolder(commonDir: string): Promise<void> {
  const file = path.join(commonDir, 'info', 'exclude');
  const existing = await readFile(file, 'utf8').catch(() => '');
  if (existing.split(/\r?\n/).some((l) => l.trim() === `/${STATE_FOLDER}/` || l.trim() === `${STATE_FOLDER}/`)) return;
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${existing === '' || existing.endsWith('\n') ? '' : '\n'}# Tapps Flow run state\n/${STATE_FOLDER}/\n`);
}
