// The packaged extension, installed from its .vsix as a user installs it: this suite runs from a
// probe extension (the harness's extensionDevelopmentPath), so Tapps Flow here is the installed copy.
import * as assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../../src/host/activate';
import { waitFor } from '../helpers/poll';
import { extensionId } from '../helpers/tappsFlow';

describe('the installed .vsix', () => {
  const extensionsDir = process.env.TAPPS_TEST_EXTENSIONS_DIR ?? '';

  it('is installed in the extensions folder, not loaded from the project', () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension, `${extensionId} is not installed`);
    assert.ok(extensionsDir, 'TAPPS_TEST_EXTENSIONS_DIR is not set');
    assert.equal(path.dirname(extension.extensionPath), extensionsDir);
    assert.equal(extension.extensionKind, vscode.ExtensionKind.Workspace);
    // What the package holds: the bundle and what it needs, no sources, no dependencies.
    // (vsce stores README, CHANGELOG and LICENSE as readme.md, changelog.md and LICENSE.txt.)
    const top = readdirSync(extension.extensionPath)
      .filter((f) => !f.startsWith('.'))
      .map((f) => f.toLowerCase())
      .sort();
    assert.deepEqual(top, ['changelog.md', 'dist', 'license.txt', 'media', 'package.json', 'readme.md', 'schema']);
    assert.deepEqual(readdirSync(path.join(extension.extensionPath, 'dist')).sort(), ['cli.js', 'engine.js', 'extension.js']);
  });

  it('activates by itself on the workspace (workflows/*.yaml) and exports its API', async () => {
    const extension = vscode.extensions.getExtension<TappsFlowApi>(extensionId)!;
    await waitFor('the installed extension to activate', () => extension.isActive, { timeoutMs: 20_000 });
    const api = extension.exports;
    await api.ready;
    assert.deepEqual(api.model.repoRoots, [process.env.TAPPS_TEST_WORKSPACE]);
    assert.deepEqual(api.tree.getChildren(), []);
  });

  it('registers every command of its manifest', async () => {
    const extension = vscode.extensions.getExtension(extensionId)!;
    const declared = (extension.packageJSON as { contributes: { commands: { command: string }[] } }).contributes.commands.map(
      (c) => c.command,
    );
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      declared.filter((c) => !registered.has(c)),
      [],
    );
    assert.ok(declared.length >= 12);
  });
});
