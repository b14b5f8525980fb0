// Workflow files in the Problems panel: the engine's own validation, at the exact positions.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { waitFor } from './helpers/poll';
import { tappsFlowApi } from './helpers/tappsFlow';
import { workflowUri } from './helpers/workspace';

const ours = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Tapps Flow');
const at = (d: vscode.Diagnostic) =>
  `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.line + 1}:${d.range.end.character + 1}`;

describe('workflow diagnostics', () => {
  before(async () => {
    await tappsFlowApi();
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opening a workflow file with errors shows each error at its exact position', async () => {
    const uri = workflowUri('broken.yaml');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const diagnostics = await waitFor('two Tapps Flow diagnostics on broken.yaml', () => (ours(uri).length === 2 ? ours(uri) : undefined), {
      describe: () => JSON.stringify(vscode.languages.getDiagnostics(uri).map((d) => `${at(d)} ${d.message}`)),
    });
    const [parallel, agent] = [...diagnostics].sort((a, b) => a.range.start.line - b.range.start.line);
    // `    max_parallel: 12` on line 6: the range is the value, columns 19-21.
    assert.equal(at(parallel), '6:19-6:21');
    assert.equal(doc.getText(parallel.range), '12');
    assert.match(parallel.message, /max_parallel: expected a whole number from 1 to 8.*got the number 12/);
    assert.equal(parallel.severity, vscode.DiagnosticSeverity.Error);
    // `      agent: robot` on line 9.
    assert.equal(at(agent), '9:14-9:19');
    assert.equal(doc.getText(agent.range), 'robot');
    assert.match(agent.message, /unknown agent "robot"/);
  });

  it('a TappsCodingAgents file in the older layout is a workflow file: it loads, with a warning where a key is kept but not used', async () => {
    const uri = workflowUri('older-layout.yaml');
    const found = await vscode.commands.executeCommand<number>('tappsFlow.validateWorkflow', uri);
    assert.equal(found, 0, 'a warning is not a problem: the file runs as it is');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const warnings = await waitFor('a Tapps Flow warning on older-layout.yaml', () => (ours(uri).length > 0 ? ours(uri) : undefined), {
      describe: () => JSON.stringify(vscode.languages.getDiagnostics(uri).map((d) => `${at(d)} ${d.message}`)),
    });
    assert.ok(
      warnings.every((d) => d.severity === vscode.DiagnosticSeverity.Warning),
      warnings.map((d) => `${d.severity} ${d.message}`).join('; '),
    );
    assert.ok(
      warnings.some((d) => d.range.start.line === 14 && /repeats: true.*not honoured/.test(d.message)),
      warnings.map((d) => `${at(d)} ${d.message}`).join('; '),
    );
  });

  it('updates the entries as the file is edited', async () => {
    const uri = workflowUri('broken.yaml');
    const doc = await vscode.workspace.openTextDocument(uri);
    const edit = new vscode.WorkspaceEdit();
    const line = doc.lineAt(5);
    edit.replace(uri, new vscode.Range(5, line.text.indexOf('12'), 5, line.text.indexOf('12') + 2), '4');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const left = await waitFor('one diagnostic left after the fix', () => (ours(uri).length === 1 ? ours(uri) : undefined), {
      describe: () => JSON.stringify(ours(uri).map((d) => `${at(d)} ${d.message}`)),
    });
    assert.equal(at(left[0]), '9:14-9:19');
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitFor('both diagnostics back after the revert', () => ours(uri).length === 2);
  });

  it('Validate Workflow File counts the problems: none in review.yaml, two in broken.yaml', async () => {
    const valid = workflowUri('review.yaml');
    assert.equal(await vscode.commands.executeCommand('tappsFlow.validateWorkflow', valid), 0);
    assert.deepEqual(ours(valid), []);
    assert.equal(await vscode.commands.executeCommand('tappsFlow.validateWorkflow', workflowUri('broken.yaml')), 2);
  });
});
