import path from 'node:path';
import PQueue from 'p-queue';
import { fixedIdentityEnv } from '../git/identity';
import type { Aggregate, ReportedChecks } from '../merge/aggregate';
import { foldResults, type FoldItem } from '../merge/fold';
import { policyMatcher } from '../merge/mergeRules';
import { checkEntryDetail, type CheckEntry } from '../merge/report';
import { scratchDir } from '../git/scratch';
import { runRef } from '../run/stateDir';
import { checkLogPathOf } from '../state/checkRuns';
import type { StepOutcome } from '../run/stepRunner';
import type { Check, MergeRule } from '../workflow/schema';
import { findCulprits, inOrder, type CulpritSearch } from './culprit';
import { scoreOf } from './candidates';
import { SCORE_CHECK } from '../state/events';
import { runCheck, type CheckContext, type CheckTarget, type CheckVerdict } from './runCheck';

export interface VerifyContext extends CheckContext {
  readonly checks: readonly Check[];
  readonly base: { readonly commit: string; readonly tree: string; readonly time: number };
  readonly rules: readonly MergeRule[];
  /** How many check runs may go at once (the run's bound). */
  readonly maxParallel: number;
}

/** How the aggregate's checks came out. */
export type AggregateVerdict =
  { readonly status: 'none' | 'cancelled' } | { readonly status: 'passed' | 'failed'; readonly report: ReportedChecks };

/** A check that failed on a step's result: the step then fails, naming it. */
export interface StepCheckFailure {
  readonly check: Check;
  readonly verdict: CheckVerdict;
  /** Its log (absolute). */
  readonly log: string;
}

/** Whether a check runs on the aggregate, or on each step's result. */
export const onAggregate = (c: Check) => c.on === 'aggregate' || c.on === 'both';
export const onSteps = (c: Check) => c.on === 'steps' || c.on === 'both';

/**
 * The checks of one run: each check runs at most once per tree (a fold that gives a tree already
 * checked reuses its verdict), on the aggregate, on step results, and on the folds a culprit
 * search asks about. Check runs are numbered in the order they start.
 */
export class Verifier {
  private n = 0;
  private readonly verdicts = new Map<string, Promise<CheckVerdict>>();

  constructor(private readonly ctx: VerifyContext) {}

  /** Whether the workflow checks anything where `which` says. */
  has(which: (c: Check) => boolean): boolean {
    return this.ctx.checks.some(which);
  }

  /**
   * The verdict of a check on a tree: run once, then reused, among the runs of a step's result and
   * among those of the folds (the aggregate, the base, the search's, the alternative) apart, so
   * that the aggregate's own run is recorded even when a step's result has the same tree.
   */
  private verdict(what: CheckTarget, signal: AbortSignal): { verdict: Promise<CheckVerdict> } {
    const key = `${what.target === 'step' ? 'step' : 'fold'}\0${what.check.name}\0${what.check.run}\0${what.tree}`;
    const known = this.verdicts.get(key);
    if (known) return { verdict: known };
    const verdict = runCheck(this.ctx, ++this.n, what, signal);
    this.verdicts.set(key, verdict);
    // A cancelled run is not a verdict on the tree: a later ask runs it again.
    void verdict.then((v) => v.status === 'cancelled' && this.verdicts.delete(key));
    return { verdict };
  }

  /** Runs the step-level checks on a step's result, one after another; the first that fails, if any. */
  async checkStep(step: string, result: { commit: string; tree: string }, signal: AbortSignal): Promise<StepCheckFailure | undefined> {
    for (const check of this.ctx.checks.filter(onSteps)) {
      const what: CheckTarget = { check, target: 'step', step, steps: [step], ...result };
      const verdict = await this.verdict(what, signal).verdict;
      if (verdict.status !== 'passed')
        return { check, verdict, log: path.join(this.ctx.stateDir, checkLogPathOf(check.name, result.tree, 'step')) };
    }
    return undefined;
  }

  /**
   * Runs every step-level check on one candidate's result, one after another (a candidate is
   * ranked by how many pass); how many passed, of how many.
   */
  async checkCandidate(step: string, candidate: number, result: { commit: string; tree: string }, signal: AbortSignal) {
    const checks = this.ctx.checks.filter(onSteps);
    let passed = 0;
    for (const check of checks) {
      const verdict = await this.verdict({ check, target: 'step', step, candidate, steps: [step], ...result }, signal).verdict;
      if (verdict.status === 'cancelled') return undefined;
      if (verdict.status === 'passed') passed++;
    }
    return { passed, run: checks.length };
  }

