import type { Base } from '../git/base';
import { fixedIdentityEnv } from '../git/identity';
import type { Repository } from '../git/repository';
import { scratchDir } from '../git/scratch';
import { foldItemsOf } from '../merge/aggregate';
import { foldResults } from '../merge/fold';
import { policyMatcher } from '../merge/mergeRules';
import type { StepSnapshot } from '../state/snapshot';
import type { LoadedWorkflow } from '../workflow/loadWorkflow';
import type { MergeRule } from '../workflow/schema';

/**
 * The commit a step starts from: the run's base with the results of its dependencies folded in,
 * in stable (topological) order, so that a step sees exactly what it depends on.
 */
export async function stepBaseOf(
  repo: Repository,
  base: Base,
  dependencies: readonly StepSnapshot[],
  rules: readonly MergeRule[],
): Promise<{ commit: string; tree: string; time: number }> {
  if (dependencies.length === 0) return base;
  const fold = await foldResults(repo, base, await foldItemsOf(repo, dependencies, base), {
    policyFor: policyMatcher(rules),
    scratchDir: scratchDir(repo),
    time: base.time,
  });
  const commit = await repo.git.line(['commit-tree', fold.tree, '-p', base.commit, '-m', 'Tapps Flow step base'], {
    env: fixedIdentityEnv(base.time),
  });
  return { commit, tree: fold.tree, time: base.time };
}

/** The commit step `id` of a run starts from: its dependencies' results, in the run's topological order (see `stepBaseOf`). */
export function dependencyBase(
  repo: Repository,
  base: Base,
  loaded: LoadedWorkflow,
  stepOf: (id: string) => StepSnapshot,
  id: string,
): Promise<{ commit: string; tree: string; time: number }> {
  const order = loaded.graph.topological;
  const dependencies = [...loaded.graph.dependencies.get(id)!].sort((a, b) => order.indexOf(a) - order.indexOf(b)).map(stepOf);
  return stepBaseOf(repo, base, dependencies, loaded.workflow.merge);
}
