import { waitingWords } from '../core/run/loadGate';
import * as vscode from 'vscode';
import type { Conflict, Finding, StepStatus } from '../core/state/events';
import { existsSync } from 'node:fs';
import { runElapsedMs, type RunSnapshot, type StepSnapshot } from '../core/state/snapshot';
import { formatDuration, listed, plural } from '../core/util/words';
import { mergesAsText } from './conflictEditors';
import type { RunEntry, RunsModel } from './runsModel';
import { checkChildren, checkItem, checkParent, hasChecks, stepCheckNodes, type CheckNode } from './checkNodes';
import { escapeItem, escapesItem } from './escapeNodes';

/** The nodes of the Runs tree; they carry ids only, the model holds the data. */
export type RunsNode =
  | { readonly kind: 'run'; readonly runId: string }
  | { readonly kind: 'step'; readonly runId: string; readonly stepId: string }
  | { readonly kind: 'log'; readonly runId: string; readonly stepId: string }
  | { readonly kind: 'changed'; readonly runId: string; readonly stepId: string; readonly path: string }
  | { readonly kind: 'conflicts'; readonly runId: string }
  | { readonly kind: 'conflict'; readonly runId: string; readonly index: number }
  | { readonly kind: 'findings'; readonly runId: string }
  | { readonly kind: 'finding'; readonly runId: string; readonly index: number }
  | { readonly kind: 'escapes'; readonly runId: string }
  | { readonly kind: 'escape'; readonly runId: string; readonly index: number }
  | CheckNode;

const STEP_ICONS: Record<StepStatus, [string, string?]> = {
  pending: ['circle-outline'],
  queued: ['clock'],
  setting_up: ['gear~spin'],
  running: ['loading~spin'],
  succeeded: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  timed_out: ['watch', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'disabledForeground'],
  skipped: ['debug-step-over', 'disabledForeground'],
  interrupted: ['debug-pause', 'list.warningForeground'],
};

