import * as vscode from 'vscode';
import type { StepSnapshot } from '../core/state/snapshot';
import type { RunEntry, RunsModel } from './runsModel';
import { liveCounts, runState, startTime, type RunsNode } from './runsTree';

/**
 * A command's target run: from the tree node or a run id it was given, else asked with a quick
 * pick. A command that acts on the run (`acts`) never gets a read-only one: it is left out of the
 * pick, and refused with its reason when given.
 */
export async function runFrom(
  model: RunsModel,
  arg: unknown,
  filter: (e: RunEntry) => boolean,
  title: string,
  acts = false,
): Promise<RunEntry | undefined> {
  const id = typeof arg === 'string' ? arg : (arg as Partial<RunsNode> | undefined)?.runId;
  if (id !== undefined) {
    const entry = model.get(id);
    if (acts && entry?.readOnly) {
      void vscode.window.showWarningMessage(`Tapps Flow: cannot ${title.toLowerCase()}: run ${id} is read-only (${entry.readOnly}).`);
      return undefined;
    }
    return entry;
  }
  const candidates = model.list().filter((e) => filter(e) && !(acts && e.readOnly));
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`Tapps Flow: no run to ${title.toLowerCase()}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    // As the Runs tree shows them: the start time tells runs of the same workflow apart.
    candidates.map((e) => ({ label: e.snapshot.workflow.name, description: runDescription(e), entry: e })),
    { title: `Tapps Flow: ${title}`, placeHolder: 'Pick a run' },
  );
  return picked?.entry;
}

/** A run's state and start time, in the words of its row in the Runs tree. */
function runDescription(entry: RunEntry): string {
  const s = entry.snapshot;
  return [s.escaped ? 'escaped' : '', s.status === 'running' ? liveCounts(s) : runState(s), startTime(s)].filter(Boolean).join(' · ');
}

/** A command's target step, likewise. */
export async function stepFrom(
  model: RunsModel,
  arg: unknown,
  filter: (s: StepSnapshot) => boolean,
  title: string,
  acts = false,
): Promise<{ entry: RunEntry; step: StepSnapshot } | undefined> {
  const node = arg as (Partial<RunsNode> & { stepId?: string }) | undefined;
  if (node?.runId !== undefined && node.stepId !== undefined) {
    const entry = await runFrom(model, node.runId, () => true, title, acts);
    const step = entry?.snapshot.steps.find((s) => s.id === node.stepId);
    return entry && step ? { entry, step } : undefined;
  }
  const entry = await runFrom(model, node?.runId, (e) => e.snapshot.steps.some(filter), title, acts);
  if (!entry) return undefined;
  const steps = entry.snapshot.steps.filter(filter);
  const picked = await vscode.window.showQuickPick(
    steps.map((s) => ({ label: s.id, description: s.status, step: s })),
    { title: `Tapps Flow: ${title}`, placeHolder: 'Pick a step' },
  );
  return picked ? { entry, step: picked.step } : undefined;
}
