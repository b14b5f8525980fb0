// The extension's figures for `npm run bench`, measured inside a real VS Code: activation time of
// the bundled extension, and how often the views refresh while eight steps print progress as fast
// as they can. Prints one `BENCH {json}` line that bench/scenarios/extension.ts reads. The
// workspace holds nothing that activates the extension, so that this test activates it itself.
import { strict as assert } from 'node:assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { Git } from '../../../src/core/git/git';
import type { TappsFlowApi } from '../../../src/host/activate';
import { waitFor } from '../helpers/poll';
import { extensionId } from '../helpers/tappsFlow';

const CHATTY_SECONDS = 3;

function chattyWorkflow(): string {
  const print = `node -e "const end = Date.now() + ${CHATTY_SECONDS * 1000}; let i = 0; while (Date.now() < end) { console.log('::progress:: ' + (i % 100) + ' line ' + i); i++; } require('fs').writeFileSync(process.env.TAPPS_STEP_ID + '.txt', String(i))"`;
  const steps = Array.from(
    { length: 8 },
    (_, i) => `    - id: chatty-${i + 1}\n      agent: shell\n      run: ${JSON.stringify(print)}\n`,
  ).join('');
  return `workflow:\n  id: chatty\n  name: Eight chatty steps\n  settings: { max_parallel: 8 }\n  steps:\n${steps}`;
}

describe('bench', function () {
  this.timeout(180_000);

  it('measures activation and tree refreshes', async () => {
    const extension = vscode.extensions.getExtension<TappsFlowApi>(extensionId);
    assert.ok(extension, `extension ${extensionId} is not installed`);
    assert.equal(extension.isActive, false, 'the bench workspace must not activate the extension before the test');
    const started = performance.now();
    const api = await extension.activate();
    const activationMs = performance.now() - started;
    await api.ready;

    const workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const file = path.join(workspace, 'workflows', 'chatty.yaml');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, chattyWorkflow());
    const refreshesBefore = api.model.refreshCount;
    const t0 = performance.now();
    const runId = await vscode.commands.executeCommand<string>('tappsFlow.runWorkflow', vscode.Uri.file(file));
    assert.ok(runId, 'the run did not start');
    let firstRunning = 0;
    let lastRunning = 0;
    await waitFor(
      'the chatty run to end',
      () => {
        const status = api.model.get(runId)?.snapshot;
        const running = status?.steps.some((s) => s.status === 'running');
        if (running) {
          firstRunning ||= performance.now();
          lastRunning = performance.now();
        }
        return status && status.status !== 'running' ? status : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 20 },
    );
    const seconds = (performance.now() - t0) / 1000;
    const refreshes = api.model.refreshCount - refreshesBefore;
    const entry = api.model.get(runId)!;
    const events = (await readFile(path.join(entry.dir, 'events.jsonl'), 'utf8')).trim().split('\n');
    const progressEvents = events.filter((l) => l.includes('"step_progress"')).length;
    assert.equal(entry.snapshot.status, 'succeeded');
    // Each step wrote how many lines it printed; the files are in the run's aggregate.
    const git = new Git(entry.repoRoot);
    const printed = await Promise.all(
      entry.snapshot.steps.map((s) => git.run(['show', `${entry.snapshot.aggregate!.commit}:${s.id}.txt`])),
    );
    const result = {
      activationMs,
      bundleLoadMs: api.timings.loadMs,
      activateFunctionMs: api.timings.activateMs,
      hostGapMs: api.timings.hostGapMs,
      seconds,
      runningSeconds: (lastRunning - firstRunning) / 1000,
      refreshes,
      refreshesPerSecond: refreshes / seconds,
      progressEvents,
      progressLinesPrinted: printed.reduce((n, t) => n + Number(t), 0),
    };
    console.log(`BENCH ${JSON.stringify(result)}`);
  });
});
