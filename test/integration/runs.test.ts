// A workflow run from the command, as the palette runs it, and the Runs tree following it.
import * as assert from 'node:assert/strict';
import type * as vscode from 'vscode';
import type { TappsFlowApi } from '../../src/host/activate';
import { waitFor } from './helpers/poll';
import { runWorkflow, tappsFlowApi, viewItem, viewRun, waitForRunEnd, type RunView } from './helpers/tappsFlow';
import { workflowUri } from './helpers/workspace';

const ORDER = ['pending', 'queued', 'running', 'succeeded'];

describe('running a workflow', () => {
  let api: TappsFlowApi;
  before(async () => {
    api = await tappsFlowApi();
  });

  it('runs workflows/review.yaml from the command and the tree follows it to succeeded', async () => {
    // Samples the tree whenever it says it changed, whenever the engine reports an event of the
    // run, and every 20 ms: each sample is what a user would have seen at that moment.
    const samples: RunView[] = [];
    let runId: string | undefined;
    const sample = () => {
      const view = runId ? viewRun(api, runId) : undefined;
      if (view) samples.push(view);
    };
    const subscriptions: vscode.Disposable[] = [api.tree.onDidChangeTreeData(sample)];
    const timer = setInterval(sample, 20);
    try {
      runId = await runWorkflow(workflowUri('review.yaml'));
      assert.match(runId, /^[A-Za-z0-9][A-Za-z0-9._-]*$/);
      const live = await waitFor('the run to be tracked as live', () => api.model.get(runId!)?.live);
      subscriptions.push(live.onDidEvent(sample));
      sample();
      const final = await waitForRunEnd(api, runId);

      // The newest run is listed first.
      assert.equal(api.tree.getChildren()[0]?.runId, runId);
      assert.equal(final.label, 'Review three services');
      assert.equal(final.status, 'succeeded');
      assert.match(final.description, /^succeeded · \d/);
      assert.equal(final.icon, 'pass-filled');
      assert.match(final.contextValue, /^run\.succeeded\.result/);
      assert.deepEqual(final.childKinds, ['step', 'step', 'step', 'step'], 'a run without conflicts has no Conflicts node');

      // While it ran, the run's description showed live counts, then its terminal state.
      const live1 = samples.find((v) => v.status === 'running' && / running/.test(v.description));
      assert.ok(live1, `no sample showed live counts; descriptions seen: ${[...new Set(samples.map((v) => v.description))].join(' | ')}`);
      assert.match(live1.description, /^\d+ (running|queued|pending|done)( · \d+ (running|queued|pending|done))* · [\d.]+s · /);
      assert.equal(live1.icon, 'sync~spin');
      const firstTerminal = samples.findIndex((v) => v.status !== 'running');
      assert.ok(
        samples.slice(firstTerminal).every((v) => v.status === 'succeeded'),
        'the run went back from succeeded',
      );

      // Each step: seen waiting or running before it succeeded, never going backwards.
      const ids = final.steps.map((s) => s.stepId);
      assert.deepEqual(ids, ['auth-review', 'api-review', 'payment-review', 'summary']);
      for (const id of ids) {
        const statuses = samples.map((v) => v.steps.find((s) => s.stepId === id)!.status);
        const ranks = statuses.map((s) => ORDER.indexOf(s));
        assert.ok(
          ranks.every((r) => r >= 0),
          `${id}: unexpected status in ${statuses.join(' → ')}`,
        );
        assert.ok(
          ranks.every((r, i) => i === 0 || r >= ranks[i - 1]),
          `${id} went backwards: ${[...new Set(statuses)].join(' → ')}`,
        );
        assert.ok(ranks[0] < ORDER.indexOf('succeeded'), `${id} was never seen before it succeeded`);
        assert.equal(statuses.at(-1), 'succeeded');
      }
      // The reviews run side by side (each reads its files for 400 ms); the summary waits for them.
      // (All three at once is the rule, but a slow machine may start the third after the first ended.)
      const reviewsRunning = (v: RunView) => v.steps.slice(0, 3).filter((s) => s.status === 'running').length;
      const sideBySide = samples.reduce((best, v) => (reviewsRunning(v) > reviewsRunning(best) ? v : best), samples[0]);
      assert.ok(reviewsRunning(sideBySide) >= 2, 'no two review steps were ever seen running at the same time');
      assert.equal(sideBySide.steps[3].status, 'pending', 'the summary step started before the reviews ended');
      assert.ok(
        sideBySide.steps.filter((s) => s.status === 'running').every((s) => s.icon === 'loading~spin'),
        'a running step shows a spinner',
      );
      // The header counts what the rows show: the summary's row says pending, and so does the header.
      assert.match(
        sideBySide.description,
        new RegExp(`^${reviewsRunning(sideBySide)} running · (\\d+ queued · )?1 pending · (\\d+ done · )?`),
      );
      const summaryRunning = samples.find((v) => v.steps[3].status === 'running');
      assert.ok(summaryRunning, 'the summary step was never seen running');
      assert.ok(summaryRunning.steps.slice(0, 3).every((s) => s.status === 'succeeded'));

      for (const step of final.steps) {
        assert.equal(step.icon, 'pass');
        assert.match(step.description, /^succeeded · [\d.]+s/);
      }
      // Under a step: its log, then the files it changed.
      const auth = api.tree.getChildren(final.steps[0].node).map((n) => viewItem(api, n));
      assert.equal(auth[0]?.label, 'Log');
      assert.ok(
        auth.some((c) => c.label === 'services/auth/review-report.json'),
        `auth-review's children: ${auth.map((c) => c.label).join(', ')}`,
      );
    } finally {
      clearInterval(timer);
      for (const s of subscriptions) s.dispose();
    }
  });

  it('a run whose lock is taken away ends with an error, leaves no unhandled rejection, and shows interrupted', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const runId = await runWorkflow(workflowUri('robbed.yaml'));
      const view = await waitFor(
        'the run to show interrupted',
        () => (viewRun(api, runId)?.status === 'interrupted' ? viewRun(api, runId) : undefined),
        {
          timeoutMs: 30_000,
        },
      );
      assert.equal(api.model.get(runId)?.live, undefined, 'the window no longer drives it');
      assert.equal(view.steps[0].status, 'interrupted');
      assert.deepEqual(rejections, [], 'no promise of the run was left unhandled');
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});
