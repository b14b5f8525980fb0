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
  readonly why: 'absolute' | 'leaves' | 'git-folder';
}

/** The longest target shown in a message or a report; git stores up to PATH_MAX, a report line need not. */
const SHOWN_TARGET_LENGTH = 300;

/**
 * Why a link at `linkPath` (a repository path) with `target` points out of the repository, or
 * undefined when it stays inside. Out: an absolute target (`/etc/passwd`, `C:\…`, `\\server\…`),
 * one whose `..` parts climb above the repository root from the link's folder at any point
 * (`../../outside`, `a/../../x`), or one into a `.git` folder, where a write through the link
 * would change the repository's own configuration or hooks. Backslashes count as separators: on
 * Windows they are, and a false alarm costs less than a missed link.
 */
export function symlinkLeaves(linkPath: string, target: string): SymlinkOut['why'] | undefined {
  if (target === '' || target.startsWith('/') || target.startsWith('\\') || /^[A-Za-z]:/.test(target)) return 'absolute';
  let depth = linkPath.split('/').length - 1;
  for (const part of target.split(/[\\/]/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') depth -= 1;
    else if (isGitFolderName(part)) return 'git-folder';
    else depth += 1;
    if (depth < 0) return 'leaves';
  }
  return undefined;
}

/** The links that `to` adds or changes against `from` whose target leaves the repository, by path. */
export async function symlinksOut(git: Git, from: string, to: string): Promise<SymlinkOut[]> {
  return linksOutAmong(git, await addedOrChanged(git, from, to));
}

/** The links among `changes` whose target leaves the repository, by path: their targets read in one `cat-file`. */
export async function linksOutAmong(git: Git, changes: readonly RawChange[]): Promise<SymlinkOut[]> {
  const links = changes.filter((c) => c.newMode === SYMLINK_MODE);
  if (links.length === 0) return [];
  const targets = await readBlobs(
    git,
    links.map((l) => l.newOid),
  );
  const out: SymlinkOut[] = [];
  for (const link of links) {
    const target = targets.get(link.newOid)?.toString('utf8') ?? '';
    const why = symlinkLeaves(link.path, target);
    if (why) out.push({ path: link.path, target, why });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** `leak → /etc/passwd`: the link and its target, quoted where they hold anything unusual. */
export function describeLink(link: SymlinkOut): string {
  return `${shown(link.path)} → ${shown(link.target)}`;
}

/** What a link out does, in a few words: the detail of its finding. */
export function linkDetail(link: SymlinkOut): string {
  const where = {
    absolute: 'an absolute path, outside the repository',
    leaves: `outside the repository (from ${path.posix.dirname(link.path) === '.' ? 'the root' : `${path.posix.dirname(link.path)}/`})`,
    'git-folder': "into a .git folder, where writes change the repository's own files",
  }[link.why];
  return `a symbolic link to ${shown(link.target)}: ${where}; apply refuses it unless allowed`;
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
