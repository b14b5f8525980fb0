// Steps that run on workers (runner "queue"): the editor shows where each runs, and its cancel
// reaches the worker. A real redis-server, a bare repository as the team remote and two worker
// processes (the CLI's `worker`), each with a folder of its own, as two machines would have.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import { taggedProcesses } from '../../src/core/process/stepProcesses';
import { waitFor } from './helpers/poll';
import { cancelActiveRuns, describeRun, extensionId, runWorkflow, tappsFlowApi, viewRun, waitForRunEnd } from './helpers/tappsFlow';
import { commandLines, descendantsOf, git, workflowUri } from './helpers/workspace';
import { currentOs } from '../../src/core/process/platform';
import { processTable } from '../../src/core/process/processTable';
import { freePort } from '../unit/helpers/ports';

/**
 * The step's processes on the workers: its `sleep 120` among each worker's descendants (found in
 * the OS's process table, as the cancel suite finds a step's child), and where tags can be read
 * (Linux) every process that carries the run's tag.
 */
function stepProcesses(runId: string, workers: readonly ChildProcess[]): number {
  const table = processTable(currentOs());
  const pids = workers.flatMap((w) => descendantsOf(w.pid!, table).map((e) => e.pid));
  const sleeps = [...commandLines(pids).values()].filter((line) => /(?:^|[\\/\s])sleep(?:\.exe)?\s+120$/.test(line)).length;
  const tagged = currentOs() === 'linux' ? taggedProcesses().filter((t) => t.runId === runId).length : 0;
  return sleeps + tagged;
}

describe('steps on workers', () => {
  let api: TappsFlowApi;
  let folder: string;
  const children: ChildProcess[] = [];
  const workers: ChildProcess[] = [];
  const settings = () => vscode.workspace.getConfiguration('tappsFlow');

  before(async function () {
    if (process.platform === 'win32') this.skip(); // the test's Redis is Debian's package
    api = await tappsFlowApi();
    folder = mkdtempSync(path.join(tmpdir(), 'tapps-flow-workers-'));
    const port = await freePort();
    children.push(
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', folder], {
        stdio: 'ignore',
      }),
    );
    const url = `redis://127.0.0.1:${port}`;
    await waitFor(`redis-server on port ${port}`, () => {
      try {
        return (
          execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' })
            .toString()
            .trim() === 'PONG'
        );
      } catch {
        return undefined;
      }
    });
    const remote = path.join(folder, 'team.git');
    execFileSync('git', ['init', '-q', '--bare', remote]);
    const cli = path.join(vscode.extensions.getExtension(extensionId)!.extensionPath, 'dist', 'cli.js');
    for (const name of ['editor-w1', 'editor-w2']) {
      const worker = spawn(
        process.execPath,
        [cli, 'worker', '--queue', url, '--remote', remote, '--name', name, '--dir', path.join(folder, name)],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      worker.stdout.on('data', (d: Buffer) => (output += d.toString()));
      worker.stderr.on('data', (d: Buffer) => (output += d.toString()));
      children.push(worker);
      workers.push(worker);
      await waitFor(`worker ${name} to be ready`, () => (output.includes('ready:') ? true : undefined), { timeoutMs: 20_000 });
    }
    // The user's own settings: a workspace may not set where the user's work is pushed.
    await settings().update('queueUrl', url, vscode.ConfigurationTarget.Global);
    await settings().update('queueRemote', remote, vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await cancelActiveRuns(api).catch(() => undefined);
    await settings().update('queueUrl', undefined, vscode.ConfigurationTarget.Global);
    await settings().update('queueRemote', undefined, vscode.ConfigurationTarget.Global);
    for (const child of children) child.kill('SIGKILL');
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("shows the worker a step runs on, and Cancel Run stops the step's processes on that worker", async () => {
    const runId = await runWorkflow(workflowUri('on-workers.yaml'));
    const step = await waitFor(
      'the step running on a worker',
      () =>
        viewRun(api, runId)?.steps.find(
          (s) => s.stepId === 'remote-slow' && s.status === 'running' && /on editor-w[12]/.test(s.description),
        ),
      { timeoutMs: 30_000 },
    );
    assert.ok(!step.contextValue.includes('.worktree'), "a worker's worktree is not offered to open here");
    await waitFor("the step's processes on the worker", () => (stepProcesses(runId, workers) > 0 ? true : undefined), {
      timeoutMs: 30_000,
    });
    await vscode.commands.executeCommand('tappsFlow.cancelRun', { kind: 'run', runId });
    const final = await waitForRunEnd(api, runId, 30_000);
    assert.equal(final.status, 'cancelled', describeRun(final));
    await waitFor("the step's processes on the worker to be gone", () => (stepProcesses(runId, workers) === 0 ? true : undefined), {
      timeoutMs: 15_000,
    });
    assert.equal(await git('for-each-ref', `refs/tapps-flow/runs/${runId}/steps/`), '', 'no result');
  });
});
