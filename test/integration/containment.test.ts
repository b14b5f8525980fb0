// Containment as the editor shows it: a run whose steps wrote into the user's checkout (isolation
// left at its default, detect) ends flagged escaped, with its warning node first; a run whose
// result links out of the repository lists the link under Needs Your Eye, and Apply writes nothing
// without the user's yes. Both confirmations are modal dialogs, which the workbench refuses to show
// while extension tests run: answering them (Restore, Cancel, Apply with the Symlinks) is the ui
// pass's part (test/integration/ui/containment.mjs).
import * as assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import type { RunsNode } from '../../src/host/runsTree';
import { waitFor } from './helpers/poll';
import { describeRun, inlineCommandsFor, runWorkflow, tappsFlowApi, viewItem, waitForRunEnd } from './helpers/tappsFlow';
import { git, resetWorkingTree, workflowUri, workingTreeSnapshot, workspaceRoot } from './helpers/workspace';

const CREATED = 'escaped-by-step.txt';
const EDITED = 'CHANGELOG.md';

function bytes(file: string): Buffer {
  return readFileSync(path.join(workspaceRoot(), file));
}

/** The snapshot the run's state folder holds on disk (what `status` and other windows read). */
function stateOnDisk(api: TappsFlowApi, runId: string): { escaped: boolean; escapes: Array<{ path: string; restored: boolean }> } {
  return JSON.parse(readFileSync(path.join(api.model.get(runId)!.dir, 'state.json'), 'utf8')) as {
    escaped: boolean;
    escapes: Array<{ path: string; restored: boolean }>;
  };
}

function conflictReport(api: TappsFlowApi, runId: string): string {
  return readFileSync(path.join(api.model.get(runId)!.dir, 'conflicts.md'), 'utf8');
}

