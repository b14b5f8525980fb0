// Checks of the ui pass (scripts/vscode/uiTest.mjs runs them in the same workbench, driven with
// the mouse): what a user does with a run once it has ended, where the answer is a modal dialog
// (the workbench refuses dialogs while extension tests run, so the main suite stops short of them).
//   - A failed run is announced with Show Log; its inline Apply asks first, since the result
//     lacks the failed step: Cancel writes nothing, Apply Partial Result writes the other step's work.
//   - Delete Run… from the run's context menu asks, then removes the run from the view and disk.
// Each check leaves the workspace's files as it found them.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { workbench } from './workbench.mjs';

const HALF_DONE = 'Half done';

/**
 * @param {object} ui what uiTest.mjs drives the workbench with
 * @param {import('playwright-core').Page} ui.page
 * @param {string} ui.workspace the folder the workbench has open
 * @param {(page: import('playwright-core').Page, text: string) => import('playwright-core').Locator} ui.treeRow
 * @param {(page: import('playwright-core').Page, file: string) => Promise<void>} ui.runFromPalette
 * @param {(row: import('playwright-core').Locator, title: string) => Promise<void>} ui.clickInlineAction
 * @returns {Array<[string, () => Promise<void>]>} the checks, in order
 */
export function runActionChecks({ page, workspace, treeRow, runFromPalette, clickInlineAction }) {
  const { file, git, dialog, dialogButton, collapseAll, until, seeNotification, contextMenu, assert, assertClean } = workbench({
    page,
    workspace,
  });
  const runsDir = file('.tapps-agents/workflow-state');
  let runId;

  return [
    [
      'runs workflows/half-done.yaml: the failed run is announced with Show Log, and its row says what failed',
      async () => {
        assertClean('before the run');
        await collapseAll();
        await runFromPalette(page, 'workflows/half-done.yaml');
        await treeRow(page, HALF_DONE).filter({ hasText: 'failed, partial' }).waitFor({ state: 'visible' });
        await treeRow(page, 'writes-then-fails').filter({ hasText: 'worktree kept' }).waitFor({ state: 'visible' });
        await seeNotification('Half done failed: step writes-then-fails failed', 'Show Log');
        const runs = git('for-each-ref', '--format=%(refname)', 'refs/tapps-flow/runs/')
          .split('\n')
          .filter((r) => r.endsWith('/steps/fine'));
        runId = runs.map((r) => r.split('/')[3]).find((id) => existsSync(path.join(runsDir, id)));
        assert(runId, 'no run of half-done.yaml with a result of "fine"');
      },
    ],
    [
      'Apply Result on the partial result asks first; Cancel writes nothing',
      async () => {
        await clickInlineAction(treeRow(page, HALF_DONE), 'Apply Result');
        await dialog.filter({ hasText: 'Apply a partial result of Half done?' }).waitFor({ state: 'visible' });
        await dialog.filter({ hasText: 'writes-then-fails (failed)' }).waitFor({ state: 'visible' });
        await dialogButton('Cancel').click();
        await dialog.waitFor({ state: 'hidden' });
        await sleep(1000);
        assert(!existsSync(file('fine.txt')), 'Cancel applied the result');
        assertClean('after Cancel');
      },
    ],
    [
      "Apply Result, then Apply Partial Result: the other step's work is written, the failed step's is not",
      async () => {
        await clickInlineAction(treeRow(page, HALF_DONE), 'Apply Result');
        await dialogButton('Apply Partial Result').click();
        await dialog.waitFor({ state: 'hidden' });
        try {
          await until('fine.txt to be written', () => existsSync(file('fine.txt')));
          assert(readFileSync(file('fine.txt'), 'utf8') === 'fine\n', 'fine.txt is not what the step wrote');
          assert(!existsSync(file('half.txt')), "the failed step's work was applied");
        } finally {
          rmSync(file('fine.txt'), { force: true });
        }
        assertClean('after removing the applied file');
      },
    ],
    [
      "Delete Run… from the run's context menu asks, then the run is gone from the view and from disk",
      async () => {
        await contextMenu(treeRow(page, HALF_DONE), 'Delete Run…');
        await dialog.filter({ hasText: 'Delete the run of Half done started' }).waitFor({ state: 'visible' });
        await dialogButton('Cancel').click();
        await dialog.waitFor({ state: 'hidden' });
        assert(existsSync(path.join(runsDir, runId)), 'Cancel deleted the run');
        await contextMenu(treeRow(page, HALF_DONE), 'Delete Run…');
        await dialogButton('Delete Run').click();
        await dialog.waitFor({ state: 'hidden' });
        await treeRow(page, HALF_DONE).waitFor({ state: 'detached' });
        await until('the run folder to be removed', () => !existsSync(path.join(runsDir, runId)));
        assert(git('for-each-ref', `refs/tapps-flow/runs/${runId}/`) === '', "the run's refs are left");
        assert(git('for-each-ref', `refs/tapps-flow/archive/${runId}/`) !== '', "the failed step's uncaptured work was not saved");
        assertClean('after Delete Run');
      },
    ],
  ];
}
