// The Conflicts node of a conflicted run, and the diff editors its items open.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import type { RunsNode } from '../../src/host/runsTree';
import { waitFor } from './helpers/poll';
import { inlineCommandsFor, runWorkflow, tappsFlowApi, viewItem, waitForRunEnd, type ItemView } from './helpers/tappsFlow';
import { git, workflowUri } from './helpers/workspace';

const FILE = 'services/auth/index.js';

/** Waits for the active tab to be a text diff titled `label`; returns its input. */
function waitForDiffTab(label: string): Promise<vscode.TabInputTextDiff> {
  const describe = () => {
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    return tab ? `active tab "${tab.label}" (${tab.input?.constructor.name ?? 'no input'})` : 'no active tab';
  };
  return waitFor(
    `a diff tab "${label}"`,
    () => {
      const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
      return tab?.label === label && tab.input instanceof vscode.TabInputTextDiff ? tab.input : undefined;
    },
    { describe },
  );
}

async function textOf(uri: vscode.Uri): Promise<string> {
  return (await vscode.workspace.openTextDocument(uri)).getText();
}

describe('conflicts', () => {
  let api: TappsFlowApi;
  let runId: string;
  let conflict: ItemView;
  let base: string;

  before(async () => {
    api = await tappsFlowApi();
    base = await git('show', `HEAD:${FILE}`);
    assert.ok(base.includes('missing credentials'), `${FILE} in the workspace is not the demo's`);
    runId = await runWorkflow(workflowUri('conflicting.yaml'));
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('shows a conflicted run with a Conflicts node listing the conflict', async () => {
    const run = await waitForRunEnd(api, runId);
    assert.equal(run.status, 'conflicted');
    assert.match(run.description, /^conflicted · /);
    assert.equal(run.icon, 'warning');
    assert.deepEqual(run.childKinds, ['step', 'step', 'step', 'conflicts']);
    const conflictsNode = api.tree.getChildren(run.node).find((n) => n.kind === 'conflicts')!;
    const conflicts = viewItem(api, conflictsNode);
    assert.equal(conflicts.label, 'Conflicts (1)');
    assert.equal(conflicts.item.collapsibleState, vscode.TreeItemCollapsibleState.Expanded);
    const items = api.tree.getChildren(conflictsNode).map((n) => viewItem(api, n));
    assert.equal(items.length, 1);
    conflict = items[0];
    assert.equal(conflict.label, FILE);
    assert.match(conflict.description, /auth-rename ↔ auth-reword/);
    assert.equal(conflict.contextValue, 'conflict', 'the conflict menus match viewItem == conflict');
    assert.equal(conflict.item.command?.command, 'tappsFlow.openConflictDiff');
    assert.deepEqual(inlineCommandsFor(conflict.contextValue), ['tappsFlow.openConflictDiff']);
    assert.deepEqual(api.tree.getParent(conflict.node), conflictsNode);
  });

  it("clicking the conflict opens a diff editor of the two steps' versions", async () => {
    assert.ok(conflict, 'the previous test found no conflict');
    const command = conflict.item.command!;
    await vscode.commands.executeCommand(command.command, ...((command.arguments ?? []) as unknown[]));
    const input = await waitForDiffTab(`${FILE}: auth-rename ↔ auth-reword`);
    assert.equal(input.original.scheme, 'tapps-flow');
    assert.equal(input.modified.scheme, 'tapps-flow');
    assert.equal(input.original.path, `/auth-rename/${FILE}`);
    assert.equal(input.modified.path, `/auth-reword/${FILE}`);
    // Each side holds exactly that step's edit of the base.
    assert.equal(await textOf(input.original), base.replace('missing credentials', 'credentials required'));
    assert.equal(await textOf(input.modified), base.replace('missing credentials', 'user and password are needed'));
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === input.modified.toString());
    assert.ok(editor, 'the modified side is not shown in an editor');
  });

  it('its context menu compares the base with a step', async () => {
    const node = conflict.node as Extract<RunsNode, { kind: 'conflict' }>;
    await vscode.commands.executeCommand('tappsFlow.openConflictBaseTheirs', node);
    const input = await waitForDiffTab(`${FILE}: base ↔ auth-reword`);
    assert.equal(input.original.scheme, 'tapps-flow');
    assert.equal(await textOf(input.original), base);
    assert.equal(await textOf(input.modified), base.replace('missing credentials', 'user and password are needed'));
  });
});
