import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Git } from '../git/git';
import type { Repository } from '../git/repository';
import { isInside, samePath } from '../util/paths';
import { gitFileOf, INDEX_KEY, readGitFiles } from './gitFiles';

/** A file of the git directory as last seen: its content's hash, and its blob when one was kept (for undo). */
export interface FileDigest {
  readonly sha256: string;
  readonly size: number;
  readonly executable: boolean;
  /** It is a symbolic link (the digest is of its target). */
  readonly link?: boolean;
  /** The blob holding its content, written when the run started, so that the user can get it back. */
  readonly oid?: string;
}

export const CONFIG_ROLES = ['config', 'config.worktree'] as const;
export type ConfigRole = (typeof CONFIG_ROLES)[number];
/** The default hooks folder of the repository, and the one `core.hooksPath` names when it is elsewhere. */
export const HOOK_FOLDERS = ['hooks', 'hooksPath'] as const;
export type HookFolder = (typeof HOOK_FOLDERS)[number];

/** Where the parts of the git directory that a step must not change are, for one repository. */
export interface GitPlaces {
  /** The checkout's HEAD file. */
  readonly head: string;
  readonly configs: Readonly<Record<ConfigRole, string>>;
  readonly hookFolders: Readonly<Partial<Record<HookFolder, string>>>;
  readonly refsFolder: string;
  readonly packedRefs: string;
  readonly reftable: string;
  /** The checkout's git directory and the common one (see gitFiles.ts). */
  readonly gitDir: string;
  readonly commonDir: string;
}

/** The repository's HEAD, refs (outside Tapps Flow's own), config files and hooks at one moment. */
export interface GitState {
  /** What the HEAD file says: `ref: refs/heads/main` or a commit id. */
  readonly head: string;
  /** Ref name -> commit id, or `ref: <target>` for a symbolic ref. */
  readonly refs: ReadonlyMap<string, string>;
  readonly configs: ReadonlyMap<ConfigRole, FileDigest | null>;
  /** `<folder>/<name>` -> the hook file. */
  readonly hooks: ReadonlyMap<string, FileDigest>;
  /** The other files of the git directory that matter (see gitFiles.ts), by key. */
  readonly files: ReadonlyMap<string, FileDigest>;
  /** Read back from a baseline written before `files` were kept: they are read when the watch starts. */
  readonly filesUnknown?: true;
}

/** Tapps Flow's own refs, which the engine writes while it runs. */
export const OWN_REFS = 'refs/tapps-flow/';
/** The most hooks looked at in one folder, and the largest file hashed whole. */
const MAX_HOOKS = 1000;
const MAX_HASHED_BYTES = 16 * 1024 * 1024;

/** Where the repository keeps what `GitState` describes, as far as its folders tell (see `withHooksPath`). */
export function gitPlaces(repo: Pick<Repository, 'gitDir' | 'commonDir'>): GitPlaces {
  return {
    head: path.join(repo.gitDir, 'HEAD'),
    configs: { config: path.join(repo.commonDir, 'config'), 'config.worktree': path.join(repo.gitDir, 'config.worktree') },
    hookFolders: { hooks: path.join(repo.commonDir, 'hooks') },
    refsFolder: path.join(repo.commonDir, 'refs'),
    packedRefs: path.join(repo.commonDir, 'packed-refs'),
    reftable: path.join(repo.commonDir, 'reftable'),
    gitDir: repo.gitDir,
    commonDir: repo.commonDir,
  };
}

/**
 * The places with the folder `core.hooksPath` names, when it is a folder elsewhere than the
 * default one and outside the working tree (a hooks folder in the working tree, `.husky` say, is
 * watched as files of the checkout). One git process.
 */
export async function withHooksPath(repo: Repository, places: GitPlaces): Promise<GitPlaces> {
  const hooks = places.hookFolders.hooks!;
  const configured = await repo.git.line(['rev-parse', '--path-format=absolute', '--git-path', 'hooks']).catch(() => hooks);
  // git names folders with `/` on Windows too (`C:/repo/.git/hooks`): compared as paths, not as strings.
  if (samePath(configured, hooks) || (isInside(configured, repo.root) && !isInside(configured, repo.commonDir))) return places;
  const isFolder = await lstat(configured).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return isFolder ? { ...places, hookFolders: { ...places.hookFolders, hooksPath: configured } } : places;
}

