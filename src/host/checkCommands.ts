import path from 'node:path';
import * as vscode from 'vscode';
import { Git } from '../core/git/git';
import type { CheckRun } from '../core/state/snapshot';
import { listed } from '../core/util/words';
import type { CheckNode } from './checkNodes';
import { contentUri } from './contentProvider';
import type { RunEntry, RunsModel } from './runsModel';
import { applyWithConfirmation } from './applyResult';
import { engine } from './lazyEngine';
import { runFrom } from './pickers';

/** The check commands (see checkNodes.ts): what each does, in the words of its failure. */
export const CHECK_ACTIONS = {
  showCheckLog: { does: "show the check's log" },
  openCulprit: { does: "show the check's log and the step's changes", trust: true },
  applyAlternative: { does: 'apply the passing alternative', trust: true },
  branchAlternative: { does: 'create the branch', trust: true },
} as const;

/** Opens a check run's log, read-only, beside the others. */
async function showLog(entry: RunEntry, run: CheckRun, preserveFocus = false): Promise<void> {
  const file = path.join(entry.dir, run.log);
  const doc = await vscode.workspace.openTextDocument(contentUri(`${run.check}-${run.tree.slice(0, 8)}.log`, { type: 'log', file }));
  await vscode.window.showTextDocument(doc, { preview: true, preserveFocus });
}

let multiDiff: Promise<boolean> | undefined;
/** Whether the running editor has the multi-file diff (`vscode.changes`, VS Code 1.85 and later). */
function hasMultiDiff(): Promise<boolean> {
  multiDiff ??= Promise.resolve(vscode.commands.getCommands(false)).then((all) => all.includes('vscode.changes'));
  return multiDiff;
}

export class CheckCommands {
  constructor(
    private readonly model: RunsModel,
    /** Apply wrote these paths of the checkout for the user (a run watching it must not take them for a step's). */
    private readonly userWrote: (repoRoot: string, paths: readonly string[]) => void,
  ) {}

  private alternativeRun(arg: unknown, title: string): Promise<RunEntry | undefined> {
    return runFrom(this.model, arg, (e) => e.snapshot.alternative !== null && e.snapshot.status !== 'running', title, true);
  }

  /** Apply Passing Alternative: the aggregate without the steps that broke the checks, into the working tree. */
  async applyAlternative(arg: unknown): Promise<readonly string[] | undefined> {
    const entry = await this.alternativeRun(arg, 'Apply Passing Alternative');
    const alternative = entry?.snapshot.alternative;
    if (!entry || !alternative) return undefined;
    const ok = await vscode.window.showWarningMessage(
      `Apply the result of ${entry.snapshot.workflow.name} without ${listed(alternative.leftOut)}?`,
      {
        modal: true,
        detail: `It passes every check. It lacks what ${listed(alternative.leftOut)} did: their changes are not applied.`,
      },
      'Apply Passing Alternative',
    );
    if (ok !== 'Apply Passing Alternative') return undefined;
    const result = await applyWithConfirmation(entry.repoRoot, entry.snapshot.runId, { alternative: true });
    if (!result) return undefined;
    this.userWrote(entry.repoRoot, result.changed);
    await this.model.reload(entry.snapshot.runId);
    void vscode.window.showInformationMessage(`Tapps Flow: ${result.message}`);
    return result.changed;
  }

  /** Create Branch from Passing Alternative. */
  async branchAlternative(arg: unknown): Promise<string | undefined> {
    const entry = await this.alternativeRun(arg, 'Create Branch from Passing Alternative');
    const alternative = entry?.snapshot.alternative;
    if (!entry || !alternative) return undefined;
    const name = await vscode.window.showInputBox({
      title: 'Tapps Flow: Create Branch from Passing Alternative',
      value: `tapps/${entry.snapshot.runId}-passing`,
      prompt: `Name of the new branch (it points at the result without ${listed(alternative.leftOut)}, which passes every check)`,
    });
    if (!name) return undefined;
    const result = await engine().branchFromResult(entry.repoRoot, entry.snapshot.runId, name, { alternative: true });
    void vscode.window.showInformationMessage(`Tapps Flow: created branch ${name} without ${listed(alternative.leftOut)}.`);
    return result.ref;
  }

  private checkRunOf(arg: unknown): { entry: RunEntry; run: CheckRun } | undefined {
    const node = arg as Partial<Extract<CheckNode, { kind: 'checkRun' }>> | undefined;
    const entry = node?.runId === undefined ? undefined : this.model.get(node.runId);
    const run = entry?.snapshot.checks.find((c) => c.n === node?.n);
    return entry && run ? { entry, run } : undefined;
  }

  /** Show Check Log: the log of the check run the row shows. */
  async showCheckLog(arg: unknown): Promise<void> {
    const found = this.checkRunOf(arg);
    if (found) await showLog(found.entry, found.run);
  }

  /**
   * A culprit row: the log of the check run that shows the failure (the culprits folded over the
   * base), and beside it the changes of the last culprit in fold order: the step whose addition
   * made the check fail.
   */
  async openCulprit(arg: unknown): Promise<void> {
    const node = arg as Partial<Extract<CheckNode, { kind: 'culprit' }>> | undefined;
    const entry = node?.runId === undefined ? undefined : this.model.get(node.runId);
    const culprit = entry?.snapshot.culprits.find((c) => c.check === node?.check);
    if (!entry || !culprit) return;
    const s = entry.snapshot;
    const evidence =
      s.checks.find((c) => c.check === culprit.check && c.tree === culprit.evidence) ??
      s.checks.find((c) => c.check === culprit.check && c.target === 'aggregate');
    if (evidence) await showLog(entry, evidence);
    const last = culprit.steps[culprit.steps.length - 1];
    const step = s.steps.find((x) => x.id === last);
    if (!step?.result || !step.base || step.changed.length === 0) return;
    const git = new Git(entry.repoRoot);
    const blobAt = (commit: string, file: string) => git.line(['rev-parse', '--verify', '--quiet', `${commit}:${file}`]).catch(() => null);
    const pairs = await Promise.all(
      step.changed.map(async (file) => {
        const [before, after] = await Promise.all([blobAt(step.base!, file), blobAt(step.result!, file)]);
        return [
          vscode.Uri.file(path.join(entry.repoRoot, file)),
          contentUri(`base/${file}`, { type: 'blob', repo: entry.repoRoot, blob: before, label: 'base' }),
          contentUri(`${step.id}/${file}`, { type: 'blob', repo: entry.repoRoot, blob: after, label: step.id }),
        ] as const;
      }),
    );
    const title = `${step.id}'s changes (${culprit.check} fails with ${listed(culprit.steps)})`;
    if (await hasMultiDiff()) await vscode.commands.executeCommand('vscode.changes', title, pairs);
    else await vscode.commands.executeCommand('vscode.diff', pairs[0][1], pairs[0][2], `${step.changed[0]}: base ↔ ${step.id}`);
  }
}
