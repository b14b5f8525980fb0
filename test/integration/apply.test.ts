// Apply Result: the run's result reaches the working tree, or nothing changes at all when it must refuse.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import type { RunsNode } from '../../src/host/runsTree';
import { waitFor } from './helpers/poll';
import { inlineCommandsFor, runWorkflow, tappsFlowApi, viewRun, waitForRunEnd } from './helpers/tappsFlow';
import { blobText, git, readText, resetWorkingTree, workflowUri, workingTreeSnapshot, workspaceRoot } from './helpers/workspace';

function apply(runId: string): Thenable<readonly string[] | undefined> {
  const node: RunsNode = { kind: 'run', runId };
  return vscode.commands.executeCommand<readonly string[] | undefined>('tappsFlow.applyResult', node);
}

function write(file: string, text: string): void {
  writeFileSync(path.join(workspaceRoot(), file), text);
}

describe('applying a result', () => {
  let api: TappsFlowApi;
  before(async () => {
    api = await tappsFlowApi();
  });
  afterEach(resetWorkingTree);

  it('refuses a run with unresolved conflicts and changes no file', async () => {
    const runId = await runWorkflow(workflowUri('conflicting.yaml'));
    assert.equal((await waitForRunEnd(api, runId)).status, 'conflicted');
    const before = workingTreeSnapshot();
    assert.equal(await apply(runId), undefined);
    assert.deepEqual(workingTreeSnapshot(), before);
    assert.equal(await git('status', '--porcelain'), '');

    // Once the conflict is resolved (the later step's version), the same command applies it.
    const conflictNode: RunsNode = { kind: 'conflict', runId, index: 0 };
    await vscode.commands.executeCommand('tappsFlow.resolveTakeTheirs', conflictNode);
    await waitFor('the Conflicts node to go', () => !viewRun(api, runId)!.childKinds.includes('conflicts'));
    const changed = await apply(runId);
    assert.deepEqual(changed, ['services/api/index.js', 'services/auth/index.js']);
    const aggregate = api.model.get(runId)!.snapshot.aggregate!.commit;
    for (const file of changed) assert.equal(readText(file), await blobText(aggregate, file), `${file} on disk differs from the result`);
    assert.match(readText('services/auth/index.js'), /user and password are needed/);
  });

  it('refuses when an edit made since the run clashes with the result, and changes no file', async () => {
    const runId = await runWorkflow(workflowUri('review.yaml'));
    assert.equal((await waitForRunEnd(api, runId)).status, 'succeeded');
    // The run sets scripts["review:auth"] in package.json (a json-policy file); so does the user,
    // to another value: the same key two ways clashes, where an edit to another key would merge.
    const pkg = JSON.parse(readText('package.json')) as { scripts: Record<string, string> };
    pkg.scripts['review:auth'] = 'echo my own review';
    write('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
    const before = workingTreeSnapshot();
    assert.equal(await apply(runId), undefined);
    assert.deepEqual(workingTreeSnapshot(), before);
  });

  it('applies a succeeded run: the files on disk become the result, edits that do not clash stay, the index is untouched', async () => {
    const runId = await runWorkflow(workflowUri('review.yaml'));
    const run = await waitForRunEnd(api, runId);
    assert.equal(run.status, 'succeeded');
    assert.ok(inlineCommandsFor(run.contextValue).includes('tappsFlow.applyResult'), `no Apply button on "${run.contextValue}"`);
    const myEdit = `${readText('services/payment/index.js')}// a note of my own\n`;
    write('services/payment/index.js', myEdit);
    const changed = await apply(runId);
    assert.deepEqual(changed, [
      'CHANGELOG.md',
      'REVIEW-SUMMARY.md',
      'package.json',
      'services/api/review-report.json',
      'services/auth/review-report.json',
      'services/payment/review-report.json',
    ]);
    const aggregate = api.model.get(runId)!.snapshot.aggregate!.commit;
    for (const file of changed) assert.equal(readText(file), await blobText(aggregate, file), `${file} on disk differs from the result`);
    assert.equal(readText('services/payment/index.js'), myEdit);
    assert.match(readText('REVIEW-SUMMARY.md'), /^# Review summary/);
    assert.equal(await git('diff', '--cached', '--name-only'), '', 'apply staged something');

    // Applying again finds nothing to change.
    assert.deepEqual(await apply(runId), []);
  });
});