/** Reads the state; `refs` and the index only when asked (the parts that cost a git process). */
export async function readGitState(
  git: Git,
  places: GitPlaces,
  refs: ReadonlyMap<string, string> | Promise<ReadonlyMap<string, string>> | 'read',
  index: FileDigest | null | undefined | 'read' = 'read',
): Promise<GitState> {
  const [head, refMap, configs, hooks, files] = await Promise.all([
    readFile(places.head, 'utf8').then(
      (t) => t.trim(),
      () => '',
    ),
    refs === 'read' ? readRefs(git) : refs,
    Promise.all(CONFIG_ROLES.map(async (role) => [role, await digestOf(places.configs[role])] as const)),
    readHooks(places),
    readGitFiles(git, places, index),
  ]);
  return { head, refs: refMap, configs: new Map(configs), hooks, files };
}

/** Every ref outside Tapps Flow's own, by name. */
export async function readRefs(git: Git): Promise<Map<string, string>> {
  const out = await git.run(['for-each-ref', '--format=%(refname)%00%(objectname)%00%(symref)']);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [name, oid, symref] = line.split('\0');
    if (!name || name.startsWith(OWN_REFS)) continue;
    refs.set(name, symref ? `ref: ${symref}` : oid);
  }
  return refs;
}

async function readHooks(places: GitPlaces): Promise<Map<string, FileDigest>> {
  const hooks = new Map<string, FileDigest>();
  for (const folder of HOOK_FOLDERS) {
    const dir = places.hookFolders[folder];
    if (!dir) continue;
    const names = (await readdir(dir).catch(() => [] as string[])).sort().slice(0, MAX_HOOKS);
    const digests = await Promise.all(names.map((name) => digestOf(path.join(dir, name))));
    names.forEach((name, i) => {
      const d = digests[i];
      if (d) hooks.set(`${folder}/${name}`, d);
    });
  }
  return hooks;
}

/** A file's digest; a symlink's is of its target; null when absent or not a file. Never follows a link. */
export async function digestOf(file: string): Promise<FileDigest | null> {
  const stat = await lstat(file).catch(() => undefined);
  if (!stat) return null;
  if (stat.isSymbolicLink()) {
    const target = await readlink(file).catch(() => '');
    return { sha256: sha256(target), size: target.length, executable: false, link: true };
  }
  if (!stat.isFile()) return null;
  const executable = (stat.mode & 0o111) !== 0;
  if (stat.size > MAX_HASHED_BYTES) return { sha256: sha256(`size:${stat.size}:${stat.mtimeMs}`), size: stat.size, executable };
  const content = await readFile(file).catch(() => undefined);
  return content ? { sha256: sha256(content), size: content.length, executable } : null;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The same state with the blobs of its config files and hooks written to the repository's objects
 * (one `git hash-object -w`), so that an escape's report can say how to get the old ones back.
 */
export async function keepBlobs(git: Git, places: GitPlaces, state: GitState): Promise<GitState> {
  const files: Array<{ file: string; put: (oid: string) => void }> = [];
  const configs = new Map(state.configs);
  const hooks = new Map(state.hooks);
  const others = new Map(state.files);
  for (const [key, d] of state.files) {
    const file = key === INDEX_KEY || key.startsWith('common:worktrees/') ? undefined : gitFileOf(places, key);
    if (file && d.size <= MAX_HASHED_BYTES && !d.link) files.push({ file, put: (oid) => others.set(key, { ...d, oid }) });
  }
  for (const [role, d] of state.configs)
    if (d && d.size <= MAX_HASHED_BYTES && !d.link)
      files.push({ file: places.configs[role], put: (oid) => configs.set(role, { ...d, oid }) });
  for (const [key, d] of state.hooks) {
    const file = hookFile(places, key);
    if (file && d.size <= MAX_HASHED_BYTES && !d.link) files.push({ file, put: (oid) => hooks.set(key, { ...d, oid }) });
  }
  const listed = files.filter((f) => !f.file.includes('\n'));
  if (listed.length === 0) return state;
  // --no-filters: these are git's own files, stored as they are; raced away, one is left without a blob.
  const out = await git
    .run(['hash-object', '-w', '--no-filters', '--stdin-paths'], { input: `${listed.map((f) => f.file).join('\n')}\n` })
    .catch(() => '');
  const oids = out.split('\n').filter(Boolean);
  if (oids.length === listed.length) listed.forEach((f, i) => f.put(oids[i]));
  return { ...state, configs, hooks, files: others };
}

/** The file of a hook key (`hooks/pre-commit`). */
export function hookFile(places: GitPlaces, key: string): string | undefined {
  const slash = key.indexOf('/');
  const dir = places.hookFolders[key.slice(0, slash) as HookFolder];
  return dir ? path.join(dir, key.slice(slash + 1)) : undefined;
}
