import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Git } from '../git/git';
import { worktreeRoots } from '../state/runLocation';
import { isInside, samePath } from '../util/paths';
import { digestOf, type FileDigest } from './gitState';

/**
 * The other files of the git directory that change what the user's next git command does: the
 * index (what their next commit holds), `*_HEAD` (a merge or cherry-pick under way), `info/*`
 * (ignore rules, attributes), the worktrees registered that are no run's, and the config and hooks
 * of submodules (`modules/<name>/`). Keyed `git:<path in the checkout's git dir>` or
 * `common:<path in the common dir>`; the key is also the watcher's key of the file.
 */
export type GitFileKey = `git:${string}` | `common:${string}`;

/** The folders these files are in. */
export interface GitFileRoots {
  readonly gitDir: string;
  readonly commonDir: string;
}

/** The index's key: its digest is of what it holds (`git ls-files --stage`), never of its stat data. */
export const INDEX_KEY = 'git:index';
/** `*_HEAD` files that git writes for the user on its own (fetch, autofetch): not watched. */
const IGNORED_HEADS = new Set(['FETCH_HEAD']);
const HEAD_FILE = /^[A-Z][A-Z_]*_HEAD$/;
const MAX_ENTRIES = 200;
const MAX_MODULE_DEPTH = 4;

export function isGitFileKey(key: string): key is GitFileKey {
  return key.startsWith('git:') || key.startsWith('common:');
}

/** The file of a key; undefined when the key is none (or climbs out of its folder). */
export function gitFileOf(roots: GitFileRoots, key: string): string | undefined {
  const colon = key.indexOf(':');
  const [where, rel] = [key.slice(0, colon), key.slice(colon + 1)];
  const dir = where === 'git' ? roots.gitDir : where === 'common' ? roots.commonDir : undefined;
  if (!dir || rel === '' || rel.split('/').some((p) => p === '..' || p === '.' || p === '')) return undefined;
  return path.join(dir, ...rel.split('/'));
}

/** The key of a write of `abs` (a `.lock` already stripped), when it is one of these files' watched ones. */
export function gitFileKeyOf(roots: GitFileRoots, abs: string): GitFileKey | undefined {
  const dir = path.dirname(abs);
  const name = path.basename(abs);
  if (samePath(dir, roots.gitDir) && (name === 'index' || (HEAD_FILE.test(name) && !IGNORED_HEADS.has(name)))) return `git:${name}`;
  if (samePath(dir, path.join(roots.commonDir, 'info'))) return `common:info/${name}`;
  if (samePath(dir, path.join(roots.commonDir, 'worktrees'))) return `common:worktrees/${name}`;
  return undefined;
}

/**
 * The kind of escape a change of the file of `key` is: a submodule's hook is a hook, every other
 * file is `config` (what git does next; a `ref` escape's path is a ref name, which these are not).
 */
export function gitFileKind(key: string): 'config' | 'hook' {
  return key.startsWith('common:modules/') && /\/hooks\/[^/]+$/.test(key) ? 'hook' : 'config';
}

/**
 * Reads the files; the index only when `index` is 'read' (it costs a git process), else the digest
 * given is kept. Never writes anything (`ls-files` takes no lock).
 */
export async function readGitFiles(
  git: Git,
  roots: GitFileRoots,
  index: FileDigest | null | undefined | 'read',
): Promise<Map<string, FileDigest>> {
  const files = new Map<string, FileDigest>();
  const put = async (key: GitFileKey) => {
    const file = gitFileOf(roots, key);
    const d = file ? await digestOf(file) : null;
    if (d) files.set(key, d);
  };
  const [indexDigest] = await Promise.all([
    index === 'read' ? indexDigestOf(git) : index,
    names(roots.gitDir).then((n) => Promise.all(n.filter((f) => HEAD_FILE.test(f) && !IGNORED_HEADS.has(f)).map((f) => put(`git:${f}`)))),
    names(path.join(roots.commonDir, 'info')).then((n) => Promise.all(n.map((f) => put(`common:info/${f}`)))),
    readWorktrees(roots, files),
    readModules(roots, 'modules', 0, put),
  ]);
  if (indexDigest) files.set(INDEX_KEY, indexDigest);
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort().slice(0, MAX_ENTRIES);
}

/** What the index holds: entries, modes, blobs and stages (not stat data, which any `git status` refreshes). */
async function indexDigestOf(git: Git): Promise<FileDigest | null> {
  const out = await git.run(['ls-files', '--stage', '-z']).catch(() => undefined);
  if (out === undefined) return null;
  return { sha256: createHash('sha256').update(out).digest('hex'), size: out.length, executable: false };
}

/** Worktrees registered in the common dir whose checkout is in no run's worktree folder: the digest of their `gitdir` file. */
async function readWorktrees(roots: GitFileRoots, files: Map<string, FileDigest>): Promise<void> {
  const dir = path.join(roots.commonDir, 'worktrees');
  const entries = await names(dir);
  if (entries.length === 0) return;
  const own = await worktreeRoots(roots).catch(() => [] as string[]);
  await Promise.all(
    entries.map(async (name) => {
      const gitdir = path.join(dir, name, 'gitdir');
      const target = (await readFile(gitdir, 'utf8').catch(() => '')).trim();
      // An entry without its `gitdir` yet is being made (by a run beside this one, most often): it
      // is judged once git has written it.
      if (target === '') return;
      if (path.isAbsolute(target) && own.some((r) => isInside(target, r))) return;
      const d = await digestOf(gitdir);
      files.set(`common:worktrees/${name}`, d ?? { sha256: '0'.repeat(64), size: 0, executable: false });
    }),
  );
}

/** Submodules' git dirs (`modules/<name>`, names may hold slashes, nested submodules under `modules/`): their config and hooks. */
async function readModules(roots: GitFileRoots, rel: string, depth: number, put: (key: GitFileKey) => Promise<void>): Promise<void> {
  if (depth > MAX_MODULE_DEPTH) return;
  const dir = path.join(roots.commonDir, ...rel.split('/'));
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries
      .filter((e) => e.isDirectory())
      .slice(0, MAX_ENTRIES)
      .map(async (e) => {
        const sub = `${rel}/${e.name}`;
        const inside = await names(path.join(dir, e.name));
        if (inside.includes('config') && inside.includes('HEAD')) {
          await put(`common:${sub}/config`);
          const hooks = await names(path.join(dir, e.name, 'hooks'));
          await Promise.all(hooks.map((h) => put(`common:${sub}/hooks/${h}`)));
          if (inside.includes('modules')) await readModules(roots, `${sub}/modules`, depth + 1, put);
        } else await readModules(roots, sub, depth + 1, put);
      }),
  );
}
