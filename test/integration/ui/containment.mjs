// Checks of the ui pass (scripts/vscode/uiTest.mjs runs them after its own, in the same
// workbench, driven with the mouse): the modal confirmations of containment, which only a person
// can answer (the workbench refuses to show dialogs while extension tests run, so the main suite's
// containment.test.ts stops short of them).
//   - Restore My Files on the warning node of a run whose steps wrote into the checkout: Cancel
//     changes nothing; Restore puts the files back byte for byte and the node says so.
//   - Apply Result on a run whose result links out of the repository: the modal names the link;
//     Cancel writes nothing; Apply with the Symlinks writes it.
// Each check leaves the workspace's files as it found them.
import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { workbench } from './workbench.mjs';

const ESCAPING = 'Steps that write into your checkout';
const SYMLINKED = 'A step that links out of the repository';
const CREATED = 'escaped-by-step.txt';
const EDITED = 'CHANGELOG.md';

/**
 * @param {object} ui what uiTest.mjs drives the workbench with
 * @param {import('playwright-core').Page} ui.page
 * @param {string} ui.workspace the folder the workbench has open
 * @param {(page: import('playwright-core').Page, text: string) => import('playwright-core').Locator} ui.treeRow
 * @param {(page: import('playwright-core').Page, file: string) => Promise<void>} ui.runFromPalette
 * @param {(row: import('playwright-core').Locator, title: string) => Promise<void>} ui.clickInlineAction
 * @returns {Array<[string, () => Promise<void>]>} the checks, in order; each starts where the previous one left the workbench
 */
