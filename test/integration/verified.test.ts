// Verified results in the editor: the Runs tree shows a run's checks (pass/fail icons, the steps
// that broke one, the passing alternative) and a candidate step's attempts; Show Check Log and
// Compare Candidates open editors; Use This Candidate folds the aggregate again.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import type { RunsNode } from '../../src/host/runsTree';
import { waitFor } from './helpers/poll';
import { describeRun, inlineCommandsFor, menuCommandsFor, runWorkflow, tappsFlowApi, viewItem, waitForRunEnd } from './helpers/tappsFlow';
import { blobText, workflowUri } from './helpers/workspace';

const allTabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);

describe('verified results: checks and candidates', () => {
  let api: TappsFlowApi;
  let runId: string;
  before(async () => {
    api = await tappsFlowApi();
    runId = await runWorkflow(workflowUri('verified.yaml'));
    const final = await waitForRunEnd(api, runId, 120_000);
    assert.equal(final.status, 'checks_failed', describeRun(final));
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  const children = (node?: RunsNode) => api.tree.getChildren(node);

  it('shows a Checks node: the failing check with its culprits and the passing alternative, each with its actions', () => {
    const run = children().find((n) => n.runId === runId)!;
    const checks = children(run).find((n) => n.kind === 'checks');
    assert.ok(
      checks,
      `no Checks node among ${children(run)
        .map((n) => n.kind)
        .join(', ')}`,
    );
    assert.equal(viewItem(api, checks).label, 'Checks (0 of 1 passed)');
    const [test, alternative] = children(checks);
    const check = viewItem(api, test);
    assert.equal(check.label, 'test');
    assert.equal(check.icon, 'error');
    assert.match(check.description, /failed · .* · broken by left and right together/);
    assert.deepEqual(inlineCommandsFor(check.contextValue), ['tappsFlow.showCheckLog']);
    const culprit = children(test).find((n) => n.kind === 'culprit')!;
    assert.equal(viewItem(api, culprit).label, 'left and right');
    assert.deepEqual(inlineCommandsFor(viewItem(api, culprit).contextValue), ['tappsFlow.openCulprit']);
    const searched = children(test)
      .filter((n) => n.kind === 'checkRun')
      .map((n) => viewItem(api, n).label);
    assert.ok(searched.includes('on the base'), searched.join(', '));
    assert.equal(api.tree.getParent(culprit), test);
    const alt = viewItem(api, alternative);
    assert.equal(alt.label, 'Passing Alternative');
    assert.match(alt.description, /without right/);
    assert.deepEqual(menuCommandsFor(alt.contextValue), ['tappsFlow.applyAlternative', 'tappsFlow.branchAlternative']);
    assert.ok(
      menuCommandsFor(viewItem(api, run).contextValue).includes('tappsFlow.applyResult'),
      'a run whose checks failed can still be applied',
    );
  });

  it("Show Check Log opens the check's log; the culprit row opens the failing run's log and the changes of the step that broke it", async () => {
    const run = children().find((n) => n.runId === runId)!;
    const test = children(children(run).find((n) => n.kind === 'checks'))[0];
    await vscode.commands.executeCommand('tappsFlow.showCheckLog', test);
    const log = await waitFor('the check log to open', () => {
      const doc = vscode.window.activeTextEditor?.document;
      return doc && /check test: failed/.test(doc.getText()) ? doc : undefined;
    });
    assert.equal(log.uri.scheme, 'tapps-flow');
    const culprit = children(test).find((n) => n.kind === 'culprit')!;
    await vscode.commands.executeCommand('tappsFlow.openCulprit', culprit);
    await waitFor("the culprit step's changes to open", () => allTabs().some((t) => /right's changes/.test(t.label)));
  });

  it("shows the candidates under their step, the picked one marked; Compare Candidates opens a candidate's changes; Use This Candidate folds the aggregate again", async () => {
    const pick = { kind: 'step', runId, stepId: 'pick' } as const;
    const nodes = children(api.tree.getChildren().find((n) => n.runId === runId)).find((n) => n.kind === 'step' && n.stepId === 'pick')!;
    const candidates = children(nodes).filter((n) => n.kind === 'candidate');
    const [first, second] = candidates.map((n) => viewItem(api, n));
    assert.equal(candidates.length, 2);
    assert.match(first.description, /shell · succeeded · 1 line changed · picked/);
    assert.match(second.description, /shell · succeeded · 2 lines changed$/);
    assert.ok(menuCommandsFor(second.contextValue).includes('tappsFlow.useCandidate'), second.contextValue);
    assert.ok(!menuCommandsFor(first.contextValue).includes('tappsFlow.useCandidate'), 'the picked one is not offered again');
    assert.ok(menuCommandsFor(viewItem(api, pick).contextValue).includes('tappsFlow.compareCandidates'));

    await vscode.commands.executeCommand('tappsFlow.compareCandidates', candidates[1]);
    await waitFor("candidate 2's changes to open", () => allTabs().some((t) => /pick: base ↔ candidate 2 \(shell\)/.test(t.label)));

    const picked = await vscode.commands.executeCommand<{ aggregate: { commit: string } }>('tappsFlow.useCandidate', candidates[1]);
    assert.ok(picked, 'Use This Candidate answered');
    assert.equal(await blobText(picked.aggregate.commit, 'pick.txt'), 'two\nlines\n');
    await waitFor('the tree to show candidate 2 picked', () => /picked/.test(viewItem(api, candidates[1]).description));
    const snapshot = api.model.get(runId)!.snapshot;
    assert.equal(snapshot.aggregate?.commit, picked.aggregate.commit);
    assert.equal(snapshot.checks.filter((c) => c.target !== 'step').length, 0, "the old aggregate's checks went with it");
  });
});
