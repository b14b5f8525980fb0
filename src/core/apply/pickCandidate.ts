import { escapeFindings } from '../escape/findings';
import { makeAggregate } from '../merge/aggregate';
import { runRef } from '../run/stateDir';
import type { RunStatus } from '../state/events';
import { TappsError } from '../util/errors';
import { listed } from '../util/words';
import { stableTopologicalOrder } from '../workflow/graph';
import { withFinishedRun } from './finishedRun';
import { recordedMergeRules } from './recordedRules';

export interface Picked {
  readonly aggregate: { readonly commit: string; readonly tree: string };
  readonly conflicts: number;
  readonly status: RunStatus;
  /** Whether the candidate was the step's result already (nothing was changed). */
  readonly unchanged: boolean;
  /** Whether the old aggregate had been checked: its checks' verdicts went with it, and were not run again. */
  readonly checksDropped: boolean;
}

/**
 * "Use This Candidate": makes candidate `n` of a candidate step the step's result, and folds the
 * run's aggregate again with it (same order, the merge rules the run recorded), so that the
 * conflict report, apply and branch take it. What was found of the old aggregate (conflicts,
 * resolutions, checks, the passing alternative) goes with it; the checks are not run again here.
 * Refused, with nothing changed, for a candidate that did not succeed, or for a step whose
 * results other steps started from (theirs would not change).
 */
export async function pickCandidate(repoDir: string, runId: string, stepId: string, n: number): Promise<Picked> {
  return withFinishedRun(repoDir, runId, 'using another candidate', async (run) => {
    const { repo, snapshot } = run;
    const step = snapshot.steps.find((s) => s.id === stepId);
    if (!step)
      throw new TappsError('unknown-step', `Run ${runId} has no step "${stepId}"; its steps: ${listed(snapshot.steps.map((s) => s.id))}.`);
    const candidates = step.candidates ?? [];
    const candidate = candidates.find((c) => c.n === n);
    if (!candidate)
      throw new TappsError(
        'unknown-candidate',
        candidates.length === 0
          ? `Step ${stepId} of run ${runId} made one attempt: it has no candidates to choose from.`
          : `Step ${stepId} of run ${runId} has no candidate ${n}; its candidates: ${listed(candidates.map((c) => String(c.n)))}.`,
      );
    if (candidate.status !== 'succeeded' || !candidate.result || !candidate.tree)
      throw new TappsError(
        'candidate-failed',
        `Candidate ${n} of step ${stepId} did not succeed (${candidate.status.replace('_', ' ')}): it has no result to use. Nothing was changed.`,
      );
    if (step.picked === n)
      return {
        aggregate: snapshot.aggregate,
        conflicts: snapshot.conflicts.length,
        status: snapshot.status,
        unchanged: true,
        checksDropped: false,
      };
    const after = snapshot.steps.filter((s) => s.dependencies.includes(stepId) && s.startedAt !== null).map((s) => s.id);
    if (after.length > 0)
      throw new TappsError(
        'candidate-has-dependents',
        `${listed(after)} started from candidate ${step.picked ?? '?'} of step ${stepId}; using another would leave ${after.length === 1 ? 'its result' : 'their results'} built on the old one. Run the workflow again instead. Nothing was changed.`,
      );
    const git = repo.git;
    const kept = await git.line(['rev-parse', '--verify', '--quiet', runRef(runId, 'candidates', stepId, String(n))]).catch(() => '');
    if (kept !== candidate.result)
      throw new TappsError(
        'state-mismatch',
        `Candidate ${n} of step ${stepId} in run ${runId}'s state does not match what the run recorded in git; its state may have been edited or copied from elsewhere. Nothing was changed.`,
      );
    // The step's ref first: a crash before the events leaves the run naming its old result, whose
    // commit the candidate refs still keep, and a pick again mends it.
    await git.run(['update-ref', runRef(runId, 'steps', stepId), candidate.result]);
    await run.record({ type: 'candidate_picked', step: stepId, candidate: n, ranking: [], reason: 'chosen by the user', by: 'user' });
    await run.record({
      type: 'step_succeeded',
      step: stepId,
      result: candidate.result,
      tree: candidate.tree,
      changed: [...candidate.changed],
      undeclared: [...candidate.undeclared],
    });
    const now = run.current();
    const ids = now.steps.map((s) => s.id);
    const order = stableTopologicalOrder(ids, new Map(now.steps.map((s) => [s.id, s.dependencies])));
    const aggregate = await makeAggregate({
      repo,
      runId,
      base: now.base,
      rules: await recordedMergeRules(run.dir),
      steps: order.map((id) => now.steps.find((s) => s.id === id)!),
      stateDir: run.dir,
      workflow: now.workflow,
      findings: escapeFindings(now.escapes),
    });
    await run.record({
      type: 'aggregate_made',
      commit: aggregate.commit,
      tree: aggregate.tree,
      partial: aggregate.partial,
      conflicts: aggregate.conflicts.length,
    });
    for (const conflict of aggregate.conflicts) await run.record({ type: 'conflict_detected', conflict });
    for (const finding of aggregate.findings) await run.record({ type: 'finding_detected', finding });
    const status: RunStatus =
      snapshot.status === 'failed' || snapshot.status === 'cancelled'
        ? snapshot.status
        : aggregate.conflicts.length > 0
          ? 'conflicted'
          : 'succeeded';
    await run.record({ type: 'run_finished', status });
    const checksDropped = snapshot.checks.some((c) => c.target !== 'step');
    return {
      aggregate: { commit: aggregate.commit, tree: aggregate.tree },
      conflicts: aggregate.conflicts.length,
      status,
      unchanged: false,
      checksDropped,
    };
  });
}
