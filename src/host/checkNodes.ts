import * as vscode from 'vscode';
import { SCORE_CHECK } from '../core/state/checkRuns';
import type { CheckRun, Culprit, RunSnapshot } from '../core/state/snapshot';
import { formatDuration, listed, plural } from '../core/util/words';
import type { RunEntry } from './runsModel';

/** The nodes of a run's checks in the Runs tree (see RunsNode). */
export type CheckNode =
  | { readonly kind: 'checks'; readonly runId: string }
  | { readonly kind: 'checkRun'; readonly runId: string; readonly n: number }
  | { readonly kind: 'culprit'; readonly runId: string; readonly check: string }
  | { readonly kind: 'alternative'; readonly runId: string }
  | { readonly kind: 'candidate'; readonly runId: string; readonly stepId: string; readonly n: number };

/** The nodes of the Runs tree a check node is shown under. */
type OwnerNode =
  { readonly kind: 'run'; readonly runId: string } | { readonly kind: 'step'; readonly runId: string; readonly stepId: string };
/** The tree's factory of one object per node. */
type Make = <T extends CheckNode | OwnerNode>(n: T) => T;

/** The latest run of each check on the aggregate, in the order they started (definition order). */
export function aggregateChecks(s: RunSnapshot): CheckRun[] {
  const latest = new Map<string, CheckRun>();
  for (const c of s.checks) if (c.target === 'aggregate') latest.set(c.check, c);
  return [...latest.values()].sort((a, b) => a.n - b.n);
}

/** The runs a culprit search made for `check` (the base, folds of some steps, the alternative). */
function searchRuns(s: RunSnapshot, check: string): CheckRun[] {
  return s.checks.filter((c) => c.check === check && (c.target === 'base' || c.target === 'subset' || c.target === 'alternative'));
}

/** Whether the run has a Checks node: a check ran on its aggregate. */
export function hasChecks(s: RunSnapshot): boolean {
  return s.checks.some((c) => c.target === 'aggregate');
}

/** The children of a check node, given the tree's one-object-per-node factory. */
export function checkChildren(s: RunSnapshot, node: CheckNode, make: Make): CheckNode[] {
  const runId = s.runId;
  switch (node.kind) {
    case 'checks': {
      const nodes: CheckNode[] = aggregateChecks(s).map((c) => make({ kind: 'checkRun', runId, n: c.n }));
      if (s.alternative) nodes.push(make({ kind: 'alternative', runId }));
      return nodes;
    }
    case 'candidate':
      return s.checks
        .filter((c) => c.target === 'step' && c.step === node.stepId && c.candidate === node.n)
        .map((c) => make({ kind: 'checkRun', runId, n: c.n }));
    case 'checkRun': {
      const run = s.checks.find((c) => c.n === node.n);
      if (!run || run.target !== 'aggregate') return [];
      const culprit = s.culprits.find((c) => c.check === run.check);
      return [
        ...(culprit ? [make({ kind: 'culprit', runId, check: run.check })] : []),
        ...searchRuns(s, run.check).map((c) => make({ kind: 'checkRun', runId, n: c.n })),
      ];
    }
    default:
      return [];
  }
}

/** What is shown under a step of its own verification: its candidates, else the step-level check runs of its result. */
export function stepCheckNodes(s: RunSnapshot, stepId: string, make: Make): CheckNode[] {
  const candidates = s.steps.find((x) => x.id === stepId)?.candidates ?? [];
  if (candidates.length > 0) return candidates.map((c) => make({ kind: 'candidate', runId: s.runId, stepId, n: c.n }));
  return s.checks
    .filter((c) => c.target === 'step' && c.step === stepId && c.candidate === null)
    .map((c) => make({ kind: 'checkRun', runId: s.runId, n: c.n }));
}

