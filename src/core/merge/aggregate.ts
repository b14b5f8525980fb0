import { mkdir } from 'node:fs/promises';
import { scratchDir } from '../git/scratch';
import path from 'node:path';
import type { Base } from '../git/base';
import { fixedIdentityEnv } from '../git/identity';
import type { Git } from '../git/git';
import type { Repository } from '../git/repository';
import { runRef } from '../run/stateDir';
import { resultFindings } from '../findings/resultFindings';
import type { Conflict, Finding } from '../state/events';
import type { StepSnapshot } from '../state/snapshot';
import type { MergeRule } from '../workflow/schema';
import { foldResults, type FoldDecision, type FoldItem } from './fold';
import { policyMatcher } from './mergeRules';
import { conflictsJson, conflictsMarkdown, sortFindings, type CheckEntry } from './report';
import { writeFileAtomic } from '../state/atomicWrite';
import { crashPoint } from '../util/crashPoint';

export interface Aggregate {
  readonly commit: string;
  readonly tree: string;
  readonly partial: boolean;
  readonly conflicts: readonly Conflict[];
  readonly decisions: readonly FoldDecision[];
  /** For the user's eye, not conflicts: the results' own (see `resultFindings`) and the run's, sorted. */
  readonly findings: readonly Finding[];
  /** The fold's items (the results that succeeded, in fold order) and the tree after each. */
  readonly items: readonly FoldItem[];
  readonly prefixes: readonly string[];
}

/** What the checks of the aggregate found, for the reports (see src/core/checks/verify.ts). */
export interface ReportedChecks {
  /** Every aggregate check, in definition order, and whether the aggregate passed it. */
  readonly results: ReadonlyArray<{ readonly name: string; readonly passed: boolean }>;
  readonly entries: readonly CheckEntry[];
  readonly alternative: { readonly commit: string; readonly tree: string; readonly leftOut: readonly string[] } | null;
}

export interface AggregateInput {
  readonly repo: Repository;
  readonly runId: string;
  readonly base: Base;
  readonly workflow: { readonly id: string; readonly name: string; readonly file: string };
  readonly rules: readonly MergeRule[];
  /** Every step, in workflow-definition order. */
  readonly steps: readonly StepSnapshot[];
  /** The run's state folder, where manifest.json and the conflict reports go. */
  readonly stateDir: string;
  /**
   * Findings the run made itself (writes outside the worktrees, say), reported beside those found
   * in the step results. Their order does not matter: the report sorts them.
   */
  readonly findings?: readonly Finding[];
}

/**
 * The step results that succeeded, as fold items, in the order given. A step that started from the
 * run's base needs no lookup of its parent's tree; only dependent steps' bases are looked up.
 */
export async function foldItemsOf(
  repo: Repository,
  steps: readonly StepSnapshot[],
  base: { commit: string; tree: string },
): Promise<FoldItem[]> {
  const items: FoldItem[] = [];
  for (const s of steps) {
    if (s.status !== 'succeeded' || !s.result || !s.base) continue;
    const parentTree = s.base === base.commit ? base.tree : await repo.git.line(['rev-parse', `${s.base}^{tree}`]);
    items.push({ step: s.id, commit: s.result, parent: s.base, parentTree, changed: s.changed });
  }
  return items;
}

/**
 * Folds the successful step results over the base into the aggregate commit (kept under
 * `refs/tapps-flow/runs/<run-id>/aggregate`) and writes manifest.json, conflicts.json and
 * conflicts.md. Nothing in them depends on time, pids, temporary paths or completion order.
 */
export async function makeAggregate(input: AggregateInput): Promise<Aggregate> {
  const { repo, base } = input;
  const items = await foldItemsOf(repo, input.steps, base);
  const found = resultFindings(repo.git, items, input.steps);
  found.catch(() => undefined); // awaited below, after the fold it runs beside
  const fold = await foldResults(repo, base, items, {
    policyFor: policyMatcher(input.rules),
    scratchDir: scratchDir(repo),
    time: base.time,
  });
  const findings = sortFindings([...(await found), ...(input.findings ?? [])]);
  const partial = input.steps.some((s) => s.status !== 'succeeded');
  const message = `Tapps Flow aggregate of ${input.workflow.id}\n\nSteps folded: ${items.map((i) => i.step).join(', ') || 'none'}${partial ? '\nPartial: not every step succeeded.' : ''}\n`;
  const commit = await repo.git.line(['commit-tree', fold.tree, '-p', base.commit, '-m', message], { env: fixedIdentityEnv(base.time) });
  await recordAggregate(repo.git, input.runId, commit);
  crashPoint('aggregate-written');
  const aggregate: Aggregate = {
    commit,
    tree: fold.tree,
    partial,
    conflicts: fold.conflicts,
    decisions: fold.decisions,
    findings,
    items,
    prefixes: fold.prefixes,
  };
  await writeReports(input, aggregate);
  return aggregate;
}

/** Writes manifest.json, conflicts.json and conflicts.md of an aggregate; again with what its checks found once they ran. */
export async function writeReports(input: AggregateInput, aggregate: Aggregate, checks?: ReportedChecks): Promise<void> {
  const manifest = {
    version: 1,
    workflow: { id: input.workflow.id, name: input.workflow.name, file: input.workflow.file },
    base: { commit: input.base.commit, tree: input.base.tree },
    steps: input.steps.map((s) => ({
      id: s.id,
      status: s.status,
      base: s.base,
      result: s.result,
      tree: s.tree,
      ...(s.picked ? { candidate: s.picked } : {}),
    })),
    policies: input.rules,
    aggregate: { commit: aggregate.commit, tree: aggregate.tree, partial: aggregate.partial },
    conflicts: aggregate.conflicts.length,
    ...(checks ? { checks: checks.results, alternative: checks.alternative } : {}),
  };
  await mkdir(input.stateDir, { recursive: true });
  await writeFileAtomic(path.join(input.stateDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFileAtomic(
    path.join(input.stateDir, 'conflicts.json'),
    conflictsJson(aggregate.conflicts, aggregate.decisions, aggregate.findings, checks?.entries),
  );
  await writeFileAtomic(
    path.join(input.stateDir, 'conflicts.md'),
    conflictsMarkdown(
      input.workflow.name,
      aggregate.conflicts,
      aggregate.decisions,
      aggregate.partial,
      aggregate.findings,
      checks?.entries,
    ),
  );
}

/**
 * Records an aggregate commit of a run in git, before its state names it: the run's `aggregate`
 * ref moves to it, and `aggregates/<commit>` keeps every aggregate the run made (a resolve makes a
 * new one). Refs live in the git directory, which a clone does not bring, so a commit named by run
 * state is trusted only when it has such a ref; and a crash between this and the event that
 * records it leaves the state naming an aggregate that still has its ref.
 */
export async function recordAggregate(git: Git, runId: string, commit: string): Promise<void> {
  await git.run(['update-ref', '--stdin'], {
    input: `update ${runRef(runId, 'aggregate')} ${commit}\nupdate ${runRef(runId, 'aggregates', commit)} ${commit}\n`,
  });
}

/** Whether `commit` is an aggregate the run recorded (runs made before `aggregates/` had only the `aggregate` ref). */
export async function isRecordedAggregate(git: Git, runId: string, commit: string): Promise<boolean> {
  const resolve = (ref: string) => git.line(['rev-parse', '--verify', '--quiet', ref]).catch(() => '');
  return (await resolve(runRef(runId, 'aggregates', commit))) === commit || (await resolve(runRef(runId, 'aggregate'))) === commit;
}
