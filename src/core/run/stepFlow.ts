import type { NewRunEvent } from '../state/events';
import type { RunSnapshot, StepSnapshot } from '../state/snapshot';
import type { StepGraph } from '../workflow/graph';
import type { Step } from '../workflow/schema';
import type { StepContext } from './stepRunner';
import { goesOn, skipReason } from './terminal';

/** What deciding what comes after a step needs of its run (see WorkflowRun). */
export interface StepFlow {
  readonly graph: StepGraph;
  readonly steps: ReadonlyMap<string, Step>;
  readonly stepOf: (id: string) => StepSnapshot;
  readonly snapshot: () => RunSnapshot;
  readonly append: (event: NewRunEvent) => void;
  /** Stops a step that left the queue (it is being set up), for `reason`. */
  readonly abort: (id: string, reason: string) => void;
  readonly enqueue: (id: string) => void;
  /** A gate stopped the run: the run fails, naming the first. */
  readonly stopped: (gate: string) => void;
}

/** After a step ended: its gates, then the steps after it are queued (when all they need is met) or skipped. */
export function goOnAfter(flow: StepFlow, id: string): void {
  applyGates(flow, id);
  if (met(flow, id)) {
    for (const d of flow.graph.dependents.get(id)!) if (dependenciesMet(flow, d)) flow.enqueue(d);
  } else {
    skipDependents(flow, id);
  }
}

/** Whether the steps after `id` may go on (see `goesOn`). */
function met(flow: StepFlow, id: string): boolean {
  return goesOn(flow.steps.get(id)!, flow.stepOf(id).status);
}

export function dependenciesMet(flow: StepFlow, id: string): boolean {
  return flow.graph.dependencies.get(id)!.every((d) => met(flow, d));
}

/**
 * A step's gates (`continueIf`, from a workflow's `gates:`): when it ended otherwise than a gate
 * needs, the run goes no further: the steps not started yet are skipped, naming the gate.
 */
export function applyGates(flow: StepFlow, id: string): void {
  const ended = flow.stepOf(id).status === 'succeeded' ? 'succeeded' : 'failed';
  const gate = flow.steps.get(id)!.continueIf.find((g) => g.status !== ended);
  if (!gate) return;
  flow.stopped(gate.name);
  for (const s of flow.snapshot().steps) {
    if (s.status !== 'pending' && s.status !== 'queued') continue;
    flow.append({ type: 'step_skipped', step: s.id, reason: `gate "${gate.name}" stopped the run after "${id}": ${gate.message}` });
    // One that left the queue is being set up: its signal stops it before (or as) it starts.
    flow.abort(s.id, 'gate');
  }
}

function skipDependents(flow: StepFlow, id: string): void {
  for (const d of flow.graph.dependents.get(id)!) {
    if (flow.stepOf(d).status !== 'pending') continue;
    flow.append({ type: 'step_skipped', step: d, reason: skipReason(id, flow.stepOf(id).status) });
    skipDependents(flow, d);
  }
}

/**
 * What a step records as it begins: its setup's commands and its agent's start, each on disk at
 * once (a later process finds the orphans of a crash by the tokens these record), and its
 * progress. A step skipped by a gate while it was being set up records nothing more: its signal
 * stops it at once, and it never ran.
 */
export function startEvents(
  flow: StepFlow,
  id: string,
  base: string,
  flush: () => Promise<void>,
): Pick<StepContext, 'onSettingUp' | 'onStarted' | 'onProgress'> {
  const onDisk = () => void flush().catch(() => undefined);
  return {
    onSettingUp: (setting) => {
      if (flow.stepOf(id).status === 'skipped') return;
      flow.append({ type: 'step_setting_up', step: id, ...setting });
      if (setting.pid !== null) onDisk();
    },
    onStarted: (started) => {
      if (flow.stepOf(id).status === 'skipped') return;
      flow.append({ type: 'step_started', step: id, ...started, base });
      onDisk();
    },
    onProgress: (p) => flow.append({ type: 'step_progress', step: id, percent: p.percent, message: p.message }),
  };
}
