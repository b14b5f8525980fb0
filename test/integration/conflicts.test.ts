// The Conflicts node of a conflicted run, and what its items open: the diff of the two versions,
// the merged file (only the conflicting hunk marked), VS Code's 3-way merge editor, whose Complete
// Merge resolves the conflict; a json-key conflict opens at its key.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import type { RunsNode } from '../../src/host/runsTree';
import { samePath } from '../../src/core/util/paths';
import { waitFor } from './helpers/poll';
import {
  extensionId,
  inlineCommandsFor,
  menuCommandsFor,
  runWorkflow,
  tappsFlowApi,
  viewItem,
  viewRun,
  waitForRunEnd,
  type ItemView,
} from './helpers/tappsFlow';
import { blobText, git, workflowUri } from './helpers/workspace';

const FILE = 'services/auth/index.js';

/** What a merge editor's tab holds (`TabInputTextMerge`, typed only in a proposal of the API). */
interface MergeInput {
  readonly base: vscode.Uri;
  readonly input1: vscode.Uri;
  readonly input2: vscode.Uri;
  readonly result: vscode.Uri;
}
const TabInputTextMerge = (vscode as unknown as { TabInputTextMerge: abstract new (...args: never[]) => MergeInput }).TabInputTextMerge;

const allTabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
const describeTabs = () =>
  allTabs()
    .map((t) => `"${t.label}" (${t.input?.constructor.name ?? 'no input'})`)
    .join(', ') || 'no tabs';

/** Waits for the active tab to be a text diff titled `label`; returns its input. */
function waitForDiffTab(label: string): Promise<vscode.TabInputTextDiff> {
  return waitFor(
    `a diff tab "${label}"`,
    () => {
      const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
      return tab?.label === label && tab.input instanceof vscode.TabInputTextDiff ? tab.input : undefined;
    },
    { describe: describeTabs },
  );
}

/** Waits for a merge editor whose result is `file`; returns its tab. */
function waitForMergeTab(file: string): Promise<vscode.Tab> {
  return waitFor(
    `a merge editor of ${file}`,
    () => allTabs().find((t) => t.input instanceof TabInputTextMerge && samePath(t.input.result.fsPath, file)),
    { describe: describeTabs },
  );
}

/** Waits for a visible editor of `uri` whose selection is on one line; returns that line. */
function waitForSelectedLine(uri: vscode.Uri): Promise<number> {
  const editor = () => vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  return waitFor(
    `a selected line in an editor of ${uri.toString()}`,
    () => {
      const s = editor()?.selection;
      return s && !s.isEmpty && s.isSingleLine ? s.start.line : undefined;
    },
    {
      timeoutMs: 10_000,
      describe: () => {
        const e = editor();
        return e
          ? `selection ${JSON.stringify(e.selection)}`
          : `visible: ${vscode.window.visibleTextEditors.map((x) => x.document.uri.toString()).join(', ')}`;
      },
    },
  );
}

async function textOf(uri: vscode.Uri): Promise<string> {
  return (await vscode.workspace.openTextDocument(uri)).getText();
}

/** The query of one of the extension's version documents; empty for any other URI. */
function queryOf(uri: vscode.Uri): { run?: string; conflict?: string; label?: string } {
  if (uri.scheme !== 'tapps-flow') return {};
  return JSON.parse(uri.query) as { run?: string; conflict?: string; label?: string };
}

/** The conflict events of a run, as recorded. */
function resolvedEvents(api: TappsFlowApi, runId: string): Array<{ path: string; resolution: string; blob: string | null }> {
  return readFileSync(path.join(api.model.get(runId)!.dir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; path: string; resolution: string; blob: string | null })
    .filter((e) => e.type === 'conflict_resolved');
}

/** The single conflict of a run, once the run ended conflicted. */
async function onlyConflict(api: TappsFlowApi, runId: string): Promise<ItemView> {
  const run = await waitForRunEnd(api, runId);
  assert.equal(run.status, 'conflicted');
  const conflictsNode = api.tree.getChildren(run.node).find((n) => n.kind === 'conflicts')!;
  const items = api.tree.getChildren(conflictsNode).map((n) => viewItem(api, n));
  assert.equal(items.length, 1);
  return items[0];
}

