import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Git } from '../git/git';
import { STATE_FOLDER } from '../git/repository';
import { TappsError } from '../util/errors';
import { isStrictlyInside, removeRetrying } from '../util/paths';

/** The most files and folders one setup copies: past this the patterns are surely too broad. */
export const MAX_SETUP_PATHS = 10_000;

/**
 * The untracked files and folders of the main checkout that match `patterns` and that git
 * ignores: what a new worktree lacks and a setup copies in. Tracked files never qualify.
 *
 * `gitignore`: `.worktreeinclude` lines (negations, `dir/`, anchoring), matched by git itself.
 * `glob`: the editor's `git.worktreeIncludeFiles`, matched with picomatch against each path
 * relative to the root; a wholly ignored folder matches when its own path does.
 *
 * `git` must run in `repoRoot` with the user's own ignore settings (the main checkout's Git, not
 * a step's, which pins `core.excludesFile` away). Folders come back as one entry, without a
 * trailing slash, sorted in byte order; Tapps Flow's state folder never does.
 */
export async function ignoredPathsMatching(
  git: Git,
  repoRoot: string,
  patterns: readonly string[],
  syntax: 'gitignore' | 'glob',
): Promise<string[]> {
  checkPatterns(patterns);
  const wanted = patterns.filter((p) => p.trim() !== '');
  if (wanted.length === 0) return [];
  const found = syntax === 'gitignore' ? await gitignoreMatches(git, wanted) : await globMatches(git, wanted);
  return topmost(repoRoot, found);
}

function checkPatterns(patterns: readonly string[]): void {
  for (const pattern of patterns) {
    if (typeof pattern !== 'string' || /[\0\r\n]/.test(pattern)) {
      throw new TappsError(
        'invalid-setup-pattern',
        `The setup pattern ${JSON.stringify(pattern)} is not one line of text: a pattern has no line break or NUL character. Fix the pattern, or set settings.setup: none in the workflow.`,
      );
    }
  }
}

/**
 * Git lists what the patterns select (they are its only ignore rules here), then check-ignore
 * keeps what the user's rules ignore. A selected folder that is not ignored as a whole is
 * opened: some of its files may be.
 */
async function gitignoreMatches(git: Git, patterns: readonly string[]): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tapps-flow-include-'));
  try {
    const from = path.join(dir, 'patterns');
    await writeFile(from, `${patterns.join('\n')}\n`);
    const listed = await untracked(git, ['--ignored', '--directory', `--exclude-from=${from}`]);
    const ignored = await checkIgnored(git, listed);
    const partly = listed.filter((entry) => entry.endsWith('/') && !ignored.has(entry));
    const inside = partly.length === 0 ? [] : await untracked(git, ['--ignored', `--exclude-from=${from}`, '--', ...partly]);
    return [...ignored, ...(await checkIgnored(git, inside))];
  } finally {
    await removeRetrying(dir, { recursive: true, force: true });
  }
}

/**
 * The ignored untracked paths, folders collapsed, filtered by the globs. A collapsed folder that
 * a pattern's literal start reaches into (`config/*.json` and an ignored `config/`) is listed
 * down to that start, so that its files can match; `**` alone never opens a folder.
 */
async function globMatches(git: Git, patterns: readonly string[]): Promise<string[]> {
  const isMatch = picomatch([...patterns], { dot: true, nonegate: true });
  const listed = await untracked(git, ['--ignored', '--exclude-standard', '--directory']);
  const matched = listed.filter((entry) => isMatch(withoutSlash(entry)));
  const folders = listed.filter((entry) => entry.endsWith('/') && !isMatch(withoutSlash(entry)));
  const starts = patterns.map((p) => picomatch.scan(p).base).filter((base) => folders.some((f) => `${base}/`.startsWith(f)));
  if (starts.length === 0) return matched;
  const inside = await untracked(git, ['--ignored', '--exclude-standard', '--', ...new Set(starts)]);
  return [...matched, ...inside.filter((entry) => isMatch(withoutSlash(entry)))];
}

/** `git ls-files --others` with NUL separators, paths literal (a file may be named `*`). */
async function untracked(git: Git, options: readonly string[]): Promise<string[]> {
  const out = await git.run(['--literal-pathspecs', 'ls-files', '-z', '--others', ...options]);
  return out.split('\0').filter((entry) => entry !== '');
}

/**
 * The entries the user's ignore rules ignore; check-ignore exits 1 when none is. It reads pathspec
 * magic (`:(top)x`) and refuses `--literal-pathspecs`: a `./` in front keeps every name literal.
 */
async function checkIgnored(git: Git, entries: readonly string[]): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const out = await git.run(['check-ignore', '-z', '--stdin'], { input: entries.map((e) => `./${e}\0`).join(''), okExitCodes: [1] });
  return new Set(
    out
      .split('\0')
      .map((entry) => entry.replace(/^\.\//, ''))
      .filter((entry) => entry !== ''),
  );
}

/** One entry per path, none inside a listed folder, none outside the root or in the state folder. */
function topmost(repoRoot: string, entries: readonly string[]): string[] {
  const folders = new Set(entries.filter((e) => e.endsWith('/')).map(withoutSlash));
  const paths = [...new Set(entries.map(withoutSlash))].filter((p) => staysInside(repoRoot, p)).sort(byteOrder);
  const kept: string[] = [];
  const keptFolders = new Set<string>();
  for (const p of paths) {
    if (ancestors(p).some((a) => keptFolders.has(a))) continue;
    kept.push(p);
    if (folders.has(p)) keptFolders.add(p);
  }
  if (kept.length > MAX_SETUP_PATHS) {
    throw new TappsError(
      'too-many-setup-paths',
      `The setup patterns select ${kept.length} ignored files and folders; at most ${MAX_SETUP_PATHS} are copied into a worktree. Narrow the patterns (.worktreeinclude, file_include_globs or git.worktreeIncludeFiles), or set settings.setup: none in the workflow.`,
    );
  }
  return kept;
}

function staysInside(repoRoot: string, relative: string): boolean {
  const parts = relative.split('/');
  if (relative === '' || relative.startsWith('/') || parts.includes('..') || parts.includes('.')) return false;
  if (parts[0] === STATE_FOLDER) return false;
  return isStrictlyInside(path.resolve(repoRoot, relative), repoRoot);
}

function ancestors(relative: string): string[] {
  const parts = relative.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

function withoutSlash(entry: string): string {
  return entry.endsWith('/') ? entry.slice(0, -1) : entry;
}

/** Byte order of the UTF-8 text, as git sorts paths (not UTF-16 code units). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
