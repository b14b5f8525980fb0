import path from 'node:path';
import type { Git } from '../git/git';
import { relativeInside } from '../util/paths';
import { gitFileKind, gitFileOf, INDEX_KEY, isGitFileKey } from './gitFiles';
import { CONFIG_ROLES, hookFile, type ConfigRole, type FileDigest, type GitPlaces, type GitState } from './gitState';

/** A change to the repository's HEAD, refs, config or hooks. */
export interface GitChange {
  readonly kind: 'config' | 'ref' | 'hook';
  /** What the watcher calls it (see the `*Key` functions): the writes seen of it time the change. */
  readonly key: string;
  /** As the user knows it: the ref's name, or the file's path (relative to the checkout when inside it). */
  readonly path: string;
  readonly change: 'added' | 'modified' | 'deleted';
}

/** Watcher keys of the git directory's parts; a write of packed-refs or reftable may be of any ref. */
export const ANY_REF_KEY = 'refs';
export const refKey = (name: string): string => `ref:${name}`;
export const configKey = (role: ConfigRole): string => `config:${role}`;
export const hookKey = (folderAndName: string): string => `hook:${folderAndName}`;

/** How `after` differs from `before`, in a stable order: HEAD and refs by name, then config files, then hooks. */
export function gitChanges(before: GitState, after: GitState, places: GitPlaces, root: string): GitChange[] {
  const changes: GitChange[] = [];
  const change = (had: boolean, has: boolean) => (!had ? 'added' : !has ? 'deleted' : 'modified');
  if (before.head !== after.head) changes.push({ kind: 'ref', key: refKey('HEAD'), path: 'HEAD', change: 'modified' });
  for (const name of union(before.refs.keys(), after.refs.keys())) {
    const [a, b] = [before.refs.get(name), after.refs.get(name)];
    if (a !== b) changes.push({ kind: 'ref', key: refKey(name), path: name, change: change(a !== undefined, b !== undefined) });
  }
  for (const role of CONFIG_ROLES) {
    const [a, b] = [before.configs.get(role) ?? null, after.configs.get(role) ?? null];
    if (!sameDigest(a, b))
      changes.push({
        kind: 'config',
        key: configKey(role),
        path: shown(root, places.configs[role]),
        change: change(a !== null, b !== null),
      });
  }
  for (const key of union(before.hooks.keys(), after.hooks.keys())) {
    const [a, b] = [before.hooks.get(key) ?? null, after.hooks.get(key) ?? null];
    if (!sameDigest(a, b))
      changes.push({
        kind: 'hook',
        key: hookKey(key),
        path: shown(root, hookFile(places, key) ?? key),
        change: change(a !== null, b !== null),
      });
  }
  for (const key of union(before.files.keys(), after.files.keys())) {
    const [a, b] = [before.files.get(key) ?? null, after.files.get(key) ?? null];
    if (!sameDigest(a, b))
      changes.push({
        kind: gitFileKind(key),
        key,
        path: shown(root, gitFileOf(places, key) ?? key),
        change: change(a !== null, b !== null),
      });
  }
  return changes;
}

function union(a: Iterable<string>, b: Iterable<string>): string[] {
  return [...new Set([...a, ...b])].sort();
}

export function sameDigest(a: FileDigest | null, b: FileDigest | null): boolean {
  return a === b || (a !== null && b !== null && a.sha256 === b.sha256 && a.executable === b.executable && !a.link === !b.link);
}

/** A path as the user reads it: relative to the checkout (`.git/config`) when inside it, else absolute. */
export function shown(root: string, file: string): string {
  return relativeInside(root, file) ?? file;
}