describe('conflicts', () => {
  let api: TappsFlowApi;

  before(async () => {
    api = await tappsFlowApi();
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  describe('a content conflict', () => {
    let runId: string;
    let conflict: ItemView;
    let node: RunsNode;
    let base: string;
    let mergeFile: string;

    before(async () => {
      base = await git('show', `HEAD:${FILE}`);
      assert.ok(base.includes('missing credentials'), `${FILE} in the workspace is not the demo's`);
      runId = await runWorkflow(workflowUri('conflicting.yaml'));
    });

    it('shows a conflicted run with a Conflicts node listing the conflict', async () => {
      const run = await waitForRunEnd(api, runId);
      assert.equal(run.status, 'conflicted');
      assert.match(run.description, /^conflicted · /);
      assert.equal(run.icon, 'warning');
      assert.deepEqual(run.childKinds, ['step', 'step', 'step', 'conflicts']);
      const conflictsNode = api.tree.getChildren(run.node).find((n) => n.kind === 'conflicts')!;
      assert.equal(viewItem(api, conflictsNode).label, 'Conflicts (1)');
      conflict = await onlyConflict(api, runId);
      node = conflict.node;
      mergeFile = path.join(api.model.get(runId)!.dir, 'merge', FILE);
      assert.equal(conflict.label, FILE);
      assert.match(conflict.description, /^content · auth-rename ↔ auth-reword/);
      assert.equal(conflict.contextValue, 'conflict', 'the conflict menus match viewItem == conflict');
      // Clicking a content conflict opens the merge editor; Compare and Resolve… are its buttons.
      assert.equal(conflict.item.command?.command, 'tappsFlow.openConflictMerge');
      assert.deepEqual(inlineCommandsFor(conflict.contextValue), ['tappsFlow.openConflictDiff', 'tappsFlow.resolveConflict']);
      assert.deepEqual(api.tree.getParent(conflict.node), conflictsNode);
    });

    it('names no step by its position in any menu title: the steps are named in the Resolve… pick', () => {
      const manifest = vscode.extensions.getExtension(extensionId)!.packageJSON as {
        contributes: { commands: Array<{ command: string; title: string }> };
      };
      const titleOf = (id: string) => manifest.contributes.commands.find((c) => c.command === id)?.title ?? `(no title: ${id})`;
      const menu = menuCommandsFor('conflict');
      assert.deepEqual(menu, [
        'tappsFlow.openConflictDiff',
        'tappsFlow.openConflictWithBase',
        'tappsFlow.resolveConflict',
        'tappsFlow.openConflictMerge',
        'tappsFlow.resolveTakeVersion',
        'tappsFlow.resolveEditMerged',
        'tappsFlow.markResolved',
      ]);
      for (const id of menu) assert.doesNotMatch(titleOf(id), /earlier|later|first|second|ours|theirs/i, id);
      assert.equal(titleOf('tappsFlow.openConflictDiff'), 'Compare the Two Versions');
    });

    it("Compare opens a diff editor of the two steps' versions, whose documents name the run and the path", async () => {
      await vscode.commands.executeCommand('tappsFlow.openConflictDiff', node);
      const input = await waitForDiffTab(`${FILE}: auth-rename ↔ auth-reword`);
      assert.equal(input.original.scheme, 'tapps-flow');
      assert.equal(input.original.path, `/auth-rename/${FILE}`);
      assert.equal(input.modified.path, `/auth-reword/${FILE}`);
      assert.deepEqual(queryOf(input.modified), { ...queryOf(input.modified), run: runId, conflict: FILE });
      assert.equal(await textOf(input.original), base.replace('missing credentials', 'credentials required'));
      assert.equal(await textOf(input.modified), base.replace('missing credentials', 'user and password are needed'));
    });

    it('compares the base with the step asked for', async () => {
      await vscode.commands.executeCommand('tappsFlow.openConflictWithBase', node, 'auth-reword');
      const input = await waitForDiffTab(`${FILE}: base ↔ auth-reword`);
      assert.equal(await textOf(input.original), base);
      assert.equal(await textOf(input.modified), base.replace('missing credentials', 'user and password are needed'));
    });

    it("Edit Merged File opens the merged file with only the conflicting hunk between markers, labelled with the steps' names", async () => {
      await vscode.commands.executeCommand('tappsFlow.resolveConflict', node, 'edit');
      const editor = await waitFor('the merged file in the active editor', () => {
        const e = vscode.window.activeTextEditor;
        return e && samePath(e.document.uri.fsPath, mergeFile) ? e : undefined;
      });
      const baseLines = base.split('\n');
      const at = baseLines.findIndex((l) => l.includes('missing credentials'));
      const expected = [
        ...baseLines.slice(0, at),
        '<<<<<<< auth-rename',
        baseLines[at].replace('missing credentials', 'credentials required'),
        '=======',
        baseLines[at].replace('missing credentials', 'user and password are needed'),
        '>>>>>>> auth-reword',
        ...baseLines.slice(at + 1),
      ].join('\n');
      assert.equal(editor.document.getText(), expected);
      assert.equal(readFileSync(mergeFile, 'utf8'), expected);
      // The editor opens at the conflict.
      assert.equal(editor.selection.start.line, at);
    });

    it('opens the merge editor with the base, both steps and the merged file as its result', async () => {
      assert.ok((await vscode.commands.getCommands()).includes('_open.mergeEditor'), 'this VS Code has no merge editor command');
      await vscode.commands.executeCommand(conflict.item.command!.command, ...(conflict.item.command!.arguments as unknown[]));
      const tab = await waitForMergeTab(mergeFile);
      const input = tab.input as MergeInput;
      assert.equal(input.input1.path, `/auth-rename/${FILE}`);
      assert.equal(input.input2.path, `/auth-reword/${FILE}`);
      assert.equal(input.base.path, `/base/${FILE}`);
      for (const uri of [input.base, input.input1, input.input2])
        assert.deepEqual(queryOf(uri), { ...queryOf(uri), run: runId, conflict: FILE });
      assert.equal(queryOf(input.input1).label, 'auth-rename');
      assert.equal(queryOf(input.input2).label, 'auth-reword');
      assert.equal(input.result.scheme, 'file');
      assert.equal(vscode.window.tabGroups.activeTabGroup.activeTab, tab, 'the merge editor is not the active tab');
    });

    it("Complete Merge (VS Code's own) resolves the conflict with the merge written, and closes the conflict's tabs", async () => {
      const resolved = base.replace('missing credentials', 'credentials required: user and password are needed');
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(mergeFile));
      // The merge editor starts its result over from the base where the steps conflict (as it does
      // for a file with conflict markers): an edit made before that reaches this window is refused.
      await waitFor('the merge editor to set up its result', () => doc.isDirty && !doc.getText().includes('<<<<<<<'), {
        describe: () => doc.getText(),
      });
      assert.equal(doc.getText(), base, "the merge editor's result holds the base in the conflicting hunk");
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), resolved);
      assert.ok(await vscode.workspace.applyEdit(edit));
      // The button of the merge editor's result pane: saves the result and closes the editor.
      const accepted = await vscode.commands.executeCommand<{ successful?: boolean }>('mergeEditor.acceptMerge');
      assert.equal(accepted?.successful, true);
      await waitFor('the conflict to be resolved', () => api.model.get(runId)!.snapshot.conflicts.length === 0, {
        describe: () => JSON.stringify(api.model.get(runId)?.snapshot.conflicts),
      });
      const snapshot = api.model.get(runId)!.snapshot;
      assert.equal(snapshot.status, 'succeeded', 'the last resolution ends the run as succeeded');
      assert.equal(await blobText(snapshot.aggregate!.commit, FILE), resolved);
      const events = resolvedEvents(api, runId);
      assert.deepEqual(
        events.map((e) => [e.path, e.resolution]),
        [[FILE, 'merged by hand']],
      );
      assert.equal(events[0].blob, (await git('rev-parse', `${snapshot.aggregate!.commit}:${FILE}`)).trim());
      await waitFor('the Conflicts node to go', () => !viewRun(api, runId)!.childKinds.includes('conflicts'));
      // Every tab of the conflict is closed: the diffs of its versions, its merged file, the merge editor.
      await waitFor(
        "the conflict's tabs to close",
        () =>
          !allTabs().some(
            (t) =>
              (t.input instanceof vscode.TabInputTextDiff && t.input.modified.scheme === 'tapps-flow') ||
              (t.input instanceof vscode.TabInputText && samePath(t.input.uri.fsPath, mergeFile)) ||
              t.input instanceof TabInputTextMerge,
          ),
        { describe: describeTabs },
      );
    });
  });

  describe('a json-key conflict', () => {
    let runId: string;
    let node: RunsNode;
    let mergeFile: string;
    /** The 0-based line of `"start"` in package.json: the conflict's key. */
    let keyLine: number;

    before(async () => {
      keyLine = (await git('show', 'HEAD:package.json')).split('\n').findIndex((l) => l.includes('"start"'));
      assert.ok(keyLine > 0);
      runId = await runWorkflow(workflowUri('json-conflict.yaml'));
    });

    it('is listed with its key path, and opens in the merge editor', async () => {
      const conflict = await onlyConflict(api, runId);
      node = conflict.node;
      mergeFile = path.join(api.model.get(runId)!.dir, 'merge', 'package.json');
      assert.equal(conflict.description, 'json-key · watch-mode ↔ new-server · $.scripts.start');
      assert.equal(conflict.item.command?.command, 'tappsFlow.openConflictMerge');
    });

    it('Compare opens the diff at the key', async () => {
      await vscode.commands.executeCommand('tappsFlow.openConflictDiff', node);
      const input = await waitForDiffTab('package.json: watch-mode ↔ new-server');
      assert.equal(await waitForSelectedLine(input.modified), keyLine);
      assert.equal(await waitForSelectedLine(input.original), keyLine);
    });

    it('Edit Merged File opens the merged file at the key, and resolving with its markers left refuses', async () => {
      await vscode.commands.executeCommand('tappsFlow.resolveEditMerged', node);
      const editor = await waitFor('the merged package.json in the active editor', () => {
        const e = vscode.window.activeTextEditor;
        return e && samePath(e.document.uri.fsPath, mergeFile) ? e : undefined;
      });
      const text = editor.document.getText();
      // git's text merge of the file: the one line both steps changed is marked, its first version selected.
      assert.equal(text.split('\n')[keyLine], '<<<<<<< watch-mode');
      assert.equal(editor.selection.start.line, keyLine + 1);
      assert.match(editor.document.lineAt(keyLine + 1).text, /"start": "node --watch services\/api\/index.js"/);
      await vscode.commands.executeCommand('tappsFlow.markResolved', node);
      assert.equal(api.model.get(runId)!.snapshot.conflicts.length, 1, 'a merged file with markers resolved the conflict');
      assert.deepEqual(resolvedEvents(api, runId), []);
    });

    it('opens the merge editor with its result at the key', async () => {
      await vscode.commands.executeCommand('tappsFlow.openConflictMerge', node);
      await waitForMergeTab(mergeFile);
      const line = await waitForSelectedLine(vscode.Uri.file(mergeFile));
      const result = vscode.window.visibleTextEditors.find((e) => samePath(e.document.uri.fsPath, mergeFile))!;
      assert.match(result.document.lineAt(line).text, /^\s*"start": /, `line ${line} is not the key's`);
    });

    it("completed with the conflict unhandled, the merge keeps the base's line: not taken as a resolution, the markers come back", async () => {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(mergeFile));
      const marked = readFileSync(mergeFile, 'utf8');
      assert.match(marked, /^<<<<<<< watch-mode$/m);
      await waitFor('the merge editor to set up its result', () => doc.isDirty);
      // VS Code asks whether to complete with unhandled conflicts (yes, in a test), saves and closes.
      await vscode.commands.executeCommand('tappsFlow.completeMerge');
      await waitFor('the merge editor to close', () => !allTabs().some((t) => t.input instanceof TabInputTextMerge), {
        describe: describeTabs,
      });
      await waitFor('the merged file to have its markers back', () => readFileSync(mergeFile, 'utf8') === marked, {
        describe: () => readFileSync(mergeFile, 'utf8'),
      });
      assert.equal(api.model.get(runId)!.snapshot.conflicts.length, 1, 'a merge that keeps neither step resolved the conflict');
      assert.deepEqual(resolvedEvents(api, runId), []);
    });

    it("Resolve… takes a step's version and closes the conflict's tabs", async () => {
      await vscode.commands.executeCommand('tappsFlow.resolveConflict', node, 'take:new-server');
      await waitFor('the conflict to be resolved', () => api.model.get(runId)!.snapshot.conflicts.length === 0);
      const snapshot = api.model.get(runId)!.snapshot;
      assert.equal(snapshot.status, 'succeeded');
      assert.match(await blobText(snapshot.aggregate!.commit, 'package.json'), /"start": "node services\/api\/server.js"/);
      assert.deepEqual(
        resolvedEvents(api, runId).map((e) => [e.path, e.resolution]),
        [['package.json', 'take new-server']],
      );
      await waitFor(
        "the conflict's tabs to close",
        () =>
          !allTabs().some(
            (t) =>
              (t.input instanceof vscode.TabInputTextDiff && queryOf(t.input.modified).run === runId) ||
              (t.input instanceof vscode.TabInputText && samePath(t.input.uri.fsPath, mergeFile)),
          ),
        { describe: describeTabs },
      );
    });
  });
});