  /** Runs a candidate step's score command on one candidate's result: the last number it printed, or null. */
  async score(step: string, candidate: number, command: string, result: { commit: string; tree: string }, signal: AbortSignal) {
    const check = { name: SCORE_CHECK, run: command, on: 'steps' as const };
    const verdict = await this.verdict({ check, target: 'step', step, candidate, steps: [step], ...result }, signal).verdict;
    return verdict.status === 'passed' ? scoreOf(verdict.lastLines ?? []) : null;
  }

  /**
   * Runs the aggregate's checks (at most the run's bound at once). When one fails: for each failing
   * check, the smallest set of steps that still fails it (see `findCulprits`), then the passing
   * aggregate that leaves out the fewest steps, later ones first, kept under the run's
   * `alternative` ref. Records `culprit_found` and `alternative_made`.
   */
  async checkAggregate(aggregate: Aggregate, signal: AbortSignal): Promise<AggregateVerdict> {
    const checks = this.ctx.checks.filter(onAggregate);
    if (checks.length === 0) return { status: 'none' };
    const order = aggregate.items.map((i) => i.step);
    const trees = new Map<string, Promise<{ commit: string; tree: string }>>();
    trees.set(order.join('\0'), Promise.resolve({ commit: aggregate.commit, tree: aggregate.tree }));
    const folds = new Folds(this.ctx, aggregate.items, aggregate.prefixes, trees);
    const all = await this.allChecks(checks, order, 'aggregate', folds, signal);
    if (all.some((v) => v.status === 'cancelled') || signal.aborted) return { status: 'cancelled' };
    const failing = checks.filter((_, i) => all[i].status !== 'passed');
    const results = checks.map((c, i) => ({ name: c.name, passed: all[i].status === 'passed' }));
    if (failing.length === 0) return { status: 'passed', report: { results, entries: [], alternative: null } };

    const entries: CheckEntry[] = [];
    const searches = new Map<string, CulpritSearch>();
    for (const check of failing) {
      const before = this.n;
      const found = await this.search(check, order, folds, signal);
      if (signal.aborted) return { status: 'cancelled' };
      searches.set(check.name, found);
      const steps = found.kind === 'found' ? found.steps : [];
      const evidence = found.kind === 'found' ? (await folds.of(steps)).tree : found.kind === 'base-fails' ? this.ctx.base.tree : null;
      this.ctx.append({
        type: 'culprit_found',
        check: check.name,
        outcome: found.kind,
        steps: [...steps],
        runs: this.n - before,
        evidence,
      });
      entries.push({
        kind: 'check',
        check: check.name,
        command: check.run,
        outcome: found.kind,
        steps: [...steps],
        log: evidence === null ? checkLogPathOf(check.name, aggregate.tree) : checkLogPathOf(check.name, evidence),
        detail: checkEntryDetail(check.run, found.kind, steps),
      });
    }
    const alternative = await this.alternative(checks, order, searches, folds, signal);
    if (signal.aborted) return { status: 'cancelled' };
    this.ctx.append({ type: 'alternative_made', alternative: alternative && { ...alternative, leftOut: [...alternative.leftOut] } });
    return {
      status: 'failed',
      report: { results, entries, alternative },
    };
  }

  /** Every check of `checks` on the fold of `steps`, at most the run's bound at once, in definition order. */
  private async allChecks(
    checks: readonly Check[],
    steps: readonly string[],
    target: CheckTarget['target'],
    folds: Folds,
    signal: AbortSignal,
  ): Promise<CheckVerdict[]> {
    const { commit, tree } = await folds.of(steps);
    const queue = new PQueue({ concurrency: Math.max(1, this.ctx.maxParallel) });
    // Started (and numbered) in definition order: the same inputs number the same runs.
    const verdicts = checks.map((check) =>
      queue.add<CheckVerdict>(() => this.verdict({ check, target, steps, commit, tree }, signal).verdict),
    );
    return Promise.all(verdicts);
  }

  /** The culprit search for one check over the steps of `order` (their fold is known to fail it). */
  private search(check: Check, order: readonly string[], folds: Folds, signal: AbortSignal): Promise<CulpritSearch> {
    return findCulprits(order, async (subset) => {
      if (signal.aborted) throw new Error('cancelled');
      const target: CheckTarget['target'] = subset.length === 0 ? 'base' : 'subset';
      const { commit, tree } = subset.length === 0 ? this.ctx.base : await folds.of(subset);
      const verdict = await this.verdict({ check, target, steps: subset, commit, tree }, signal).verdict;
      if (verdict.status === 'cancelled') throw new Error('cancelled');
      return verdict.status !== 'passed';
    }).catch((error: unknown) => {
      if (signal.aborted) return { kind: 'not-reproduced' } as const;
      throw error;
    });
  }

