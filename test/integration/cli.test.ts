// Runs started by the CLI, in another process: the editor shows them (it watches the state
// folder) and cancels them through a request the owning process picks up.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import { waitFor } from './helpers/poll';
import { cancelActiveRuns, describeRun, extensionId, tappsFlowApi, viewRun, waitForRunEnd, waitForRunningSteps } from './helpers/tappsFlow';
import { processAlive, workspaceRoot } from './helpers/workspace';

describe('runs of the CLI', () => {
  let api: TappsFlowApi;
  let cli: ChildProcess | undefined;
  let exit: Promise<number | null>;
  let output = '';
  before(async () => {
    api = await tappsFlowApi();
  });
  after(async () => {
    // After a failure: the CLI stops its steps on a cancel request, or on SIGINT as in a terminal.
    await cancelActiveRuns(api).catch(() => undefined);
    if (cli?.exitCode === null) cli.kill('SIGINT');
  });

  it('shows a run the CLI started, live, and cancels it from the editor', async () => {
    const project = vscode.extensions.getExtension(extensionId)!.extensionPath;
    const runId = `cli-slow-${Date.now()}`;
    // The extension host's own Node runs the CLI bundle, as a terminal would.
    cli = spawn(process.execPath, [path.join(project, 'dist', 'cli.js'), 'run', 'workflows/slow.yaml', '--run-id', runId], {
      cwd: workspaceRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cli.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    cli.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exit = new Promise((resolve) => cli!.once('exit', (code) => resolve(code)));

    const pids = await waitForRunningSteps(api, runId, ['slow-a', 'slow-b']);
    const view = await waitFor('the CLI run in the tree, running', () => {
      const v = viewRun(api, runId);
      return v?.status === 'running' && v.steps.filter((s) => s.status === 'running').length === 2 ? v : undefined;
    });
    assert.equal(view.label, 'Slow steps');
    assert.equal(api.model.get(runId)!.live, undefined, 'the editor does not own a CLI run');
    assert.equal(api.tree.getChildren()[0]?.runId, runId, 'the newest run is listed first');

    const asked = Date.now();
    await vscode.commands.executeCommand('tappsFlow.cancelRun', { kind: 'run', runId });
    const final = await waitForRunEnd(api, runId, 15_000);
    assert.equal(final.status, 'cancelled', describeRun(final));
    for (const id of ['slow-a', 'slow-b']) assert.equal(final.steps.find((s) => s.stepId === id)!.status, 'cancelled');
    assert.equal(await exit, 130, `the CLI's exit code (130: cancelled); it printed:\n${output}`);
    for (const [id, pid] of pids) assert.equal(processAlive(pid), false, `${id}'s process ${pid} outlived the cancel`);
    // The owner polls for requests every half second: the whole cancel takes a few seconds at most.
    assert.ok(Date.now() - asked < 10_000, `the cancel took ${Date.now() - asked} ms`);
  });

  it('follows a CLI run whose state never stops changing: the editor reloads it at least once a second', async () => {
    const project = vscode.extensions.getExtension(extensionId)!.extensionPath;
    const runId = `cli-chatty-${Date.now()}`;
    const child = spawn(process.execPath, [path.join(project, 'dist', 'cli.js'), 'run', 'workflows/chatty.yaml', '--run-id', runId], {
      cwd: workspaceRoot(),
      stdio: 'ignore',
    });
    const ended = new Promise((resolve) => child.once('exit', resolve));
    const seen = new Set<string>();
    await waitFor(
      'the chatty run to end',
      () => {
        const snapshot = api.model.get(runId)?.snapshot;
        const step = snapshot?.steps[0];
        if (step?.status === 'running' && step.progress) seen.add(step.progress.message);
        return snapshot !== undefined && snapshot.status !== 'running';
      },
      { timeoutMs: 30_000 },
    );
    await ended;
    // Debounced without a maximum wait, no reload happened until the events paused: at the end.
    assert.ok(seen.size >= 2, `progress seen while the run went on: ${[...seen].join(', ') || 'none'}`);
  });
});
