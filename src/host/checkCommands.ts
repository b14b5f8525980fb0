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
import type { Picked } from '../core/apply/pickCandidate';

/** The check commands (see checkNodes.ts): what each does, in the words of its failure. */
export const CHECK_ACTIONS = {
  showCheckLog: { does: "show the check's log" },
  openCulprit: { does: "show the check's log and the step's changes", trust: true },
  applyAlternative: { does: 'apply the passing alternative', trust: true },
  branchAlternative: { does: 'create the branch', trust: true },
  compareCandidates: { does: 'compare the candidates', trust: true },
  useCandidate: { does: 'use the candidate', trust: true },
} as const;

/** A file's versions in two commits, as a row of the multi-file diff. */
type Row = readonly [vscode.Uri, vscode.Uri, vscode.Uri];

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

/** The rows of a diff of `files` between two commits of the repository (null: the run's base side is absent). */
async function rows(
  repoRoot: string,
  files: readonly string[],
  left: { readonly commit: string; readonly label: string },
  right: { readonly commit: string; readonly label: string },
): Promise<Row[]> {
  const git = new Git(repoRoot);
  const blobAt = (commit: string, file: string) => git.line(['rev-parse', '--verify', '--quiet', `${commit}:${file}`]).catch(() => null);
  return Promise.all(
    files.map(async (file): Promise<Row> => {
      const [before, after] = await Promise.all([blobAt(left.commit, file), blobAt(right.commit, file)]);
      return [
        contentUri(`${right.label}/${file}`, { type: 'blob', repo: repoRoot, blob: after, label: right.label }),
        contentUri(`${left.label}/${file}`, { type: 'blob', repo: repoRoot, blob: before, label: left.label }),
        contentUri(`${right.label}/${file}`, { type: 'blob', repo: repoRoot, blob: after, label: right.label }),
      ];
    }),
  );
}

/** Opens rows in the multi-file diff, or the first of them in a diff where the editor has none. */
async function openRows(title: string, list: readonly Row[]): Promise<void> {
  if (list.length === 0) {
    void vscode.window.showInformationMessage(`Tapps Flow: ${title}: no file differs.`);
    return;
  }
  if (await hasMultiDiff()) await vscode.commands.executeCommand('vscode.changes', title, list);
  else await vscode.commands.executeCommand('vscode.diff', list[0][1], list[0][2], title);
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

  /**
   * Apply Passing Alternative: the aggregate without the steps that broke the checks, into the
   * working tree. `confirmed`: the user chose it in Apply's own warning, which said what it lacks.
   */
  async applyAlternative(arg: unknown, options: { readonly confirmed?: boolean } = {}): Promise<readonly string[] | undefined> {
    const entry = await this.alternativeRun(arg, 'Apply Passing Alternative');
    const alternative = entry?.snapshot.alternative;
    if (!entry || !alternative) return undefined;
    const ok = options.confirmed
      ? 'Apply Passing Alternative'
      : await vscode.window.showWarningMessage(
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

  private candidateStep(arg: unknown) {
    const node = arg as Partial<Extract<CheckNode, { kind: 'candidate' }>> & { stepId?: string };
    const entry = node?.runId === undefined ? undefined : this.model.get(node.runId);
    const step = entry?.snapshot.steps.find((x) => x.id === node.stepId);
    return entry && step ? { entry, step, n: node.kind === 'candidate' ? node.n : undefined } : undefined;
  }

  /**
   * Compare Candidates: on a candidate, its changes against the step's base; on the step, a choice
   * of any candidate against the base, or two candidates side by side.
   */
  async compareCandidates(arg: unknown): Promise<void> {
    const found = this.candidateStep(arg);
    if (!found?.step.base) return;
    const { entry, step } = found;
    const base = { commit: step.base!, label: 'base' };
    const done = (step.candidates ?? []).filter((c) => c.result !== null);
    const side = (c: (typeof done)[number]) => ({ commit: c.result!, label: `candidate ${c.n} (${c.agent})` });
    let pair: [ReturnType<typeof side> | typeof base, ReturnType<typeof side>, readonly string[]] | undefined;
    const own = done.find((c) => c.n === found.n);
    if (own) pair = [base, side(own), own.changed];
    else {
      const choices = [
        ...done.map((c) => ({ label: `Candidate ${c.n} (${c.agent}) ↔ base`, value: [base, side(c), c.changed] as const })),
        ...done.flatMap((a, i) =>
          done.slice(i + 1).map((b) => ({
            label: `Candidate ${a.n} (${a.agent}) ↔ candidate ${b.n} (${b.agent})`,
            value: [side(a), side(b), [...new Set([...a.changed, ...b.changed])].sort()] as const,
          })),
        ),
      ];
      const picked = await vscode.window.showQuickPick(choices, { title: `Tapps Flow: Compare Candidates of ${step.id}` });
      if (!picked) return;
      pair = [picked.value[0], picked.value[1], picked.value[2]];
    }
    const [left, right, files] = pair;
    await openRows(`${step.id}: ${left.label} ↔ ${right.label}`, await rows(entry.repoRoot, files, left, right));
  }

  /** Use This Candidate: the step's result becomes the candidate's, and the aggregate is folded again. */
  async useCandidate(arg: unknown): Promise<Picked | undefined> {
    const found = this.candidateStep(arg);
    const c = found?.step.candidates?.find((x) => x.n === found.n);
    if (!found || !c) return undefined;
    const { entry, step } = found;
    // Asked only when something would be lost: another candidate can be taken back any time.
    const resolved = entry.snapshot.resolutions.length;
    if (resolved > 0) {
      const ok = await vscode.window.showWarningMessage(
        `Use candidate ${c.n} (${c.agent}) as the result of ${step.id}?`,
        {
          modal: true,
          detail: `The run's result is folded again with it, and your ${resolved === 1 ? 'resolved conflict is' : `${resolved} resolved conflicts are`} dropped.`,
        },
        'Use This Candidate',
      );
      if (ok !== 'Use This Candidate') return undefined;
    }
    const picked = await engine().pickCandidate(entry.repoRoot, entry.snapshot.runId, step.id, c.n);
    await this.model.reload(entry.snapshot.runId);
    void vscode.window.showInformationMessage(
      `Tapps Flow: ${step.id} now uses candidate ${c.n}; the result was folded again${picked.conflicts > 0 ? ` with ${picked.conflicts === 1 ? 'a conflict' : `${picked.conflicts} conflicts`} to resolve` : ''}.${picked.checksDropped ? " The workflow's checks were not run on it." : ''}`,
    );
    return picked;
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
    const title = `${step.id}'s changes (${culprit.check} fails with ${listed(culprit.steps)})`;
    await openRows(
      title,
      await rows(entry.repoRoot, step.changed, { commit: step.base, label: 'base' }, { commit: step.result, label: step.id }),
    );
  }
}
