import path from 'node:path';
import type { Git } from '../git/git';
import { readBlobs } from '../git/objects';
import { isGitFolderName } from '../workflow/repoPath';
import { addedOrChanged, SYMLINK_MODE, type RawChange } from '../git/treeDiff';

/** A symbolic link whose target leaves the repository (or reaches into its `.git` folder). */
export interface SymlinkOut {
  /** The link's path in the repository. */
  readonly path: string;
  /** What it points to, as stored. */
  readonly target: string;
  /**
   * How it leaves: the target itself is absolute, or climbs above the root, or names a `.git`
   * folder; with `through`, where the walk ended up once other links of the tree were followed
   * (a loop or too many links count as `leaves`).
   */
  readonly why: 'absolute' | 'leaves' | 'git-folder';
  /** Where the target only leaves through other links of the tree: the first one it is resolved through. */
  readonly through?: string;
}

/** The symbolic links of a tree: their targets, by path. */
export type TreeLinks = ReadonlyMap<string, string>;

/** The longest target shown in a message or a report; git stores up to PATH_MAX, a report line need not. */
const SHOWN_TARGET_LENGTH = 300;
/** Links followed in one resolution, the link itself included, before it counts as leaving (Linux's bound). */
const MAX_LINK_HOPS = 40;
/** Path parts walked in one resolution before it counts as leaving: a bound on what a hostile tree costs. */
const MAX_RESOLVE_STEPS = 65_536;

/** A tree's links, with what a walk through it needs to look them up. */
interface LinkIndex {
  readonly links: TreeLinks;
  /** Every path of the tree (files, links, folders): a part that names one is not looked up ignoring case. */
  readonly present: ReadonlySet<string>;
  /** The links by their lower-cased path; the first in path order wins. */
  readonly folded: ReadonlyMap<string, string>;
}

function linkIndex(links: TreeLinks, present: ReadonlySet<string>): LinkIndex {
  const folded = new Map<string, string>();
  for (const p of [...links.keys()].sort()) if (!folded.has(p.toLowerCase())) folded.set(p.toLowerCase(), p);
  return { links, present, folded };
}

interface Resolution {
  readonly why: SymlinkOut['why'] | undefined;
  /** The links of the tree followed on the way, in order (the resolved link itself left out). */
  readonly followed: readonly string[];
}

/**
 * Why a link at `linkPath` (a repository path) with `target` points out of the repository, or
 * undefined when it stays inside. The target is resolved as the kernel would, part by part from
 * the link's folder, through the other links of its tree (`links`; without it, read as text):
 * out is an absolute target (`/etc/passwd`, `C:\…`, `\\server\…`) met at any link of the chain,
 * a `..` that climbs above the repository root at any point (`../../outside`, `a/../../x`, or
 * `s/../x` where `s → .`), a part that names a `.git` folder, where a write through the link
 * would change the repository's own configuration or hooks, or more than 40 links followed (a
 * loop). Backslashes count as separators, and a part that names nothing in the tree is looked up
 * again among its links ignoring case: on Windows and macOS they are, and a false alarm costs
 * less than a missed link.
 *
 * @param present every path of the tree, files and folders included (only the case-ignoring
 *   look-up needs it); without it, every part that names no link is looked up ignoring case.
 */
export function symlinkLeaves(
  linkPath: string,
  target: string,
  links: TreeLinks = new Map(),
  present: ReadonlySet<string> = new Set(),
): SymlinkOut['why'] | undefined {
  return resolveLink(linkPath, target, linkIndex(links, present)).why;
}

function resolveLink(linkPath: string, target: string, tree: LinkIndex): Resolution {
  const followed: string[] = [];
  const out = (why: SymlinkOut['why']): Resolution => ({ why, followed });
  if (isAbsolute(target)) return out('absolute');
  const dir = linkPath.split('/').slice(0, -1);
  // The parts still to walk, the next one last.
  const pending = parts(target).reverse();
  for (let steps = 0; pending.length > 0; steps++) {
    if (steps >= MAX_RESOLVE_STEPS) return out('leaves');
    const part = pending.pop() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (dir.length === 0) return out('leaves');
      dir.pop();
      continue;
    }
    if (isGitFolderName(part)) return out('git-folder');
    const here = dir.length === 0 ? part : `${dir.join('/')}/${part}`;
    const link = tree.links.has(here) ? here : tree.present.has(here) ? undefined : tree.folded.get(here.toLowerCase());
    if (link === undefined) {
      dir.push(part);
      continue;
    }
    followed.push(link);
    if (followed.length + 1 > MAX_LINK_HOPS) return out('leaves');
    const next = tree.links.get(link) ?? '';
    if (isAbsolute(next)) return out('absolute');
    // The link's parts replace it, walked from its folder (`dir`, where it was found).
    for (const p of parts(next).reverse()) pending.push(p);
  }
  return { why: undefined, followed };
}

function isAbsolute(target: string): boolean {
  return target === '' || target.startsWith('/') || target.startsWith('\\') || /^[A-Za-z]:/.test(target);
}

function parts(target: string): string[] {
  return target.split(/[\\/]/);
}

/** The links of `to` that leave the repository because of what `to` changes against `from`, by path (see `linksOutAmong`). */
export async function symlinksOut(git: Git, from: string, to: string): Promise<SymlinkOut[]> {
  return linksOutAmong(git, to, await addedOrChanged(git, from, to), from);
}

