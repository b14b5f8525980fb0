import { scratchDir } from '../git/scratch';
import { changedPaths } from '../git/capture';
import { fixedIdentityEnv } from '../git/identity';
import { treeEntries } from '../git/objects';
import type { Repository } from '../git/repository';
import { foldResults, type FoldDecision } from '../merge/fold';
import { policyMatcher } from '../merge/mergeRules';
import { mergeTree } from '../merge/mergeTree';
import type { Conflict } from '../state/events';
import { TappsError } from '../util/errors';
import type { MergeRule } from '../workflow/schema';

export interface TargetInput {
  readonly repo: Repository;
  readonly runId: string;
  /** The run's base: the merge base of the user's edits and the result. */
  readonly base: { readonly commit: string; readonly tree: string; readonly time: number };
  readonly aggregate: { readonly commit: string; readonly tree: string };
  /** The tree of the user's files now. */
  readonly current: string;
  readonly rules: readonly MergeRule[];
}

const YOURS = 'your edits';
const RESULT = 'the result';

/**
 * The tree apply leaves in the working tree: the user's edits since the run started and the run's
 * result, folded over the run's base with the merge policy of each path (the same fold that made
 * the aggregate). Where they clash, it refuses: nothing has been written yet. A `first` or `last`
 * policy that would pick one side over the other is a clash here, since either way someone's
 * change would be dropped without a word.
 */
export async function targetTree(input: TargetInput): Promise<string> {
  const { repo, base, aggregate, current } = input;
  if (current === base.tree) return aggregate.tree;
  if (aggregate.tree === base.tree) return current;
  const { git } = repo;
  const yoursCommit = git.line(['commit-tree', current, '-p', base.commit, '-m', 'Tapps Flow: working tree before apply'], {
    env: fixedIdentityEnv(base.time),
  });
  // Git's merge runs while the paths are looked up: most applies need nothing more.
  const gitMerge = yoursCommit.then((yours) => mergeTree(git, yours, aggregate.commit));
  gitMerge.catch(() => undefined);
  const yourChanges = await changedPaths(git, base.tree, current);
  const both = await changedByBoth(repo, base.tree, aggregate.tree, yourChanges);
  if (both?.length === 0) {
    // No path changed on both sides: no policy has anything to merge, so git's merge is the fold's
    // answer unless it found a conflict of another kind (a file where the other side made a folder).
    const merged = await gitMerge;
    if (merged.conflicts.size === 0) return merged.tree;
  }
  const yours = await yoursCommit;
  const fold = await foldResults(
    repo,
    base,
    [
      { step: YOURS, commit: yours, parent: base.commit, parentTree: base.tree, changed: yourChanges },
      // The fold only compares a later item's paths with those earlier items changed, so the paths
      // changed on both sides stand for the result's whole list (50,000 paths cost a whole diff).
      {
        step: RESULT,
        commit: aggregate.commit,
        parent: base.commit,
        parentTree: base.tree,
        changed: both !== undefined && both.length > 0 ? both : await changedPaths(git, base.tree, aggregate.tree),
      },
    ],
    { policyFor: policyMatcher(input.rules), scratchDir: scratchDir(repo), time: base.time },
  );
  const clashes = [...fold.conflicts.map(describeConflict), ...fold.decisions.map(describeDecision)];
  if (clashes.length > 0) {
    const shown = clashes.slice(0, 20).join(', ');
    const more = clashes.length > 20 ? `, and ${clashes.length - 20} more` : '';
    throw new TappsError(
      'apply-clash',
      `Cannot apply run ${input.runId}: you changed these paths since the run started, and your edits clash with its result: ${shown}${more}. Set your edits to them aside (git stash), apply, then bring them back (git stash pop merges them); or create a branch from the result instead. Nothing was changed.`,
    );
  }
  return fold.tree;
}

/** Above this many edits of the user's, one diff of the whole result is cheaper than looking their paths up. */
const LOOKUP_LIMIT = 2000;

/**
 * The paths among `yours` that the result changed too (its entry differs from the base's), looked
 * up in both trees; undefined when the user changed too many paths for lookups to pay.
 */
async function changedByBoth(
  repo: Repository,
  baseTree: string,
  resultTree: string,
  yours: readonly string[],
): Promise<string[] | undefined> {
  if (yours.length > LOOKUP_LIMIT) return undefined;
  const [before, after] = await Promise.all([treeEntries(repo.git, baseTree, yours), treeEntries(repo.git, resultTree, yours)]);
  return yours.filter((p) => before.get(p)?.mode !== after.get(p)?.mode || before.get(p)?.oid !== after.get(p)?.oid);
}

function describeConflict(c: Conflict): string {
  const why: Record<Conflict['kind'], string> = {
    content: 'you and the result changed the same lines',
    'add/add': 'you and the result both added this file, with different contents',
    'modify/delete': 'one of you deleted this file and the other changed it',
    rename: 'you and the result moved or renamed this file in ways that clash',
    binary: 'you and the result both changed this binary file',
    'json-key': `you and the result set ${c.location ?? 'a key'} to different values`,
    'markdown-section': `you and the result changed the section ${c.location ?? ''} in different ways`,
    'policy-fail': 'its merge policy "fail" allows only one side to change it',
  };
  return `${c.path} (${why[c.kind]})`;
}

function describeDecision(d: FoldDecision): string {
  return `${d.path} (its merge policy "${d.policy}" would replace ${d.kept === YOURS ? "the result's changes" : 'your edits'})`;
}
