import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../../src/host/activate';
import type { RunsNode } from '../../../src/host/runsTree';
import { waitFor } from './poll';

export const extensionId = 'tapps.tapps-flow';

/** The extension's API once it is active and has loaded the workspace's runs. */
export async function tappsFlowApi(): Promise<TappsFlowApi> {
  const extension = vscode.extensions.getExtension<TappsFlowApi>(extensionId);
  if (!extension) throw new Error(`${extensionId} is not loaded in the test host`);
  const api = await extension.activate();
  await api.ready;
  return api;
}

/** A tree item as a user sees it: label, description, icon, and the context value the menus match. */
export interface ItemView {
  readonly node: RunsNode;
  readonly label: string;
  readonly description: string;
  readonly icon: string | undefined;
  readonly contextValue: string;
  readonly item: vscode.TreeItem;
}

export interface StepView extends ItemView {
  readonly stepId: string;
  /** The status the item shows (from its context value `step.<status>…`). */
  readonly status: string;
}

export interface RunView extends ItemView {
  readonly runId: string;
  /** The status the item shows (from its context value `run.<status>…`). */
  readonly status: string;
  readonly steps: readonly StepView[];
  /** The kinds of the run's children, in order. */
  readonly childKinds: readonly string[];
}

/** The status in a context value: `run.<status>…`, `step.<status>…`, or `….readonly.<status>…` for a read-only run. */
function statusOf(contextValue: string): string {
  const parts = contextValue.split('.');
  return (parts[1] === 'readonly' ? parts[2] : parts[1]) ?? '';
}

export function viewItem(api: TappsFlowApi, node: RunsNode): ItemView {
  const item = api.tree.getTreeItem(node);
  const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
  const icon = item.iconPath instanceof vscode.ThemeIcon ? item.iconPath.id : undefined;
  return {
    node,
    label,
    description: typeof item.description === 'string' ? item.description : '',
    icon,
    contextValue: item.contextValue ?? '',
    item,
  };
}

/** The run as the Runs tree shows it right now, through the tree provider's own methods. */
export function viewRun(api: TappsFlowApi, runId: string): RunView | undefined {
  const node = api.tree.getChildren().find((n) => n.runId === runId);
  if (!node) return undefined;
  const run = viewItem(api, node);
  const children = api.tree.getChildren(node);
  const steps = children
    .filter((n): n is Extract<RunsNode, { kind: 'step' }> => n.kind === 'step')
    .map((n) => {
      const v = viewItem(api, n);
      return { ...v, stepId: n.stepId, status: statusOf(v.contextValue) };
    });
  return { ...run, runId, status: statusOf(run.contextValue), steps, childKinds: children.map((n) => n.kind) };
}

export function describeRun(view: RunView | undefined): string {
  if (!view) return 'no such run in the tree';
  return `${view.label} [${view.description}] ${view.steps.map((s) => `${s.stepId}=${s.status}`).join(', ')}`;
}

export const TERMINAL_RUN_STATUSES = ['succeeded', 'conflicted', 'checks_failed', 'failed', 'cancelled', 'interrupted'];

/** Runs a workflow file the way the palette does, through the command; returns the new run's id. */
export async function runWorkflow(uri: vscode.Uri): Promise<string> {
  const runId = await vscode.commands.executeCommand<string | undefined>('tappsFlow.runWorkflow', uri);
  if (typeof runId !== 'string') throw new Error(`tappsFlow.runWorkflow returned ${String(runId)} for ${uri.fsPath}`);
  return runId;
}

/** Waits until the tree shows the run in a terminal state; returns that view. */
export function waitForRunEnd(api: TappsFlowApi, runId: string, timeoutMs = 60_000): Promise<RunView> {
  let last: RunView | undefined;
  return waitFor(
    `run ${runId} to end`,
    () => {
      last = viewRun(api, runId);
      // Ended for the editor too: its engine has let go of the run (no "live" in the node's context).
      return last && TERMINAL_RUN_STATUSES.includes(last.status) && !last.contextValue.split('.').includes('live') ? last : undefined;
    },
    { timeoutMs, describe: () => describeRun(last) },
  );
}

/** Waits until every given step of the run is running with a process id in the snapshot; returns the pids. */
export async function waitForRunningSteps(api: TappsFlowApi, runId: string, stepIds: readonly string[]): Promise<Map<string, number>> {
  return waitFor(
    `steps ${stepIds.join(', ')} of run ${runId} to be running`,
    () => {
      const steps = api.model.get(runId)?.snapshot.steps ?? [];
      const pids = new Map<string, number>();
      for (const id of stepIds) {
        const s = steps.find((x) => x.id === id);
        if (s?.status !== 'running' || s.pid === null) return undefined;
        pids.set(id, s.pid);
      }
      return pids;
    },
    { describe: () => describeRun(viewRun(api, runId)) },
  );
}

interface MenuItem {
  readonly command: string;
  readonly when?: string;
  readonly group?: string;
}

/**
 * The inline buttons the manifest puts on a Runs tree item with this context value: the
 * `view/item/context` entries of group `inline…` whose `when` clause (`view == tappsFlow.runs &&
 * viewItem =~ /re/` or `viewItem == value`) matches.
 */
export function inlineCommandsFor(contextValue: string): string[] {
  return menuCommandsFor(contextValue, (group) => group.startsWith('inline'));
}

/** The commands of a Runs tree item's right-click menu (every group but the inline buttons), or of the groups asked for. */
export function menuCommandsFor(contextValue: string, groups = (group: string) => !group.startsWith('inline')): string[] {
  const manifest = vscode.extensions.getExtension(extensionId)!.packageJSON as { contributes: { menus: Record<string, MenuItem[]> } };
  return manifest.contributes.menus['view/item/context']
    .filter((m) => groups(m.group ?? ''))
    .filter((m) => {
      const clauses = (m.when ?? '').split('&&').map((c) => c.trim());
      return clauses.every((c) => {
        if (c === 'view == tappsFlow.runs') return true;
        const regex = /^viewItem =~ \/(.*)\/$/.exec(c);
        if (regex) return new RegExp(regex[1]).test(contextValue);
        const equal = /^viewItem == (\S+)$/.exec(c);
        if (equal) return equal[1] === contextValue;
        throw new Error(`a when clause this helper does not read: ${c}`);
      });
    })
    .map((m) => m.command);
}

/** A finished run's right-click menu holds what comes next: apply, branch, resume, run again, delete. */
export function assertFinishedRunMenu(contextValue: string): void {
  for (const command of [
    'tappsFlow.applyResult',
    'tappsFlow.createBranch',
    'tappsFlow.resumeRun',
    'tappsFlow.runAgain',
    'tappsFlow.deleteRun',
  ])
    if (!menuCommandsFor(contextValue).includes(command)) throw new Error(`no ${command} in the menu of "${contextValue}"`);
}

/** Cancels every run still going (after a failed test), so that none outlives the suite. */
export async function cancelActiveRuns(api: TappsFlowApi): Promise<void> {
  for (const entry of api.model.active) {
    await vscode.commands.executeCommand('tappsFlow.cancelRun', entry.snapshot.runId);
    await waitForRunEnd(api, entry.snapshot.runId, 20_000);
  }
}