describe('containment in the Runs view', () => {
  let api: TappsFlowApi;
  let treeBefore: Map<string, string>;
  before(async () => {
    api = await tappsFlowApi();
  });
  beforeEach(() => {
    treeBefore = workingTreeSnapshot();
  });
  // Whatever a test left (an escaped write it could not restore, an applied link), the next test
  // finds the working tree as this one did.
  afterEach(async () => {
    await resetWorkingTree();
    assert.deepEqual(workingTreeSnapshot(), treeBefore, 'the working tree differs from before the test');
  });

  it('writes into the checkout: the run ends escaped, the warning node comes first with one write per child naming its step', async () => {
    const edited = bytes(EDITED);
    assert.equal(existsSync(path.join(workspaceRoot(), CREATED)), false);
    const runId = await runWorkflow(workflowUri('escaping.yaml'));
    const final = await waitForRunEnd(api, runId);

    // The steps themselves succeeded: escaped is a flag over the status, shown first.
    assert.equal(final.status, 'succeeded', describeRun(final));
    assert.match(final.description, /^escaped · succeeded · \d/);
    assert.match(final.contextValue, /^run\.succeeded\.result/);
    assert.deepEqual(final.childKinds, ['escapes', 'step', 'step'], 'the warning node is not first');
    assert.equal(final.item.collapsibleState, vscode.TreeItemCollapsibleState.Expanded, 'an escaped run opens by itself');

    const escapesNode = api.tree.getChildren(final.node)[0];
    const warning = viewItem(api, escapesNode);
    assert.equal(warning.label, 'Wrote Outside Its Worktrees (2)');
    assert.equal(warning.icon, 'warning');
    assert.equal(warning.contextValue, 'escapes.restorable');
    assert.ok(
      inlineCommandsFor(warning.contextValue).includes('tappsFlow.restoreMyFiles'),
      `no Restore My Files button on "${warning.contextValue}"`,
    );
    const writes = api.tree
      .getChildren(escapesNode)
      .map((n) => viewItem(api, n))
      .map((v) => [v.label, v.description, v.icon] as const)
      .sort(([a], [b]) => a.localeCompare(b));
    assert.deepEqual(writes, [
      [EDITED, 'file · modified · edit-tracked', 'warning'],
      [CREATED, 'file · added · create-outside', 'warning'],
    ]);

    // The writes happened (detection does not stop them) and are recorded, on disk too.
    assert.equal(bytes(CREATED).toString('utf8'), 'escaped\n');
    assert.deepEqual(bytes(EDITED), Buffer.concat([edited, Buffer.from('- edited by a step\n')]));
    const snapshot = api.model.get(runId)!.snapshot;
    assert.equal(snapshot.escaped, true);
    assert.deepEqual(snapshot.escapes.map((e) => [e.kind, e.path, e.change, e.restored]).sort(), [
      ['file', EDITED, 'modified', false],
      ['file', CREATED, 'added', false],
    ]);
    const onDisk = await waitFor('state.json to say escaped', () => {
      const s = stateOnDisk(api, runId);
      return s.escaped && s.escapes.length === 2 ? s : undefined;
    });
    assert.deepEqual(onDisk.escapes.map((e) => [e.path, e.restored]).sort(), [
      [EDITED, false],
      [CREATED, false],
    ]);
    assert.match(conflictReport(api, runId), /Written outside the worktrees: `escaped-by-step\.txt` \(create-outside\)/);
    assert.match(conflictReport(api, runId), /Written outside the worktrees: `CHANGELOG\.md` \(edit-tracked\)/);

    // Restore My Files asks first, in a modal dialog nobody answers here: nothing is written.
    const restored = await vscode.commands.executeCommand<readonly string[] | undefined>('tappsFlow.restoreMyFiles', escapesNode);
    assert.equal(restored, undefined);
    assert.equal(bytes(CREATED).toString('utf8'), 'escaped\n', 'restored without asking');
    assert.deepEqual(bytes(EDITED), Buffer.concat([edited, Buffer.from('- edited by a step\n')]), 'restored without asking');
    assert.equal(viewItem(api, escapesNode).contextValue, 'escapes.restorable');
    assert.ok(api.model.get(runId)!.snapshot.escapes.every((e) => !e.restored));
  });

  it('a result linking out of the repository: Needs Your Eye lists the link, Apply writes nothing without a yes', async function () {
    // Windows: the step cannot make the link this test is about. Git for Windows' `ln -s` makes a
    // copy of its target by default (MSYS), not a link; a native link needs Developer Mode or an
    // administrator and would point at a Windows path, not /etc/passwd; and git there works with
    // core.symlinks=false. Neither the link-out finding nor the mode-120000 entry can arise.
    if (process.platform === 'win32') this.skip();
    const runId = await runWorkflow(workflowUri('symlinked.yaml'));
    const final = await waitForRunEnd(api, runId);
    // A finding is not a conflict, and the link stayed in the step's worktree: no escape.
    assert.equal(final.status, 'succeeded', describeRun(final));
    assert.match(final.description, /^succeeded · \d/);
    assert.deepEqual(final.childKinds, ['step', 'findings']);
    assert.equal(final.item.collapsibleState, vscode.TreeItemCollapsibleState.Expanded);
    assert.ok(inlineCommandsFor(final.contextValue).includes('tappsFlow.applyResult'), `no Apply button on "${final.contextValue}"`);

    const findingsNode = api.tree.getChildren(final.node).find((n) => n.kind === 'findings')!;
    assert.equal(viewItem(api, findingsNode).label, 'Needs Your Eye (1)');
    const findings = api.tree.getChildren(findingsNode).map((n) => viewItem(api, n));
    assert.deepEqual(
      findings.map((f) => [f.label, f.description, f.icon]),
      [['leak', 'symlink out of the repository · link-out', 'warning']],
    );
    assert.match(findings[0].item.tooltip as string, /\/etc\/passwd/);
    assert.match(conflictReport(api, runId), /## Needs your eye[\s\S]*`leak` \(link-out\): a symbolic link to \/etc\/passwd/);

    // The link is in the result as a link (mode 120000), pointing where the step made it point.
    const aggregate = api.model.get(runId)!.snapshot.aggregate!.commit;
    assert.match(await git('ls-tree', aggregate, 'leak'), /^120000 blob /);
    assert.equal(await git('cat-file', 'blob', `${aggregate}:leak`), '/etc/passwd');

    // Apply is refused by the engine and the editor asks (a modal nobody answers here): nothing is written.
    const node: RunsNode = { kind: 'run', runId };
    assert.equal(await vscode.commands.executeCommand('tappsFlow.applyResult', node), undefined);
    assert.throws(() => lstatSync(path.join(workspaceRoot(), 'leak')), /ENOENT/, 'the link was written without a yes');
    assert.deepEqual(workingTreeSnapshot(), treeBefore);
    assert.equal(await git('status', '--porcelain'), '');
  });
});
