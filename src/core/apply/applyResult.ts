import type { Git } from '../git/git';
import { GitError, TappsError } from '../util/errors';
import { plural } from '../util/words';
import { describeObstacles, findObstacles, treeChanges } from './applyPlan';
import { targetTree } from './applyTarget';
import { withFinishedRun, type FinishedRun } from './finishedRun';
import { recordedMergeRules } from './recordedRules';
import { noteEngineWrites } from '../escape/engineWrites';
import { withWorkingIndex } from '../git/workingIndex';
import { symlinksOut, type SymlinkOut } from '../findings/symlinks';
import { SymlinksOutError } from './symlinksOutError';

/** A step whose changes are not in the result, and why (its status). */
export interface MissingStep {
  readonly step: string;
  readonly status: string;
}

export interface ApplyResult {
  /** Paths written or deleted in the working tree, sorted. */
  readonly changed: readonly string[];
  /** Whether the result lacks some step's changes (a step failed, timed out, was cancelled or skipped). */
  readonly partial: boolean;
  /** The steps whose changes are not in the result, in workflow order; empty unless partial. */
  readonly missing: readonly MissingStep[];
  /** What happened, in one sentence for the user; it says when the result was partial. */
  readonly message: string;
}

export interface ApplyOptions {
  /**
   * Write symbolic links that point outside the repository (or into a `.git` folder) too; without
   * it, a result holding one is refused with `SymlinksOutError` and nothing is written.
   * @default false
   */
  readonly allowSymlinksOut?: boolean;
  /** Apply the passing alternative (the result without the steps that broke its checks) instead. */
  readonly alternative?: boolean;
}

/**
 * Brings a run's aggregate (its changes against the run's base) into the user's working tree,
 * through git's own checkout so that filters, line endings, LFS and symbolic links come out as
 * `git checkout` of the result would give them:
 *
 * 1. the user's files now, in a temporary index (a copy of theirs, then `git add --all`);
 * 2. the target tree: their edits since the run started and the result, folded over the run's
 *    base with the merge policies the run recorded;
 * 3. a plan: every changed path is checked on disk first; ignored files or folders in the way, or
 *    a symbolic link the result would be written through, refuse with their list; so does a link
 *    the result would write that points out of the repository, unless `allowSymlinksOut`;
 * 4. `git read-tree -m -u <current> <target>` through the temporary index, which is then deleted.
 *
 * All or nothing: any refusal comes before the first write. The user's index is only read, so the
 * changes show as unstaged edits.
 */
export async function applyResult(repoDir: string, runId: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  return withFinishedRun(repoDir, runId, 'applying its result', (run) => applyFinishedRun(run, options), {
    alternative: options.alternative === true,
  });
}

/** {@link applyResult} on a run already opened (and, where the caller holds it, locked) for the action. */
export async function applyFinishedRun(run: FinishedRun, options: ApplyOptions = {}): Promise<ApplyResult> {
  const { repo, snapshot } = run;
  const { runId } = snapshot;
  if (snapshot.conflicts.length > 0) {
    const paths = [...new Set(snapshot.conflicts.map((c) => c.path))];
    throw new TappsError(
      'unresolved-conflicts',
      `Run ${runId} has ${plural(snapshot.conflicts.length, 'unresolved conflict')} in: ${paths.join(', ')}. Resolve each with: tapps-flow resolve ${runId} <path> --take <step> (or --file FILE), then apply again. Nothing was changed.`,
    );
  }
  const rules = recordedMergeRules(run.dir);
  const changed = await withWorkingIndex(repo, async (working) => {
    const { base, aggregate } = snapshot;
    const target = await targetTree({ repo, runId, base, aggregate, current: working.tree, rules: await rules });
    if (target === working.tree) return [];
    // The links are looked for in what apply would write, whoever made them (a step, a resolve);
    // the plan needs the additions (and the deletions that make room for them) only.
    const [links, additions] = await Promise.all([
      options.allowSymlinksOut ? [] : symlinksOut(repo.git, working.tree, target),
      treeChanges(repo.git, working.tree, target, 'AD'),
    ]);
    if (links.length > 0) throw new SymlinksOutError(runId, links);
    const obstacles = await findObstacles(repo.root, additions);
    if (obstacles.length > 0) {
      throw new TappsError(
        'apply-blocked',
        `Cannot apply run ${runId}: ${obstacles.length === 1 ? 'this path is' : 'these paths are'} in the way of its result: ${describeObstacles(obstacles)}. Move them away, then apply again. Nothing was changed.`,
      );
    }
    // The full list is only reported: git lists it while the checkout, which waits on the disk, writes.
    const listing = treeChanges(repo.git, working.tree, target);
    listing.catch(() => undefined);
    const started = Date.now();
    await checkOut(repo.git, working.file, working.tree, target, runId);
    const paths = (await listing).map((c) => c.path);
    await noteEngineWrites(repo, paths, started); // the runs going on take these writes for the user's
    return paths;
  });
  await run.record({ type: 'applied', mode: 'apply', target: repo.root });
  const leftOut = new Set(run.leftOut ?? []);
  const missing = snapshot.aggregate.partial
    ? snapshot.steps
        .filter((s) => s.status !== 'succeeded' || leftOut.has(s.id))
        .map((s) => ({ step: s.id, status: leftOut.has(s.id) ? 'left out: it broke a check' : s.status.replace('_', ' ') }))
    : [];
  return {
    changed,
    partial: snapshot.aggregate.partial,
    missing,
    message: applyMessage(runId, changed.length, missing, snapshot.aggregate.partial),
  };
}