/** Where a node of the checks is shown: under the run, its Checks node, a step, a candidate, or its check's aggregate run. */
export function checkParent(s: RunSnapshot, node: CheckNode, make: Make): CheckNode | OwnerNode | undefined {
  const runId = s.runId;
  const aggregateRun = (check: string) => {
    const runs = s.checks.filter((c) => c.target === 'aggregate' && c.check === check);
    return runs.length === 0 ? undefined : make({ kind: 'checkRun', runId, n: runs[runs.length - 1].n });
  };
  switch (node.kind) {
    case 'checks':
      return make({ kind: 'run', runId });
    case 'alternative':
      return make({ kind: 'checks', runId });
    case 'candidate':
      return make({ kind: 'step', runId, stepId: node.stepId });
    case 'culprit':
      return aggregateRun(node.check);
    case 'checkRun': {
      const run = s.checks.find((c) => c.n === node.n);
      if (!run) return undefined;
      if (run.target === 'aggregate') return make({ kind: 'checks', runId });
      if (run.target !== 'step' || run.step === null) return aggregateRun(run.check);
      return run.candidate === null
        ? make({ kind: 'step', runId, stepId: run.step })
        : make({ kind: 'candidate', runId, stepId: run.step, n: run.candidate });
    }
  }
}

const STATUS_ICONS: Record<CheckRun['status'], [string, string?]> = {
  running: ['loading~spin'],
  passed: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  timed_out: ['watch', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'disabledForeground'],
  error: ['warning', 'list.warningForeground'],
};

/** What a check run checked, as its row says it. */
function targetWords(c: CheckRun): string {
  switch (c.target) {
    case 'aggregate':
      return c.check;
    case 'step':
      return c.check === SCORE_CHECK ? 'score' : `check ${c.check}`;
    case 'base':
      return 'on the base';
    case 'alternative':
      return `without the culprits (${plural(c.steps.length, 'step')})`;
    case 'subset':
      return `with ${listed([...c.steps])}`;
  }
}

/** What a culprit search found, in words. */
export function culpritWords(c: Culprit): string {
  switch (c.outcome) {
    case 'found':
      return c.steps.length === 1 ? `broken by ${c.steps[0]}` : `broken by ${listed([...c.steps])} together`;
    case 'base-fails':
      return 'fails on the base too: no step broke it';
    case 'not-reproduced':
      return 'passed when run again: it may be flaky';
  }
}

export function checkItem(entry: RunEntry, node: CheckNode): vscode.TreeItem {
  const s = entry.snapshot;
  switch (node.kind) {
    case 'candidate':
      return candidateItem(entry, node);
    case 'checks': {
      const runs = aggregateChecks(s);
      const failed = runs.filter((c) => c.status !== 'passed' && c.status !== 'running').length;
      const item = new vscode.TreeItem(
        `Checks (${runs.length - failed} of ${runs.length} passed)`,
        failed > 0 || runs.some((c) => c.status === 'running')
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed,
      );
      item.id = `${s.runId}/checks`;
      item.iconPath = new vscode.ThemeIcon('beaker', failed > 0 ? new vscode.ThemeColor('testing.iconFailed') : undefined);
      item.contextValue = 'checks';
      item.tooltip =
        "The workflow's checks, run on the aggregate. When one fails, the smallest set of steps that still fails it is found, and the result without them is offered as an alternative.";
      return item;
    }
    case 'checkRun': {
      const c = s.checks.find((x) => x.n === node.n);
      if (!c) return new vscode.TreeItem('(gone)');
      const culprit = c.target === 'aggregate' ? s.culprits.find((x) => x.check === c.check) : undefined;
      const searching = c.target === 'aggregate' && c.status === 'failed' && !culprit && s.status === 'running';
      const children = c.target === 'aggregate' && (culprit !== undefined || searchRuns(s, c.check).length > 0);
      const item = new vscode.TreeItem(
        targetWords(c),
        children ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
      );
      item.id = `${s.runId}/check/${c.n}`;
      item.description = [
        c.status === 'running' ? 'running' : c.status.replace('_', ' '),
        c.durationMs !== null ? formatDuration(c.durationMs) : '',
        culprit ? culpritWords(culprit) : searching ? 'finding the steps that broke it…' : '',
      ]
        .filter(Boolean)
        .join(' · ');
      item.iconPath = icon(STATUS_ICONS[c.status]);
      item.contextValue = 'checkRun';
      const lines = [`**${c.check}** — ${c.status.replace('_', ' ')}`, `On \`${c.commit.slice(0, 10)}\`: ${targetWords(c)}`];
      if (c.detail) lines.push(c.detail);
      if (c.lastLines.length > 0) lines.push(`\`\`\`\n${c.lastLines.slice(-8).join('\n')}\n\`\`\``);
      item.tooltip = new vscode.MarkdownString(lines.join('\n\n'));
      item.command = { command: 'tappsFlow.showCheckLog', title: 'Show Check Log', arguments: [node] };
      return item;
    }
    case 'culprit': {
      const c = s.culprits.find((x) => x.check === node.check);
      if (!c) return new vscode.TreeItem('(gone)');
      const item = new vscode.TreeItem(
        c.outcome === 'found' ? listed([...c.steps]) : culpritWords(c),
        vscode.TreeItemCollapsibleState.None,
      );
      item.id = `${s.runId}/culprit/${c.check}`;
      item.description = c.outcome === 'found' ? `${culpritWords(c)} · ${plural(c.runs, 'check run')}` : plural(c.runs, 'check run');
      item.iconPath = new vscode.ThemeIcon('debug-breakpoint-log', new vscode.ThemeColor('testing.iconFailed'));
      item.contextValue = c.outcome === 'found' ? 'culprit' : 'culprit.none';
      item.tooltip = new vscode.MarkdownString(
        c.outcome === 'found'
          ? `**${c.check}** fails with ${listed([...c.steps])} folded in over the base, and passes without any one of them. Click to open the check's log and the changes of ${c.steps[c.steps.length - 1]}.`
          : `**${c.check}** ${culpritWords(c)}.`,
      );
      item.command = { command: 'tappsFlow.openCulprit', title: 'Open Check Log and Changes', arguments: [node] };
      return item;
    }
    case 'alternative': {
      const a = s.alternative;
      if (!a) return new vscode.TreeItem('(gone)');
      const item = new vscode.TreeItem('Passing Alternative', vscode.TreeItemCollapsibleState.None);
      item.id = `${s.runId}/alternative`;
      item.description = `without ${listed([...a.leftOut])}`;
      item.iconPath = new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
      item.contextValue = entry.readOnly ? 'alternative.readonly' : 'alternative';
      item.tooltip = new vscode.MarkdownString(
        `The aggregate without ${listed([...a.leftOut])} (\`${a.commit.slice(0, 10)}\`) passes every check. Apply it or create a branch from it from this row's menu.`,
      );
      return item;
    }
  }
}

