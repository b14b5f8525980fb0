import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Git } from '../git/git';
import type { Repository } from '../git/repository';
import { withWorkingIndex } from '../git/workingIndex';

/** A file as git would store it: its mode and blob id. */
export interface FileState {
  readonly mode: '100644' | '100755' | '120000';
  readonly oid: string;
}

/** What a path of the checkout holds now. */
export interface PathNow {
  /** The file (its blob written to the repository's objects); null when nothing is there; `other` for a folder, a special file or a file too large to keep. */
  readonly state: FileState | null | 'other';
  /** It is a folder (its files are paths of their own). */
  readonly folder?: boolean;
  /** When it was last written, and made (where the platform says); absent when nothing is there. */
  readonly mtimeMs?: number;
  readonly birthtimeMs?: number;
}

/** The largest file whose content is kept (as a blob) when it is found written by an escape. */
export const MAX_KEPT_BYTES = 64 * 1024 * 1024;
const FILE_MODES = new Set(['100644', '100755', '120000']);
/** Paths read in parallel, and paths per git command line. */
const STAT_CONCURRENCY = 64;
const ARGS_PER_CALL = 500;

/**
 * What each path (relative to the checkout, `/`-separated) holds now. Files are hashed as `git add`
 * would (filters and line endings by their attributes) and their blobs kept, so that the report
 * can name them and restore can compare them; a symlink is never followed, a FIFO never opened.
 */
export async function pathsNow(repo: Repository, paths: readonly string[]): Promise<Map<string, PathNow>> {
  const found = new Map<string, PathNow>();
  const files: string[] = [];
  const links: string[] = [];
  const stats = new Map<string, { mtimeMs: number; birthtimeMs: number; executable: boolean }>();
  for (let i = 0; i < paths.length; i += STAT_CONCURRENCY) {
    await Promise.all(
      paths.slice(i, i + STAT_CONCURRENCY).map(async (p) => {
        const stat = await lstat(path.join(repo.root, p)).catch(() => undefined);
        if (!stat) return found.set(p, { state: null });
        const times = { mtimeMs: stat.mtimeMs, birthtimeMs: stat.birthtimeMs || stat.ctimeMs };
        if (stat.isSymbolicLink()) links.push(p);
        else if (stat.isFile() && stat.size <= MAX_KEPT_BYTES && !p.includes('\n')) files.push(p);
        else return found.set(p, { state: 'other', ...times, ...(stat.isDirectory() ? { folder: true } : {}) });
        stats.set(p, { ...times, executable: (stat.mode & 0o100) !== 0 });
        return undefined;
      }),
    );
  }
  for (let i = 0; i < files.length; i += ARGS_PER_CALL) {
    const chunk = files.slice(i, i + ARGS_PER_CALL);
    // One file that vanished fails the whole call: then each is hashed alone.
    const oids = await hashFiles(repo.git, chunk).catch(() =>
      Promise.all(
        chunk.map((f) =>
          hashFiles(repo.git, [f]).then(
            (o) => o[0],
            () => undefined,
          ),
        ),
      ),
    );
    chunk.forEach((f, i) => {
      const s = stats.get(f)!;
      const oid = oids[i];
      found.set(f, {
        state: oid ? { mode: s.executable ? '100755' : '100644', oid } : null,
        mtimeMs: s.mtimeMs,
        birthtimeMs: s.birthtimeMs,
      });
    });
  }
  for (const link of links) {
    const target = await readlink(path.join(repo.root, link)).catch(() => undefined);
    const s = stats.get(link)!;
    const oid =
      target === undefined ? undefined : await repo.git.line(['hash-object', '-w', '--stdin'], { input: target }).catch(() => undefined);
    found.set(link, { state: oid ? { mode: '120000', oid } : null, mtimeMs: s.mtimeMs, birthtimeMs: s.birthtimeMs });
  }
  return found;
}

function hashFiles(git: Git, files: readonly string[]): Promise<string[]> {
  // Bounded: a file swapped for a FIFO between lstat and this read would otherwise hold the check forever.
  return git
    .run(['hash-object', '-w', '--stdin-paths'], { input: `${files.join('\n')}\n`, signal: AbortSignal.timeout(120_000) })
    .then((out) => out.split('\n').filter(Boolean));
}

/**
 * The base's files at or under each path (a path that is a folder in the base stands for every
 * file in it): what each was before the run.
 */
export async function baseFilesUnder(git: Git, tree: string, paths: readonly string[]): Promise<Map<string, FileState>> {
  const entries = new Map<string, FileState>();
  const wanted = [...new Set(paths)].sort();
  for (let i = 0; i < wanted.length; i += ARGS_PER_CALL) {
    const chunk = wanted.slice(i, i + ARGS_PER_CALL);
    const out = await git.run(['ls-tree', '-r', '-z', '--full-tree', tree, '--', ...chunk], { env: { GIT_LITERAL_PATHSPECS: '1' } });
    for (const record of out.split('\0')) {
      const tab = record.indexOf('\t');
      if (tab < 0) continue;
      const [mode, , oid] = record.slice(0, tab).split(' ');
      if (FILE_MODES.has(mode)) entries.set(record.slice(tab + 1), { mode: mode as FileState['mode'], oid });
    }
  }
  return entries;
}

/**
 * The paths git ignores among `paths` (none of them in the base): their earlier content is not in
 * the base, so it is unknown. Undefined when git cannot say (a path inside a submodule, say).
 */
export async function ignoredAmong(git: Git, paths: readonly string[]): Promise<Set<string> | undefined> {
  if (paths.length === 0) return new Set();
  const listed = paths.filter((p) => !p.includes('\0'));
  const result = await git
    .exec(['check-ignore', '-z', '--stdin'], { input: listed.map((p) => `${p}\0`).join(''), okExitCodes: [1] })
    .catch(() => undefined);
  return result && new Set(result.stdout.split('\0').filter(Boolean));
}

/** Every file of the checkout (ignored ones aside) that differs from the base: before and after. */
export async function checkoutChanges(
  repo: Repository,
  baseTree: string,
): Promise<Map<string, { before: FileState | null; after: FileState | null }>> {
  const raw = await withWorkingIndex(repo, (w) =>
    w.tree === baseTree ? Promise.resolve('') : repo.git.run(['diff-tree', '-r', '--no-renames', '-z', baseTree, w.tree]),
  );
  const changes = new Map<string, { before: FileState | null; after: FileState | null }>();
  const fields = raw.split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [oldMode, newMode, oldOid, newOid] = fields[i].replace(/^:/, '').split(' ');
    const state = (mode: string, oid: string): FileState | null => (FILE_MODES.has(mode) ? { mode: mode as FileState['mode'], oid } : null);
    changes.set(fields[i + 1], { before: state(oldMode, oldOid), after: state(newMode, newOid) });
  }
  return changes;
}