export function containmentChecks({ page, workspace, treeRow, runFromPalette, clickInlineAction }) {
  const { file, git, dialog, dialogButton, collapseAll, until, seeNotification, assert, assertClean } = workbench({ page, workspace });

  /** The tracked file's bytes before the run: what Restore must bring back. */
  let original;
  /** Its bytes after the step appended to it. */
  let escapedBytes;

  return [
    [
      'runs workflows/escaping.yaml and sees, first under the run, what its steps wrote into the checkout',
      async () => {
        assertClean('before the run');
        original = readFileSync(file(EDITED));
        await collapseAll();
        await runFromPalette(page, 'workflows/escaping.yaml');
        await treeRow(page, ESCAPING).filter({ hasText: 'escaped · succeeded' }).waitFor({ state: 'visible' });
        const warning = treeRow(page, 'Wrote Outside Its Worktrees (2)');
        await warning.waitFor({ state: 'visible' });
        await treeRow(page, CREATED).filter({ hasText: 'file · added · create-outside' }).waitFor({ state: 'visible' });
        await treeRow(page, EDITED).filter({ hasText: 'file · modified · edit-tracked' }).waitFor({ state: 'visible' });
        // The warning node is the run's first child: the row right under the run's (rows are
        // positioned by their index, not by their order in the DOM).
        const runIndex = Number(await treeRow(page, ESCAPING).getAttribute('data-index'));
        const below = page.locator(`.part.sidebar .monaco-list-row[role="treeitem"][data-index="${runIndex + 1}"]`);
        const belowText = await below.innerText();
        assert(belowText.includes('Wrote Outside Its Worktrees'), `the row under the run is not the warning node: ${belowText}`);
        // The run's end is announced with the same offer.
        await seeNotification("landed outside the steps' worktrees", 'Restore My Files');
        assert(readFileSync(file(CREATED), 'utf8') === 'escaped\n', `${CREATED} is not what the step wrote`);
        escapedBytes = readFileSync(file(EDITED));
        assert(escapedBytes.equals(Buffer.concat([original, Buffer.from('- edited by a step\n')])), `${EDITED} is not what the step left`);
      },
    ],
    [
      'Restore My Files on the warning node asks what it will do; Cancel changes nothing',
      async () => {
        await clickInlineAction(treeRow(page, 'Wrote Outside Its Worktrees'), 'Restore My Files');
        await dialog
          .filter({ hasText: `put back 1 file as it was before (${EDITED}) and delete 1 file the steps created (${CREATED})?` })
          .waitFor({ state: 'visible' });
        await dialogButton('Cancel').click();
        await dialog.waitFor({ state: 'hidden' });
        assert(existsSync(file(CREATED)), `Cancel deleted ${CREATED}`);
        assert(readFileSync(file(EDITED)).equals(escapedBytes), `Cancel changed ${EDITED}`);
        // Still offered: nothing was restored.
        await treeRow(page, 'Wrote Outside Its Worktrees').hover();
        await treeRow(page, 'Wrote Outside Its Worktrees')
          .locator('.actions .action-label[aria-label^="Restore My Files"]')
          .waitFor({ state: 'visible' });
      },
    ],
    [
      'Restore My Files, then Restore: the created file is gone, the tracked one has its bytes back, the node says restored',
      async () => {
        await clickInlineAction(treeRow(page, 'Wrote Outside Its Worktrees'), 'Restore My Files');
        await dialog.filter({ hasText: `delete 1 file the steps created (${CREATED})` }).waitFor({ state: 'visible' });
        await dialogButton('Restore').click();
        await dialog.waitFor({ state: 'hidden' });
        await until(
          `${CREATED} to be deleted and ${EDITED} restored`,
          () => !existsSync(file(CREATED)) && readFileSync(file(EDITED)).equals(original),
        );
        assertClean('after Restore');
        await treeRow(page, CREATED).filter({ hasText: 'file · added · create-outside · restored' }).waitFor({ state: 'visible' });
        await treeRow(page, EDITED).filter({ hasText: 'file · modified · edit-tracked · restored' }).waitFor({ state: 'visible' });
        await seeNotification('restored 2 files of run');
        // Nothing left to restore: the node keeps its warning (the run did escape) without the button.
        await treeRow(page, 'Wrote Outside Its Worktrees (2)').hover();
        await treeRow(page, 'Wrote Outside Its Worktrees')
          .locator('.actions .action-label[aria-label^="Restore My Files"]')
          .waitFor({ state: 'detached' });
        await treeRow(page, ESCAPING).filter({ hasText: 'escaped · succeeded' }).waitFor({ state: 'visible' });
      },
    ],
    [
      'runs workflows/symlinked.yaml and sees the link under Needs Your Eye',
      async () => {
        await collapseAll();
        await runFromPalette(page, 'workflows/symlinked.yaml');
        await treeRow(page, SYMLINKED).filter({ hasText: 'succeeded' }).waitFor({ state: 'visible' });
        await treeRow(page, 'Needs Your Eye (1)').waitFor({ state: 'visible' });
        await treeRow(page, 'leak').filter({ hasText: 'symlink out of the repository · link-out' }).waitFor({ state: 'visible' });
      },
    ],
    [
      'Apply Result shows a modal naming the link and its target; Cancel writes nothing',
      async () => {
        await clickInlineAction(treeRow(page, SYMLINKED), 'Apply Result');
        await dialog.filter({ hasText: 'holds a symbolic link pointing outside the repository' }).waitFor({ state: 'visible' });
        await dialog.filter({ hasText: 'leak → /etc/passwd' }).waitFor({ state: 'visible' });
        await dialog.filter({ hasText: 'Nothing has been written yet.' }).waitFor({ state: 'visible' });
        assert(!isLink(file('leak')), 'the link was written before the answer');
        await dialogButton('Cancel').click();
        await dialog.waitFor({ state: 'hidden' });
        // Apply runs in the extension host after the dialog closes: give a write the time to show.
        await sleep(1000);
        assert(!isLink(file('leak')), 'Cancel wrote the link');
        assertClean('after Cancel');
      },
    ],
    [
      'Apply Result, then Apply with the Symlinks: the link is written as the result has it',
      async () => {
        await clickInlineAction(treeRow(page, SYMLINKED), 'Apply Result');
        await dialog.filter({ hasText: 'leak → /etc/passwd' }).waitFor({ state: 'visible' });
        await dialogButton('Apply with the Symlinks').click();
        await dialog.waitFor({ state: 'hidden' });
        try {
          await until('leak to be written', () => isLink(file('leak')));
          assert(readlinkSync(file('leak')) === '/etc/passwd', `leak points at ${readlinkSync(file('leak'))}`);
          assert(git('status', '--porcelain') === '?? leak\n', `apply wrote more than the link:\n${git('status', '--porcelain')}`);
        } finally {
          // As the workspace was: the link is the only thing apply writes.
          rmSync(file('leak'), { force: true });
        }
        assertClean('after removing the applied link');
      },
    ],
  ];
}

function isLink(p) {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