function candidateItem(entry: RunEntry, node: Extract<CheckNode, { kind: 'candidate' }>): vscode.TreeItem {
  const step = entry.snapshot.steps.find((x) => x.id === node.stepId);
  const c = step?.candidates?.find((x) => x.n === node.n);
  if (!step || !c) return new vscode.TreeItem('(gone)');
  const checks = entry.snapshot.checks.some((x) => x.step === step.id && x.candidate === c.n);
  const item = new vscode.TreeItem(
    `candidate ${c.n}`,
    checks ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
  );
  item.id = `${entry.snapshot.runId}/step/${step.id}/candidate/${c.n}`;
  const picked = step.picked === c.n;
  item.description = [
    c.agent,
    c.status === 'running' ? 'running' : c.status.replace('_', ' '),
    c.checksRun > 0 ? `checks ${c.checksPassed}/${c.checksRun}` : '',
    c.score !== null ? `score ${c.score}` : c.diffSize !== null ? `${plural(c.diffSize, 'line')} changed` : '',
    picked ? 'picked' : '',
  ]
    .filter(Boolean)
    .join(' · ');
  item.iconPath = picked
    ? new vscode.ThemeIcon('star-full', new vscode.ThemeColor('testing.iconPassed'))
    : icon(
        STATUS_ICONS[
          c.status === 'succeeded' ? 'passed' : c.status === 'running' ? 'running' : c.status === 'cancelled' ? 'cancelled' : 'failed'
        ],
      );
  const usable = c.status === 'succeeded' && !picked && !entry.readOnly && entry.snapshot.status !== 'running';
  item.contextValue = `candidate${usable ? '.usable' : ''}${c.result ? '.result' : ''}`;
  const lines = [`**${step.id}**, candidate ${c.n} (${c.agent}) — ${c.status.replace('_', ' ')}${picked ? ', picked' : ''}`];
  if (c.error) lines.push(c.error);
  if (c.result) lines.push(`Result \`${c.result.slice(0, 10)}\`: ${plural(c.changed.length, 'file')} changed. Click to see its changes.`);
  item.tooltip = new vscode.MarkdownString(lines.join('\n\n'));
  if (c.result) item.command = { command: 'tappsFlow.compareCandidates', title: 'Compare Candidates', arguments: [node] };
  return item;
}

function icon([id, color]: [string, string?]): vscode.ThemeIcon {
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}
