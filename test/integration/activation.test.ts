// The extension loads and activates in a real VS Code (code-server's extension host).
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { samePath } from '../../src/core/util/paths';

const extensionId = 'tapps.tapps-flow';

describe('activation', () => {
  it('activates the extension', async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension, `${extensionId} is not loaded in the test host`);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it('runs in a real VS Code', () => {
    assert.ok(vscode.env.appName, 'vscode.env.appName is empty');
  });

  it('opens the temporary git repository as the workspace', () => {
    const expected = process.env.TAPPS_TEST_WORKSPACE;
    assert.ok(expected, 'TAPPS_TEST_WORKSPACE is not set in the extension host');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    // Windows: VS Code spells the drive letter in lower case (d:\…), the harness as given (D:\…).
    assert.ok(folder !== undefined && samePath(folder, expected), `the workspace folder is ${folder}, not ${expected}`);
    assert.ok(existsSync(path.join(expected, '.git')), `${expected} is not a git repository`);
  });
});