  /**
   * The aggregate without the fewest steps that passes every check: leave out the last culprit of
   * each failing check, check what is left, and go on the same way with what still fails; none
   * when a check fails without culprits (the base fails it, or it is flaky) or nothing is left.
   */
  private async alternative(
    checks: readonly Check[],
    order: readonly string[],
    searches: ReadonlyMap<string, CulpritSearch>,
    folds: Folds,
    signal: AbortSignal,
  ): Promise<ReportedChecks['alternative']> {
    const leftOut = new Set<string>();
    for (const found of searches.values()) {
      if (found.kind !== 'found') return null;
      leftOut.add(found.steps[found.steps.length - 1]);
    }
    for (let round = 0; round < order.length; round++) {
      const kept = order.filter((s) => !leftOut.has(s));
      if (kept.length === 0) return null;
      const verdicts = await this.allChecks(checks, kept, 'alternative', folds, signal);
      if (signal.aborted || verdicts.some((v) => v.status === 'cancelled')) return null;
      const failing = checks.find((_, i) => verdicts[i].status !== 'passed');
      if (!failing) {
        const { commit, tree } = await folds.of(kept);
        await this.ctx.repo.git.run(['update-ref', runRef(this.ctx.runId, 'alternative'), commit]);
        return { commit, tree, leftOut: inOrder(order, [...leftOut]) };
      }
      const found = await this.search(failing, kept, folds, signal);
      if (found.kind !== 'found') return null;
      leftOut.add(found.steps[found.steps.length - 1]);
    }
    return null;
  }
}

/**
 * Folds of some of the aggregate's steps over the base, each made once: a prefix of the fold
 * order is a tree the aggregate's own fold passed through; any other subset is folded anew.
 */
class Folds {
  constructor(
    private readonly ctx: VerifyContext,
    private readonly items: readonly FoldItem[],
    private readonly prefixes: readonly string[],
    private readonly made: Map<string, Promise<{ commit: string; tree: string }>>,
  ) {}

  of(steps: readonly string[]): Promise<{ commit: string; tree: string }> {
    const key = steps.join('\0');
    let made = this.made.get(key);
    if (!made) {
      made = this.fold(steps);
      this.made.set(key, made);
    }
    return made;
  }

  private async fold(steps: readonly string[]): Promise<{ commit: string; tree: string }> {
    const { repo, base } = this.ctx;
    if (steps.length === 0) return { commit: base.commit, tree: base.tree };
    const isPrefix = steps.every((s, i) => this.items[i]?.step === s);
    const chosen = new Set(steps);
    const tree = isPrefix
      ? this.prefixes[steps.length - 1]
      : (
          await foldResults(
            repo,
            base,
            this.items.filter((i) => chosen.has(i.step)),
            { policyFor: policyMatcher(this.ctx.rules), scratchDir: scratchDir(repo), time: base.time },
          )
        ).tree;
    const message = `Tapps Flow check: the base with ${steps.join(', ')} folded in\n`;
    const commit = await repo.git.line(['commit-tree', tree, '-p', base.commit, '-m', message], { env: fixedIdentityEnv(base.time) });
    return { commit, tree };
  }
}

/** A step's outcome after the step-level checks of its result: a failing one fails the step, naming it and its log. */
export async function checkedOutcome(
  verifier: Verifier,
  step: string,
  outcome: StepOutcome & { readonly status: 'succeeded' },
  signal: AbortSignal,
): Promise<StepOutcome> {
  const failed = await verifier.checkStep(step, outcome.capture, signal);
  if (!failed) return outcome;
  if (failed.verdict.status === 'cancelled')
    return { status: 'cancelled', reason: signal.reason === 'step' ? 'cancelled by the user' : 'the run was cancelled' };
  const how = failed.verdict.exitCode === null ? failed.verdict.status.replace('_', ' ') : `exit code ${failed.verdict.exitCode}`;
  return {
    status: 'failed',
    error: `check "${failed.check.name}" failed on its result (${how}); see the check's log: ${failed.log}`,
    exitCode: null,
    lastLines: [],
  };
}
