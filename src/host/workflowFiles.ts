import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';

/**
 * Whether YAML text is a workflow file: a top-level `workflow:` key, or the older layout of
 * TappsCodingAgents' files, the workflow's own keys at the top (`id:` and `steps:`).
 */
export function looksLikeWorkflow(text: string): boolean {
  return /^workflow\s*:/m.test(text) || (/^id\s*:/m.test(text) && /^steps\s*:/m.test(text));
}

/**
 * The workspace's workflow files: YAML under `workflows/` or `.tapps-agents/workflows/`, and any
 * YAML file with a top-level `workflow:`.
 */
export async function findWorkflowFiles(): Promise<vscode.Uri[]> {
  const found = await vscode.workspace.findFiles(
    '**/*.{yaml,yml}',
    '{**/node_modules/**,**/.git/**,**/.tapps-agents/workflow-state/**}',
    2000,
  );
  const result: vscode.Uri[] = [];
  for (const uri of found) {
    const p = uri.path;
    if (/(^|\/)(\.tapps-agents\/)?workflows\//.test(p)) {
      result.push(uri);
      continue;
    }
    const text = await readFile(uri.fsPath, 'utf8').catch(() => '');
    if (looksLikeWorkflow(text)) result.push(uri);
  }
  return result.sort((a, b) => a.path.localeCompare(b.path));
}

/** Asks for a workflow file with a quick pick; undefined when the user dismissed it. */
export async function pickWorkflowFile(title: string): Promise<vscode.Uri | undefined> {
  const files = await findWorkflowFiles();
  if (files.length === 0) {
    void vscode.window.showInformationMessage(
      'Tapps Flow: no workflow files found. A workflow is a YAML file with a top-level "workflow:" key, usually under workflows/.',
    );
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    files.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
    { title, placeHolder: 'Pick a workflow file' },
  );
  return picked?.uri;
}
