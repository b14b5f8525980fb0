import path from 'node:path';
import { editTree, treeEntries, type TreeEdit } from '../git/objects';
import { openRepository } from '../git/repository';
import { scratchDir } from '../git/scratch';
import { withWorkingIndex } from '../git/workingIndex';
import { noteEngineWrites } from './engineWrites';
import { MAX_RESTORED_LISTED } from '../state/events';
import { RunWriter } from '../state/runWriter';
import type { EscapeRecord } from '../state/snapshot';
import { GitError, TappsError } from '../util/errors';
import { relativeInside } from '../util/paths';

export interface RestoreOptions {
  /** Only these files (paths in the checkout, or absolute paths inside it). @default every escaped file not restored yet */
  readonly paths?: readonly string[];
  /** Put back files changed again since the escape too (the user's later edits are lost). @default false */
  readonly force?: boolean;
  /** Say what would be done; change nothing. @default false */
  readonly dryRun?: boolean;
}

export interface RestoreResult {
  /** Files put back as they were before the escape (it changed or deleted them). */
  readonly restored: readonly string[];
  /** Files the escape created (not in the base), deleted. */
  readonly removed: readonly string[];
  /** Files left alone because they changed again after the escape: `force` restores them anyway. */
  readonly changedSince: readonly string[];
  /** Escaped files restore cannot bring back, and why (git ignores them, say). */
  readonly notRestorable: ReadonlyArray<{ readonly path: string; readonly why: string }>;
  /** Writes to config, refs and hooks: never undone automatically; how to undo each. */
  readonly undo: ReadonlyArray<{ readonly kind: string; readonly path: string; readonly detail: string }>;
}

/**
 * Puts back the files of the main checkout that a run's steps wrote outside their worktrees, as
 * they were before (the base's version, or the user's own later one): through git's own checkout
 * (`read-tree -m -u`) on a temporary index, never the user's index. A file changed again since the
 * escape is left alone unless `force`; a file the escape created is deleted; ignored files, whose
 * earlier content the base does not hold, are only listed. Config, refs and hooks are never
 * changed: the result says how to undo each. Holds the run's lock; records `escape_restored`.
 */
export async function restoreEscapes(repoDir: string, runId: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const repo = await openRepository(repoDir);
  const writer = await RunWriter.open(repo, runId, 'restoring the files its steps wrote outside their worktrees', { waitMs: 2_000 });
  try {
    const { escapes } = writer.snapshot;
    const files = escapes.filter((e) => e.kind === 'file');
    const chosen = options.paths === undefined ? files.filter((e) => !e.restored) : pick(files, options.paths, repo.root, runId);
    const notRestorable: Array<{ path: string; why: string }> = [];
    const candidates: EscapeRecord[] = [];
    for (const e of chosen) {
      if (e.restored) notRestorable.push({ path: e.path, why: 'it was restored already' });
      else if (e.ignored || e.before === undefined)
        notRestorable.push({ path: e.path, why: 'git ignores it, so the base does not hold its earlier content' });
      else candidates.push(e);
    }
    const restored: string[] = [];
    const removed: string[] = [];
    const changedSince: string[] = [];
    if (candidates.length > 0) {
      await withWorkingIndex(repo, async (working) => {
        const current = await treeEntries(
          repo.git,
          working.tree,
          candidates.map((e) => e.path),
        );
        const edits = new Map<string, TreeEdit>();
        for (const e of candidates) {
          const now = current.get(e.path) ?? null;
          const left = e.after === undefined ? undefined : e.after;
          const unchanged = left !== undefined && (now === null ? left === null : left !== null && left.oid === now.oid);
          if (!unchanged && !options.force) {
            changedSince.push(e.path);
            continue;
          }
          edits.set(e.path, e.before ? { mode: e.before.mode, oid: e.before.oid } : null);
          (e.before ? restored : removed).push(e.path);
        }
        if (edits.size === 0 || options.dryRun) return;
        const target = await editTree(repo.git, working.tree, edits, scratchDir(repo));
        try {
          // Git's two-tree checkout checks every entry it touches against the disk before writing any.
          const started = Date.now();
          await repo.git.run(['read-tree', '-m', '-u', working.tree, target], { env: { GIT_INDEX_FILE: working.file } });
          await noteEngineWrites(repo, [...edits.keys()], started); // the runs going on take these writes for the user's
        } catch (error) {
          if (!GitError.is(error)) throw error;
          throw new TappsError(
            'restore-failed',
            `Cannot restore run ${runId}'s escaped files: git could not update them (${error.stderr.trim().split('\n').slice(0, 3).join(' ')}). If you saved files meanwhile, try again. Nothing was changed.`,
          );
        }
      });
    }
    const done = [...restored, ...removed].sort();
    if (done.length > 0 && !options.dryRun) {
      writer.append({ type: 'escape_restored', paths: done.slice(0, MAX_RESTORED_LISTED), count: done.length });
      await writer.store.flush();
    }
    return {
      restored: restored.sort(),
      removed: removed.sort(),
      changedSince: changedSince.sort(),
      notRestorable,
      undo: escapes.filter((e) => e.kind !== 'file').map((e) => ({ kind: e.kind, path: e.path, detail: e.detail })),
    };
  } finally {
    await writer.close();
  }
}

/** The escapes of the files named; a name that is no escaped file of the run is refused. */
function pick(files: readonly EscapeRecord[], paths: readonly string[], root: string, runId: string): EscapeRecord[] {
  // An absolute path outside the checkout stays as it is: named so among the unknown ones.
  const wanted = paths.map((p) => (path.isAbsolute(p) ? (relativeInside(root, p) ?? p) : p.split(path.sep).join('/')).replace(/^\.\//, ''));
  const unknown = wanted.filter((p) => !files.some((e) => e.path === p));
  if (unknown.length > 0) {
    const known = files.map((e) => e.path);
    throw new TappsError(
      'unknown-escape',
      `Run ${runId} has no escaped file ${unknown.map((p) => `"${p}"`).join(', ')}; ${known.length === 0 ? 'its steps wrote no file outside their worktrees' : `its escaped files are: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}`}.`,
    );
  }
  return files.filter((e) => wanted.includes(e.path));
}