/** Shell-quotes a value for a command the user copies. */
export function sq(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** What a change did and how to undo it, in one or a few sentences for the report. */
export async function describeGitChange(git: Git, places: GitPlaces, c: GitChange, before: GitState, after: GitState): Promise<string> {
  if (isGitFileKey(c.key)) return describeGitFile(c, before);
  if (c.kind === 'ref') return describeRef(c, before, after);
  if (c.kind === 'hook') {
    const key = c.key.slice('hook:'.length);
    // Commands run from the checkout's root: a path inside it is shown relative to it.
    const file = c.path;
    const old = before.hooks.get(key);
    if (c.change === 'added') return `hook ${c.path} was added; it runs on git's next ${baseName(file)}. Undo: rm ${sq(file)}`;
    const back = old?.oid ? ` Undo: git cat-file blob ${old.oid} > ${sq(file)}${old.executable ? ` && chmod +x ${sq(file)}` : ''}` : '';
    return `hook ${c.path} was ${c.change === 'deleted' ? 'deleted' : 'changed'}.${back || ' Its earlier content was not kept.'}`;
  }
  const role = c.key.slice('config:'.length) as ConfigRole;
  return describeConfig(git, places.configs[role], role, before.configs.get(role) ?? null, c);
}

/** A change to one of the other files of the git directory (gitFiles.ts), and how to undo it. */
function describeGitFile(c: GitChange, before: GitState): string {
  const file = c.path;
  const what = c.change === 'added' ? 'was created' : c.change === 'deleted' ? 'was deleted' : 'was changed';
  if (c.key === INDEX_KEY)
    return `the index (what your next commit holds) ${what}. Check it with git status and git diff --cached; git restore --staged <path> unstages a path.`;
  if (c.key.startsWith('common:worktrees/'))
    return `a worktree was ${c.change === 'added' ? 'registered' : c.change === 'deleted' ? 'unregistered' : 'changed'} (${file}). Check it with git worktree list; undo: git worktree remove <its folder> (or git worktree prune).`;
  const old = before.files.get(c.key);
  const why = /_HEAD$/.test(file)
    ? ' it changes what your next git commit, merge or rebase does'
    : file.includes('/info/')
      ? ' it changes which files git ignores or how it treats them'
      : c.kind === 'hook'
        ? " it runs on git's next command in that submodule"
        : ' it configures git in that submodule (a key such as core.fsmonitor runs a command)';
  const undo =
    c.change === 'added'
      ? ` Undo: rm ${sq(file)}`
      : old?.oid
        ? ` Undo: git cat-file blob ${old.oid} > ${sq(file)}${old.executable ? ` && chmod +x ${sq(file)}` : ''}`
        : ' Its earlier content was not kept.';
  return `${file} ${what}:${why}.${undo}`;
}

/** `path.basename` of a shown path (`/` separated, or absolute on this platform). */
function baseName(shownPath: string): string {
  return shownPath.slice(Math.max(shownPath.lastIndexOf('/'), shownPath.lastIndexOf(path.sep)) + 1);
}

function describeRef(c: GitChange, before: GitState, after: GitState): string {
  if (c.path === 'HEAD') {
    const back = before.head.startsWith('ref: refs/heads/')
      ? `git switch ${sq(before.head.slice('ref: refs/heads/'.length))} (HEAD alone: git symbolic-ref HEAD ${sq(before.head.slice(5))})`
      : before.head.startsWith('ref: ')
        ? `git symbolic-ref HEAD ${sq(before.head.slice(5))}`
        : `git switch --detach ${before.head}`;
    return `HEAD was "${before.head}", now "${after.head}". Undo (check git status first): ${back}`;
  }
  const [was, now] = [before.refs.get(c.path), after.refs.get(c.path)];
  const put = (value: string) =>
    value.startsWith('ref: ') ? `git symbolic-ref ${sq(c.path)} ${sq(value.slice(5))}` : `git update-ref ${sq(c.path)} ${value}`;
  if (c.change === 'added') {
    const undo = c.path.startsWith('refs/heads/')
      ? `git branch -D ${sq(c.path.slice('refs/heads/'.length))}`
      : c.path.startsWith('refs/tags/')
        ? `git tag -d ${sq(c.path.slice('refs/tags/'.length))}`
        : `git update-ref -d ${sq(c.path)}`;
    return `ref ${c.path} was created (at ${now}). Undo: ${undo}`;
  }
  if (c.change === 'deleted') return `ref ${c.path} was deleted (it was at ${was}). Undo: ${put(was!)}`;
  return `ref ${c.path} moved from ${was} to ${now}. Undo: ${put(was!)}`;
}

/** The keys of a config file that changed, each with the command that sets it back. */
async function describeConfig(git: Git, file: string, role: ConfigRole, old: FileDigest | null, c: GitChange): Promise<string> {
  const scope = role === 'config.worktree' ? 'git config --worktree' : 'git config';
  const [was, now] = await Promise.all([
    old?.oid ? configEntries(git, ['--blob', old.oid]) : old === null ? new Map<string, string[]>() : undefined,
    c.change === 'deleted' ? new Map<string, string[]>() : configEntries(git, ['--file', file]),
  ]);
  if (!was || !now) return `${c.path} was ${c.change === 'deleted' ? 'deleted' : 'changed'}; its earlier content was not kept.`;
  const lines: string[] = [];
  for (const key of union(was.keys(), now.keys())) {
    const [a, b] = [was.get(key) ?? [], now.get(key) ?? []];
    if (a.join('\0') === b.join('\0')) continue;
    const show = (v: readonly string[]) => v.map((x) => JSON.stringify(x)).join(', ');
    const restore =
      a.length === 0
        ? `${scope} --unset-all ${key}`
        : a.length === 1 && b.length <= 1
          ? `${scope} ${key} ${sq(a[0])}`
          : `${scope} --unset-all ${key}; ${a.map((v) => `${scope} --add ${key} ${sq(v)}`).join('; ')}`;
    lines.push(
      `${key} ${a.length === 0 ? `set to ${show(b)}` : b.length === 0 ? `removed (was ${show(a)})` : `was ${show(a)}, now ${show(b)}`} (undo: ${restore})`,
    );
  }
  const shownLines = lines.slice(0, 10).join('; ');
  const more = lines.length > 10 ? `; and ${lines.length - 10} more keys` : '';
  const whole = old?.oid ? ` The whole earlier file: git cat-file blob ${old.oid} > ${sq(c.path)}` : '';
  return `${c.path} changed: ${shownLines || 'its keys are the same, its text is not'}${more}.${whole}`;
}

/** A config file's (or blob's) entries: key -> values in order. Undefined when git cannot read it. */
async function configEntries(git: Git, source: readonly string[]): Promise<Map<string, string[]> | undefined> {
  const out = await git.run(['config', ...source, '--no-includes', '--list', '-z']).catch(() => undefined);
  if (out === undefined) return undefined;
  const entries = new Map<string, string[]>();
  for (const record of out.split('\0')) {
    if (record === '') continue;
    const nl = record.indexOf('\n');
    const [key, value] = nl < 0 ? [record, ''] : [record.slice(0, nl), record.slice(nl + 1)];
    entries.set(key, [...(entries.get(key) ?? []), value]);
  }
  return entries;
}
