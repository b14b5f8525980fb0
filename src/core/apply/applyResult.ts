import { chmod, lstat, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { captureBase } from '../git/base';
import { changedPaths } from '../git/capture';
import { fixedIdentityEnv } from '../git/identity';
import { readBlobs, treeEntries } from '../git/objects';
import { mergeTree } from '../merge/mergeTree';
import { TappsError } from '../util/errors';
import { openFinishedRun } from './finishedRun';

export interface ApplyResult {
  /** Paths written or deleted in the working tree, sorted. */
  readonly changed: readonly string[];
}

/**
 * Brings a run's aggregate (its changes against the run's base) into the user's working tree.
 * Edits the user made since the run started are merged with git's 3-way merge; where they clash,
 * or where an ignored file would be overwritten, it refuses and changes nothing at all. The
 * user's index is not touched: the changes show as unstaged edits.
 */
export async function applyResult(repoDir: string, runId: string): Promise<ApplyResult> {
  const run = await openFinishedRun(repoDir, runId);
  const { repo, snapshot } = run;
  if (snapshot.conflicts.length > 0) {
    const paths = [...new Set(snapshot.conflicts.map((c) => c.path))];
    throw new TappsError(
      'unresolved-conflicts',
      `Run ${runId} has ${snapshot.conflicts.length} unresolved conflict(s) in: ${paths.join(', ')}. Resolve each with: tapps-flow resolve ${runId} <path> --take <step> (or --file FILE), then apply again. Nothing was changed.`,
    );
  }
  const base = snapshot.base;
  const now = await captureBase(repo, `apply-${runId}`);
  let target: string;
  if (now.tree === base.tree) target = snapshot.aggregate.tree;
  else {
    // The user's current files as a commit on top of the run's base, so the merge base is the base.
    const ours = await repo.git.line(['commit-tree', now.tree, '-p', base.commit, '-m', 'Tapps Flow: working tree before apply'], {
      env: fixedIdentityEnv(base.time),
    });
    const merged = await mergeTree(repo.git, ours, snapshot.aggregate.commit);
    if (merged.conflicts.size > 0) {
      throw new TappsError(
        'apply-clash',
        `Cannot apply run ${runId}: you changed these paths since the run started, and your edits clash with its result: ${[...merged.conflicts.keys()].sort().join(', ')}. Commit or stash your edits to them, then apply again. Nothing was changed.`,
      );
    }
    target = merged.tree;
  }
  const changed = await changedPaths(repo.git, now.tree, target);
  const entries = await treeEntries(repo.git, target, changed);
  const present = await treeEntries(repo.git, now.tree, changed);
  const blocked: string[] = [];
  for (const file of changed) {
    if (present.has(file)) continue;
    const onDisk = await lstat(path.join(repo.root, file)).then(
      () => true,
      () => false,
    );
    if (onDisk) blocked.push(file);
  }
  if (blocked.length > 0) {
    throw new TappsError(
      'apply-ignored',
      `Cannot apply run ${runId}: it would overwrite files that git ignores here: ${blocked.join(', ')}. Move them away, then apply again. Nothing was changed.`,
    );
  }
  const blobs = await readBlobs(
    repo.git,
    [...entries.values()].filter((e) => e.mode !== '160000').map((e) => e.oid),
  );
  // Every blob is read before the first write, so a failure to read changes nothing.
  for (const file of changed) {
    const full = path.join(repo.root, file);
    const entry = entries.get(file);
    if (!entry) {
      await rm(full, { force: true });
      continue;
    }
    if (entry.mode === '160000') continue; // a submodule pointer: not a file to write
    await mkdir(path.dirname(full), { recursive: true });
    const tmp = `${full}.tapps-flow-apply.tmp`;
    if (entry.mode === '120000') {
      await symlink(blobs.get(entry.oid)!.toString('utf8'), tmp);
    } else {
      await writeFile(tmp, blobs.get(entry.oid)!);
      await chmod(tmp, entry.mode === '100755' ? 0o755 : 0o644);
    }
    await rm(full, { force: true, recursive: false }).catch(() => undefined);
    await rename(tmp, full);
  }
  await run.record({ type: 'applied', mode: 'apply', target: repo.root });
  return { changed };
}

/** Points a new branch at the run's aggregate; refuses an existing branch or an invalid name. */
export async function branchFromResult(
  repoDir: string,
  runId: string,
  name: string,
): Promise<{ ref: string; commit: string; unresolved: number }> {
  const run = await openFinishedRun(repoDir, runId);
  const { git } = run.repo;
  const ref = await git.line(['check-ref-format', '--branch', name]).then(
    (n) => `refs/heads/${n}`,
    () => {
      throw new TappsError('bad-branch-name', `"${name}" is not a valid branch name; expected something like tapps/${runId}`);
    },
  );
  // An empty old value makes update-ref create the branch only if it does not exist yet.
  await git.run(['update-ref', ref, run.snapshot.aggregate.commit, '']).catch(() => {
    throw new TappsError('branch-exists', `Branch "${name}" already exists; choose another name.`);
  });
  await run.record({ type: 'applied', mode: 'branch', target: ref });
  return { ref, commit: run.snapshot.aggregate.commit, unresolved: run.snapshot.conflicts.length };
}
