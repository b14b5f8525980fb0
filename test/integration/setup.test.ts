// The setup phase in the editor: steps shown setting up, each with the ports it leased.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TappsFlowApi } from '../../src/host/activate';
import { waitFor } from './helpers/poll';
import { describeRun, runWorkflow, tappsFlowApi, viewRun, waitForRunEnd } from './helpers/tappsFlow';
import { blobText, workflowUri, workspaceRoot } from './helpers/workspace';

describe('setting up step worktrees', () => {
  let api: TappsFlowApi;
  before(async () => {
    api = await tappsFlowApi();
  });

  it('shows each step setting up with its own port, then the run ends with what the steps did and nothing of the setup', async () => {
    const runId = await runWorkflow(workflowUri('set-up.yaml'));
    const setting = await waitFor(
      'both steps shown setting up, each with a port',
      () => {
        const view = viewRun(api, runId);
        const steps = view?.steps ?? [];
        return steps.length === 2 && steps.every((s) => s.status === 'setting_up' && /port \d+/.test(s.description)) ? steps : undefined;
      },
      { timeoutMs: 30_000, describe: () => describeRun(viewRun(api, runId)) },
    );
    for (const s of setting) {
      assert.match(s.description, /^setting up · /);
      assert.equal(s.icon, 'gear~spin');
    }
    const ports = setting.map((s) => Number(/port (\d+)/.exec(s.description)![1]));
    assert.notEqual(ports[0], ports[1]);
    assert.match(viewRun(api, runId)!.description, /^2 setting up/);
    writeFileSync(path.join(workspaceRoot(), '..', 'setup-go'), '');
    const final = await waitForRunEnd(api, runId);
    assert.equal(final.status, 'succeeded', describeRun(final));
    for (const s of final.steps) assert.doesNotMatch(s.description, /port/);
    const snapshot = api.model.get(runId)!.snapshot;
    const aggregate = snapshot.aggregate!.commit;
    assert.deepEqual(
      [(await blobText(aggregate, 'first.txt')).trim(), (await blobText(aggregate, 'second.txt')).trim()],
      ports.map(String),
    );
    assert.deepEqual(
      snapshot.steps.map((s) => s.changed),
      [['first.txt'], ['second.txt']],
      'the file the setup wrote is in no result',
    );
  });
});