/**
 * The links of `tree` (a tree or commit) that leave the repository because of `changes` (the
 * paths `tree` adds or changes against its base), by path: a link among the changes whose target
 * leaves, or an unchanged one that now resolves out through a link among them. Targets are
 * resolved through the links of `tree` itself ({@link symlinkLeaves}). Only a tree with a link
 * among its changes pays: one `ls-tree` for its links, one `cat-file` for their targets.
 */
export async function linksOutAmong(git: Git, tree: string, changes: readonly RawChange[], base?: string): Promise<SymlinkOut[]> {
  const changed = new Set(changes.filter((c) => c.newMode === SYMLINK_MODE).map((c) => c.path));
  // A link the change deleted or replaced (by a folder, say) can turn a link left as it was into
  // one that leaves: with the base, every link of the tree that leaves now and did not leave
  // there (with the same target) is reported.
  const linkGone = base !== undefined && (await linksRemoved(git, base, tree));
  if (changed.size === 0 && !linkGone) return [];
  const outNow = await leavingLinks(git, tree);
  const outBefore =
    linkGone && base !== undefined ? new Set((await leavingLinks(git, base)).map(({ link }) => `${link.path}\0${link.target}`)) : undefined;
  return outNow
    .filter(({ link, followed }) =>
      outBefore ? !outBefore.has(`${link.path}\0${link.target}`) : changed.has(link.path) || followed.some((f) => changed.has(f)),
    )
    .map(({ link }) => link)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every link of `tree` that leaves the repository, with the links its resolution went through. */
async function leavingLinks(git: Git, tree: string): Promise<Array<{ link: SymlinkOut; followed: readonly string[] }>> {
  const { entries, present } = await treeLinks(git, tree);
  if (entries.length === 0) return [];
  const targets = await readBlobs(
    git,
    entries.map((e) => e.oid),
  );
  const links = new Map(entries.map((e): [string, string] => [e.path, targets.get(e.oid)?.toString('utf8') ?? '']));
  const index = linkIndex(links, present);
  const out: Array<{ link: SymlinkOut; followed: readonly string[] }> = [];
  for (const [path, target] of links) {
    const { why, followed } = resolveLink(path, target, index);
    if (why) out.push({ link: followed.length === 0 ? { path, target, why } : { path, target, why, through: followed[0] }, followed });
  }
  return out;
}

/** Whether `to` deletes a link of `from` or turns it into something else (one `diff-tree`, links only). */
async function linksRemoved(git: Git, from: string, to: string): Promise<boolean> {
  if (from === to) return false;
  const out = await git.run(['diff-tree', '-r', '-z', '--no-renames', '--raw', '--diff-filter=DT', from, to]);
  return out.split('\0').some((field) => field.startsWith(`:${SYMLINK_MODE} `));
}

/** The symbolic links of a tree with their blob ids, and all its paths (folders too), in one `ls-tree`. */
async function treeLinks(git: Git, tree: string): Promise<{ entries: Array<{ path: string; oid: string }>; present: Set<string> }> {
  const out = await git.run(['ls-tree', '-r', '-t', '-z', '--full-tree', tree]);
  const entries: Array<{ path: string; oid: string }> = [];
  const present = new Set<string>();
  for (const record of out.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    present.add(record.slice(tab + 1));
    if (record.startsWith(`${SYMLINK_MODE} `)) entries.push({ path: record.slice(tab + 1), oid: record.slice(0, tab).split(' ')[2] });
  }
  return { entries, present };
}

/** `leak → /etc/passwd`: the link and its target, quoted where they hold anything unusual. */
export function describeLink(link: SymlinkOut): string {
  return `${shown(link.path)} → ${shown(link.target)}${link.through === undefined ? '' : ` (through ${shown(link.through)})`}`;
}

/** What a link out does, in a few words: the detail of its finding. */
export function linkDetail(link: SymlinkOut): string {
  const where = {
    absolute: 'an absolute path, outside the repository',
    leaves: `outside the repository (from ${path.posix.dirname(link.path) === '.' ? 'the root' : `${path.posix.dirname(link.path)}/`})`,
    'git-folder': "into a .git folder, where writes change the repository's own files",
  }[link.why];
  const chained = {
    absolute: 'to an absolute path, outside the repository',
    leaves: 'outside the repository (or through a loop of links)',
    'git-folder': "into a .git folder, where writes change the repository's own files",
  }[link.why];
  const what = link.through === undefined ? where : `followed through the link ${shown(link.through)}, it resolves ${chained}`;
  return `a symbolic link to ${shown(link.target)}: ${what}; apply refuses it unless allowed`;
}

/** `leak → /etc/passwd, x → ../outside`, at most `limit` of them, then how many more. */
export function describeLinks(links: readonly SymlinkOut[], limit = 10): string {
  const more = links.length - limit;
  return `${links.slice(0, limit).map(describeLink).join(', ')}${more > 0 ? `, and ${more} more` : ''}`;
}

/** A name as it is when plain, JSON-quoted when it holds control characters, spaces at its ends or is cut. */
function shown(value: string): string {
  const cut = value.length > SHOWN_TARGET_LENGTH ? `${value.slice(0, SHOWN_TARGET_LENGTH)}…` : value;
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f`]|^\s|\s$/.test(cut) || cut === '' ? JSON.stringify(cut) : cut;
}
