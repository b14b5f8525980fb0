import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { WorkflowError, type WorkflowIssue } from '../core/util/errors';
import { engine } from './lazyEngine';
import { readDefaults } from './settings';
import { looksLikeWorkflow } from './workflowFiles';

/**
 * Validates workflow files as they are edited, with the engine's own checks: Problems entries at
 * the exact positions the validation reports.
 */
export class WorkflowDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('tapps-flow');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly initial: NodeJS.Timeout;
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => void this.validate(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => this.collection.delete(d.uri)),
    );
    // After activation returns: validating loads the engine, which activation need not wait for.
    this.initial = setTimeout(() => {
      for (const d of vscode.workspace.textDocuments) void this.validate(d);
    }, 0);
  }

  private schedule(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        void this.validate(doc);
      }, 300),
    );
  }

  /** Validates one document; returns the number of problems (0 for non-workflow files). */
  validate(doc: vscode.TextDocument): Promise<number> {
    if (doc.uri.scheme !== 'file' || !/\.ya?ml$/.test(doc.uri.path) || !looksLikeWorkflow(doc.getText())) {
      this.collection.delete(doc.uri);
      return Promise.resolve(0);
    }
    const root = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath ?? path.dirname(doc.uri.fsPath);
    // The files on disk stand in for the run's base: a required path must exist or be created.
    const baseContains = (p: string) => existsSync(path.join(root, p));
    const diagnostic = (issue: WorkflowIssue, severity: vscode.DiagnosticSeverity) => {
      const start = new vscode.Position(Math.max(0, issue.line - 1), Math.max(0, issue.column - 1));
      const range = doc.getWordRangeAtPosition(start, /[^\s:,[\]{}]+/) ?? new vscode.Range(start, start.translate(0, 1));
      const d = new vscode.Diagnostic(range, issue.message, severity);
      d.source = 'Tapps Flow';
      return d;
    };
    try {
      const loaded = engine().parseWorkflow(doc.getText(), vscode.workspace.asRelativePath(doc.uri), {
        baseContains,
        configuredAgents: readDefaults(doc.uri).agents,
      });
      // Keys kept but not used, gates not honoured: the file runs as it is, and says so.
      this.collection.set(
        doc.uri,
        loaded.warnings.map((w) => diagnostic(w, vscode.DiagnosticSeverity.Warning)),
      );
      return Promise.resolve(0);
    } catch (error) {
      if (!WorkflowError.is(error)) throw error;
      const diagnostics = error.issues.map((issue) => diagnostic(issue, vscode.DiagnosticSeverity.Error));
      this.collection.set(doc.uri, diagnostics);
      return Promise.resolve(diagnostics.length);
    }
  }

  dispose(): void {
    clearTimeout(this.initial);
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}