/**
 * Git's two-tree checkout from `current` to `target` in the temporary index: it verifies every
 * entry it touches is up to date with the disk before writing any, so a file the user saved in
 * the meantime makes it refuse with nothing changed.
 */
async function checkOut(git: Git, index: string, current: string, target: string, runId: string): Promise<void> {
  try {
    await git.run(['read-tree', '-m', '-u', current, target], { env: { GIT_INDEX_FILE: index } });
  } catch (error) {
    if (!GitError.is(error)) throw error;
    const said = error.stderr.trim().split('\n').slice(0, 5).join(' ');
    throw new TappsError(
      'apply-failed',
      `Cannot apply run ${runId}: git could not update your files (${said || `exit code ${String(error.exitCode)}`}). If you saved files while applying, apply again.`,
    );
  }
}

function applyMessage(runId: string, count: number, missing: readonly MissingStep[], partial: boolean): string {
  const gap = partial
    ? ` This is a partial result: it lacks the changes of ${missing.map((m) => `${m.step} (${m.status})`).join(', ') || 'some steps'}.`
    : '';
  if (count === 0) return `Run ${runId}: nothing to apply, your files already match its result.${gap}`;
  return `Applied ${partial ? 'a partial result of ' : ''}run ${runId}: ${plural(count, 'path')} changed in your working tree (your index is untouched).${gap}`;
}

/**
 * Points a new branch at the run's aggregate (or its passing alternative); refuses an existing branch or an invalid name. A
 * branch writes nothing in the working tree, so links out of the repository do not stop it: they
 * are returned (`symlinksOut`, against the run's base) for the caller to say so.
 */
export async function branchFromResult(
  repoDir: string,
  runId: string,
  name: string,
  options: { readonly alternative?: boolean } = {},
): Promise<{ ref: string; commit: string; unresolved: number; symlinksOut: readonly SymlinkOut[] }> {
  return withFinishedRun(
    repoDir,
    runId,
    'creating a branch from its result',
    async (run) => {
      const { git } = run.repo;
      const ref = await git.line(['check-ref-format', '--branch', name]).then(
        (n) => `refs/heads/${n}`,
        () => {
          throw new TappsError('bad-branch-name', `"${name}" is not a valid branch name; expected something like tapps/${runId}`);
        },
      );
      const links = await symlinksOut(git, run.snapshot.base.tree, run.snapshot.aggregate.tree);
      // An empty old value makes update-ref create the branch only if it does not exist yet.
      await git.run(['update-ref', ref, run.snapshot.aggregate.commit, '']).catch(() => {
        throw new TappsError('branch-exists', `Branch "${name}" already exists; choose another name.`);
      });
      await run.record({ type: 'applied', mode: 'branch', target: ref });
      return { ref, commit: run.snapshot.aggregate.commit, unresolved: run.snapshot.conflicts.length, symlinksOut: links };
    },
    { alternative: options.alternative === true },
  );
}
