import * as vscode from 'vscode';
import type { RunsModel } from './runsModel';

/** A status-bar item while runs are active; clicking it shows the Runs view. */
export class RunsStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tappsFlow.active', vscode.StatusBarAlignment.Left, 10);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly model: RunsModel) {
    this.item.name = 'Tapps Flow runs';
    this.item.command = 'workbench.view.extension.tappsFlow';
    this.subscription = model.onDidChange(() => this.update());
  }

  private update(): void {
    const active = this.model.active;
    if (active.length === 0) {
      this.item.hide();
      return;
    }
    const running = active.reduce(
      (n, e) => n + e.snapshot.steps.filter((s) => s.status === 'running' || s.status === 'setting_up').length,
      0,
    );
    this.item.text = `$(sync~spin) Tapps Flow: ${active.length} run${active.length === 1 ? '' : 's'}, ${running} step${running === 1 ? '' : 's'} running`;
    this.item.tooltip = active.map((e) => `${e.snapshot.workflow.name} (${e.snapshot.runId})`).join('\n');
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