const RUN_ICONS: Record<RunSnapshot['status'], [string, string?]> = {
  running: ['sync~spin'],
  succeeded: ['pass-filled', 'testing.iconPassed'],
  conflicted: ['warning', 'list.warningForeground'],
  checks_failed: ['beaker', 'testing.iconFailed'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash'],
  interrupted: ['debug-pause', 'list.warningForeground'],
};

function icon([id, color]: [string, string?]): vscode.ThemeIcon {
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

/** A step's elapsed time: from its start to its end, or to now while it runs. */
export function formatElapsed(from: string | null, to: string | null, now = Date.now()): string {
  if (!from) return '';
  return formatDuration((to ? Date.parse(to) : now) - Date.parse(from));
}

/** When a run started, in the user's local time and language: today's runs by their time alone. */
export function startTime(s: RunSnapshot, now = new Date()): string {
  const at = new Date(s.startedAt);
  const today = at.toDateString() === now.toDateString();
  return at.toLocaleString(vscode.env.language, today ? { timeStyle: 'short' } : { dateStyle: 'medium', timeStyle: 'short' });
}

/** "2 running · 1 queued · 3 pending · 4 done" while a run goes on: the same words as its rows. */
export function liveCounts(snapshot: RunSnapshot): string {
  const count = (pred: (s: StepSnapshot) => boolean) => snapshot.steps.filter(pred).length;
  const parts = [
    [count((s) => s.status === 'setting_up'), 'setting up'],
    [count((s) => s.status === 'running'), 'running'],
    [count((s) => s.status === 'queued'), 'queued'],
    [count((s) => s.status === 'pending'), 'pending'],
    [count((s) => ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'interrupted'].includes(s.status)), 'done'],
  ] as const;
  return parts
    .filter(([n]) => n > 0)
    .map(([n, w]) => `${n} ${w}`)
    .join(' · ');
}

/** The run's state as its row says it: "succeeded", "succeeded, 2 resolved", "succeeded, partial". */
export function runState(s: RunSnapshot): string {
  const flags = [
    s.resolutions.length > 0 && s.conflicts.length === 0 ? `${s.resolutions.length} resolved` : '',
    s.aggregate?.partial ? 'partial' : '',
  ].filter(Boolean);
  return [s.status, ...flags].join(', ');
}

export function conflictTitle(c: Conflict): string {
  return `${c.path}: ${c.steps[0]} ↔ ${c.steps[1]}`;
}

const FINDING_LABELS: Record<Finding['kind'], string> = {
  symlink_out: 'symlink out of the repository',
  submodule_write: 'written into a submodule, not captured',
  mode_change: 'made executable outside "creates"',
  escape: 'written outside the worktrees',
};

/** The findings of the results, with their index in the snapshot; escapes have a node of their own. */
function resultFindings(snapshot: RunSnapshot): Array<[Finding, number]> {
  return snapshot.findings.flatMap((f, index): Array<[Finding, number]> => (f.kind === 'escape' ? [] : [[f, index]]));
}

/** The Runs view: newest run first, its steps, their logs and changes, and its conflicts. */
export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  /**
   * One object per node: VS Code refreshes an element it is given by identity, and a run that
   * changed is refreshed alone (with its children), never the whole tree (see RunsModel).
   */
  private readonly nodes = new Map<string, RunsNode>();

  constructor(private readonly model: RunsModel) {
    this.subscription = model.onDidChange((change) => {
      const shown = change.runs?.map((runId) => this.nodes.get(JSON.stringify({ kind: 'run', runId })));
      // A run the view was never given (or a change of the list itself): the whole tree.
      if (shown === undefined || shown.some((n) => n === undefined)) {
        this.nodes.clear();
        this.changed.fire(undefined);
      } else for (const node of shown) this.changed.fire(node);
    });
  }

  /** The node of a run's conflicts (to reveal it). */
  conflictsNode(runId: string): RunsNode {
    return this.node({ kind: 'conflicts', runId });
  }

  /** The one object of a node. */
  private node<T extends RunsNode>(node: T): T {
    const key = JSON.stringify(node);
    let known = this.nodes.get(key);
    if (!known) this.nodes.set(key, (known = node));
    return known as T;
  }

  getChildren(node?: RunsNode): RunsNode[] {
    if (!node) return this.model.list().map((e) => this.node({ kind: 'run', runId: e.snapshot.runId }));
    const entry = this.model.get(node.runId);
    if (!entry) return [];
    const { snapshot } = entry;
    const runId = node.runId;
    switch (node.kind) {
      case 'run': {
        const steps: RunsNode[] = snapshot.steps.map((s) => this.node({ kind: 'step', runId, stepId: s.id }));
        if (hasChecks(snapshot)) steps.push(this.node({ kind: 'checks', runId }));
        if (snapshot.conflicts.length > 0) steps.push(this.node({ kind: 'conflicts', runId }));
        if (resultFindings(snapshot).length > 0) steps.push(this.node({ kind: 'findings', runId }));
        // First: a write outside the worktrees is the one thing to look at before anything else.
        if (snapshot.escaped) steps.unshift(this.node({ kind: 'escapes', runId }));
        return steps;
      }
      case 'step': {
        const step = snapshot.steps.find((s) => s.id === node.stepId);
        if (!step) return [];
        const changed: RunsNode[] = step.changed.map((p) => this.node({ kind: 'changed', runId, stepId: node.stepId, path: p }));
        const checks = stepCheckNodes(snapshot, node.stepId, (n) => this.node(n));
        return [this.node({ kind: 'log', runId, stepId: node.stepId }), ...checks, ...changed];
      }
      case 'conflicts':
        return snapshot.conflicts.map((_, index) => this.node({ kind: 'conflict', runId, index }));
      case 'findings':
        return resultFindings(snapshot).map(([, index]) => this.node({ kind: 'finding', runId, index }));
      case 'escapes':
        return snapshot.escapes.map((_, index) => this.node({ kind: 'escape', runId, index }));
      case 'checks':
      case 'checkRun':
      case 'candidate':
        return checkChildren(snapshot, node, (n) => this.node(n));
      default:
        return [];
    }
  }

  getParent(node: RunsNode): RunsNode | undefined {
    switch (node.kind) {
      case 'run':
        return undefined;
      case 'step':
      case 'conflicts':
      case 'findings':
        return this.node({ kind: 'run', runId: node.runId });
      case 'checks':
      case 'alternative':
      case 'culprit':
      case 'checkRun':
      case 'candidate': {
        const snapshot = this.model.get(node.runId)?.snapshot;
        return snapshot && checkParent(snapshot, node, (n) => this.node(n));
      }
      case 'log':
      case 'changed':
        return this.node({ kind: 'step', runId: node.runId, stepId: node.stepId });
      case 'conflict':
        return this.node({ kind: 'conflicts', runId: node.runId });
      case 'finding':
        return this.node({ kind: 'findings', runId: node.runId });
      case 'escapes':
        return this.node({ kind: 'run', runId: node.runId });
      case 'escape':
        return this.node({ kind: 'escapes', runId: node.runId });
    }
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    const entry = this.model.get(node.runId);
    if (!entry) return new vscode.TreeItem('(gone)');
    switch (node.kind) {
      case 'run':
        return this.runItem(entry);
      case 'step':
        return this.stepItem(entry, node.stepId);
      case 'log': {
        const item = new vscode.TreeItem('Log', vscode.TreeItemCollapsibleState.None);
        item.id = `${node.runId}/${node.stepId}/log`;
        item.iconPath = new vscode.ThemeIcon('output');
        item.contextValue = 'log';
        item.command = { command: 'tappsFlow.showStepLog', title: 'Show Step Log', arguments: [node] };
        return item;
      }
      case 'changed': {
        const item = new vscode.TreeItem(vscode.Uri.file(node.path), vscode.TreeItemCollapsibleState.None);
        item.id = `${node.runId}/${node.stepId}/changed/${node.path}`;
        item.label = node.path;
        item.iconPath = vscode.ThemeIcon.File;
        item.contextValue = 'changed';
        item.tooltip = `${node.path}: base ↔ ${node.stepId}`;
        item.command = { command: 'tappsFlow.openChangedFile', title: 'Open Change', arguments: [node] };
        return item;
      }
      case 'conflicts': {
        const n = entry.snapshot.conflicts.length;
        const item = new vscode.TreeItem(`Conflicts (${n})`, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `${node.runId}/conflicts`;
        item.iconPath = new vscode.ThemeIcon('git-merge', new vscode.ThemeColor('list.warningForeground'));
        item.contextValue = 'conflicts';
        item.tooltip =
          "Paths where the steps' changes could not be combined. Until it is resolved, the result holds the first step's version (in workflow order). Click one to merge it.";
        return item;
      }
      case 'conflict': {
        const c = entry.snapshot.conflicts[node.index];
        if (!c) return new vscode.TreeItem('(resolved)');
        const item = new vscode.TreeItem(c.path, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.runId}/conflict/${c.path}/${c.steps.join('/')}/${c.location ?? ''}`;
        item.description = `${c.kind} · ${c.steps[0]} ↔ ${c.steps[1]}${c.location ? ` · ${c.location}` : ''}`;
        // Two edits of one text open in the merge editor; a deletion, a rename, a binary file, or
        // any conflict of a read-only run (nothing may be written for it) in a diff of the two versions.
        const merges = mergesAsText(c.kind) && !entry.readOnly;
        item.tooltip = new vscode.MarkdownString(
          `**${c.path}** (${c.kind}, policy \`${c.policy}\`)\n\n${c.detail}\n\n${merges ? `Click to merge ${c.steps[0]}'s and ${c.steps[1]}'s versions in the merge editor` : `Click to compare ${c.steps[0]} ↔ ${c.steps[1]}`}${entry.readOnly ? '.' : '; Resolve… for every choice.'}`,
        );
        item.iconPath = new vscode.ThemeIcon('diff');
        // A read-only run offers no resolution: its conflicts can be looked at, not acted on.
        item.contextValue = entry.readOnly ? 'conflict.readonly' : 'conflict';
        item.command = merges
          ? { command: 'tappsFlow.openConflictMerge', title: 'Open in Merge Editor', arguments: [node] }
          : { command: 'tappsFlow.openConflictDiff', title: 'Compare the Two Versions', arguments: [node] };
        return item;
      }
      case 'findings': {
        const item = new vscode.TreeItem(
          `Needs Your Eye (${resultFindings(entry.snapshot).length})`,
          vscode.TreeItemCollapsibleState.Expanded,
        );
        item.id = `${node.runId}/findings`;
        item.iconPath = new vscode.ThemeIcon('eye', new vscode.ThemeColor('list.warningForeground'));
        item.contextValue = 'findings';
        item.tooltip =
          'Not conflicts: what the results hold that could hurt (links out of the repository, files lost in a submodule, new executables). Apply refuses links out unless you allow them.';
        return item;
      }
      case 'finding': {
        const f = entry.snapshot.findings[node.index];
        if (!f) return new vscode.TreeItem('(gone)');
        const item = new vscode.TreeItem(f.path, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.runId}/finding/${f.kind}/${f.path}/${f.steps.join('/')}`;
        item.description = `${FINDING_LABELS[f.kind]}${f.steps.length > 0 ? ` · ${f.steps.join(', ')}` : ''}`;
        item.tooltip = f.detail;
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
        item.contextValue = 'finding';
        item.command = { command: 'tappsFlow.openConflictReport', title: 'Open Conflict Report', arguments: [node] };
        return item;
      }
      case 'escapes':
        return escapesItem(entry);
      case 'escape':
        return escapeItem(entry, node.index);
      case 'checks':
      case 'checkRun':
      case 'culprit':
      case 'alternative':
      case 'candidate':
        return checkItem(entry, node);
    }
  }

  private runItem(entry: RunEntry): vscode.TreeItem {
    const s = entry.snapshot;
    const item = new vscode.TreeItem(s.workflow.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `run/${s.runId}`;
    const elapsed = formatDuration(runElapsedMs(s));
    // The start time tells runs of the same workflow apart.
    item.description = [s.escaped ? 'escaped' : '', s.status === 'running' ? liveCounts(s) : runState(s), elapsed, startTime(s)]
      .filter(Boolean)
      .join(' · ');
    item.iconPath = icon(RUN_ICONS[s.status]);
    // A read-only run (run.readonly.<status>…) matches no action menu: their `when` clauses start
    // with run.<status>. Its report can still be opened.
    const flags = [
      s.aggregate ? 'result' : '',
      s.status !== 'running' && s.steps.some((x) => x.status !== 'succeeded') ? 'resumable' : '',
      entry.live ? 'live' : '',
    ].filter(Boolean);
    item.contextValue = ['run', entry.readOnly ? 'readonly' : '', s.status, ...flags].filter(Boolean).join('.');
    const lines = [
      `**${s.workflow.name}** — ${runState(s)}`,
      `Run \`${s.runId}\` of \`${s.workflow.file}\`, started ${startTime(s)}; ${formatDuration(runElapsedMs(s))} running`,
      `Base \`${s.base.commit.slice(0, 10)}\`${s.aggregate ? ` · result \`${s.aggregate.commit.slice(0, 10)}\`` : ''}`,
    ];
    if (s.aggregate?.partial)
      lines.push(`Partial: the result lacks ${listed(s.steps.filter((x) => x.status !== 'succeeded').map((x) => x.id))}.`);
    if (s.conflicts.length > 0) lines.push(plural(s.conflicts.length, 'conflict'));
    if (s.resolutions.length > 0)
      lines.push(`Resolved: ${s.resolutions.map((r) => `${r.path} (${r.resolution.replace(/^take /, 'took ')})`).join(', ')}`);
    if (entry.readOnly) lines.push(`Read-only: ${entry.readOnly}.`);
    item.tooltip = new vscode.MarkdownString(lines.join('\n\n'));
    // What needs the user's eye is shown open: a run going on, or one that failed, or left something to look at.
    if (['running', 'failed', 'checks_failed'].includes(s.status) || s.conflicts.length > 0 || resultFindings(s).length > 0 || s.escaped)
      item.collapsibleState = vscode.TreeItemCollapsibleState.Expanded;
    return item;
  }

  private stepItem(entry: RunEntry, stepId: string): vscode.TreeItem {
    const step = entry.snapshot.steps.find((s) => s.id === stepId);
    if (!step) return new vscode.TreeItem(stepId);
    const item = new vscode.TreeItem(
      step.id,
      step.changed.length > 0 || step.startedAt ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `${entry.snapshot.runId}/step/${step.id}`;
    const elapsed = formatElapsed(step.startedAt, step.finishedAt);
    const progress = step.status === 'running' && step.progress ? `${step.progress.percent}% ${step.progress.message}` : '';
    // A step run through the queue has its worktree (and its port) on its worker's machine, not here.
    const remote = Boolean(step.worker);
    // A worktree the run kept (keep_worktrees) is shown, and can be opened and removed.
    const kept = !remote && entry.snapshot.status !== 'running' && step.worktree !== null && existsSync(step.worktree);
    const worktree = (!remote && (step.status === 'running' || step.status === 'setting_up')) || kept;
    const port = (step.status === 'running' || step.status === 'setting_up') && step.port ? `port ${step.port}` : '';
    const waiting = step.status === 'queued' && step.waiting ? waitingWords(step.waiting) : '';
    item.description = [
      step.status === 'running' ? '' : step.status.replace('_', ' '),
      waiting,
      step.worker ? `on ${step.worker}` : '',
      elapsed,
      progress,
      port,
      kept ? 'worktree kept' : '',
    ]
      .filter(Boolean)
      .join(' · ');
    item.iconPath = icon(STEP_ICONS[step.status]);
    item.contextValue = entry.readOnly
      ? `step.readonly.${step.status}`
      : `step.${step.status}${worktree ? '.worktree' : ''}${kept ? '.kept' : ''}${step.candidates?.length ? '.candidates' : ''}`;
    const lines = [`**${step.id}** — ${step.status.replace('_', ' ')}${step.worker ? ` on worker \`${step.worker}\`` : ''}`];
    if (step.retries) lines.push(`\nRetried ${plural(step.retries, 'time')}: queued again after its worker stopped answering`);
    if (step.error) lines.push(`\n${step.status === 'skipped' ? `Skipped: ${step.error}` : step.error}`);
    if (kept) lines.push(`\nWorktree kept: \`${step.worktree}\``);
    if (step.lastLines.length > 0) lines.push(`\n\`\`\`\n${step.lastLines.slice(-8).join('\n')}\n\`\`\``);
    if (step.result)
      lines.push(
        `\nResult \`${step.result.slice(0, 10)}\`: ${plural(step.changed.length, 'file')} changed${step.undeclared.length > 0 ? `, ${step.undeclared.length} outside its \`creates\`` : ''}`,
      );
    if (step.dependencies.length > 0) lines.push(`\nAfter: ${step.dependencies.join(', ')}`);
    item.tooltip = new vscode.MarkdownString(lines.join('\n'));
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
