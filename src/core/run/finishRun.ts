import { onAggregate, type Verifier } from '../checks/verify';
import type { EscapeDetector } from '../escape/detector';
import { escapeFindings } from '../escape/findings';
import type { Base } from '../git/base';
import type { Repository } from '../git/repository';
import { makeAggregate, writeReports, type AggregateInput } from '../merge/aggregate';
import type { RunStatus } from '../state/events';
import type { RunWriter } from '../state/runWriter';
import type { LoadedWorkflow } from '../workflow/loadWorkflow';
import { mayFail, terminalStatus } from './terminal';

/** What the end of a run needs of it. */
export interface FinishContext {
  readonly repo: Repository;
  readonly runId: string;
  readonly base: Base;
  readonly loaded: LoadedWorkflow;
  readonly writer: RunWriter;
  readonly stateDir: string;
  readonly escapes: EscapeDetector | undefined;
  readonly verifier: Verifier;
  /** Aborted when the run is cancelled. */
  readonly signal: AbortSignal;
  /** A gate stopped the run. */
  readonly gateStopped: boolean;
}

/**
 * The end of a run: the last check for escapes, the aggregate and its reports, the checks of the
 * aggregate (when it has no conflicts and every step that had to succeed did), and the run's one
 * terminal state.
 */
export async function finishRun(ctx: FinishContext): Promise<void> {
  await ctx.escapes?.finish();
  const store = ctx.writer.store;
  const order = ctx.loaded.graph.topological;
  const steps = [...store.snapshot.steps].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  const input: AggregateInput = {
    repo: ctx.repo,
    runId: ctx.runId,
    base: ctx.base,
    rules: ctx.loaded.workflow.merge,
    steps,
    stateDir: ctx.stateDir,
    workflow: { id: store.snapshot.workflow.id, name: store.snapshot.workflow.name, file: store.snapshot.workflow.file },
    findings: escapeFindings(store.snapshot.escapes),
  };
  const aggregate = await makeAggregate(input);
  ctx.writer.assertHeld();
  store.append({
    type: 'aggregate_made',
    commit: aggregate.commit,
    tree: aggregate.tree,
    partial: aggregate.partial,
    conflicts: aggregate.conflicts.length,
  });
  for (const conflict of aggregate.conflicts) store.append({ type: 'conflict_detected', conflict });
  for (const finding of aggregate.findings) store.append({ type: 'finding_detected', finding });
  let status: RunStatus = terminalStatus(store.snapshot.steps, ctx.signal.aborted, aggregate.conflicts.length, {
    optional: new Set(ctx.loaded.workflow.steps.filter((s) => mayFail(s)).map((s) => s.id)),
    gateStopped: ctx.gateStopped,
  });
  if (status === 'succeeded' && ctx.verifier.has(onAggregate)) {
    // On disk before the checks, which can take long: a crash during them resumes to the checks.
    await store.flush();
    const verdict = await ctx.verifier.checkAggregate(aggregate, ctx.signal);
    ctx.writer.assertHeld();
    if (verdict.status === 'cancelled') status = 'cancelled';
    else if (verdict.status === 'passed' || verdict.status === 'failed') {
      await writeReports(input, aggregate, verdict.report);
      if (verdict.status === 'failed') status = 'checks_failed';
    }
  }
  store.append({ type: 'run_finished', status });
}
