// Checks of the ui pass (scripts/vscode/uiTest.mjs runs them after it has shown the conflict of
// workflows/conflicting.yaml as a diff), driven with the mouse in the real workbench:
//   - Resolve… on the conflict names both steps; Edit Merged File opens the merged file, only the
//     conflicting hunk between markers, with the ✓ Resolve with the Merged File button in its title.
//   - Open in Merge Editor shows VS Code's 3-way merge editor with the steps' names over their
//     versions; the screenshot media/screenshots/merge-editor.png is taken there.
//   - Complete Merge and Resolve (the merge editor's title button) resolves the conflict: the
//     editor closes, the Conflicts node goes, a notification offers Apply and Create Branch.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { workbench } from './workbench.mjs';

const RUN = 'Two steps, one line';
const FILE = 'services/auth/index.js';

/**
 * @param {object} ui what uiTest.mjs drives the workbench with
 * @param {import('playwright-core').Page} ui.page
 * @param {string} ui.workspace the folder the workbench has open
 * @param {(page: import('playwright-core').Page, text: string) => import('playwright-core').Locator} ui.treeRow
 * @param {(row: import('playwright-core').Locator, title: string) => Promise<void>} ui.clickInlineAction
 * @param {(name: string) => Promise<void>} ui.shot saves a screenshot under that name
 * @returns {Array<[string, () => Promise<void>]>} the checks, in order; each starts where the previous one left the workbench
 */
export function conflictChecks({ page, workspace, treeRow, clickInlineAction, shot }) {
  const conflictRow = () => treeRow(page, FILE).filter({ hasText: 'auth-rename ↔ auth-reword' });
  const pickRow = (label) => page.locator('.quick-input-list .monaco-list-row', { hasText: label });
  const titleButton = (label) => page.locator(`.editor-group-container.active .editor-actions .action-label[aria-label^="${label}"]`);
  const mergeEditor = page.locator('.merge-editor');
  const { file, seeNotification, assert } = workbench({ page, workspace });
  /** The merged file of the run's conflict, as the extension wrote it under the run's state folder. */
  const mergedFile = () => {
    const runs = file('.tapps-agents/workflow-state');
    for (const run of readdirSync(runs)) {
      try {
        return readFileSync(path.join(runs, run, 'merge', FILE), 'utf8');
      } catch {
        // another run's folder
      }
    }
    throw new Error(`no merged file of ${FILE} under ${runs}`);
  };
  /** The texts of the notifications shown so far, for a failure's message. */
  const notifications = async () => {
    const bell = page.locator('.part.statusbar [id="status.notifications"]');
    await bell.click();
    const texts = await page.locator('.notifications-center .notification-list-item').allInnerTexts();
    await bell.click();
    return texts.map((t) => t.replace(/\s+/g, ' ')).join(' | ') || 'none';
  };
  /** Waits for a locator; a timeout says which notifications the extension had shown. */
  const waitVisible = async (locator, what) => {
    try {
      await locator.waitFor({ state: 'visible' });
    } catch (e) {
      throw new Error(`${what} did not show (${e.message.split('\n')[0]}); notifications: ${await notifications()}`);
    }
  };

  return [
    [
      'Resolve… on the conflict names both steps; Edit Merged File marks only the conflicting hunk and offers ✓ in the title bar',
      async () => {
        // The context menu's entries say what they do without naming a step by its position.
        await conflictRow().click({ button: 'right' });
        const menu = page.locator('.context-view .monaco-menu');
        for (const entry of [
          'Compare the Two Versions',
          'Compare a Version with the Base…',
          'Resolve…',
          'Open in Merge Editor',
          "Take a Step's Version…",
          'Edit Merged File',
        ])
          await menu.locator('.action-item', { hasText: entry }).first().waitFor({ state: 'visible' });
        const entries = await menu.locator('.action-item').allInnerTexts();
        assert(!entries.some((e) => /earlier|later/i.test(e)), `a menu entry names a step by its position: ${entries.join(', ')}`);
        await page.keyboard.press('Escape');
        await menu.waitFor({ state: 'hidden' });
        await clickInlineAction(conflictRow(), 'Resolve…');
        for (const label of ["Take auth-rename's Version", "Take auth-reword's Version", 'Open in Merge Editor', 'Edit Merged File'])
          await pickRow(label).waitFor({ state: 'visible' });
        await pickRow('Edit Merged File').click();
        const editor = page.locator('.editor-group-container.active .monaco-editor .view-lines');
        await editor.filter({ hasText: '<<<<<<< auth-rename' }).waitFor({ state: 'visible' });
        await titleButton('Resolve with the Merged File').waitFor({ state: 'visible' });
        const text = mergedFile();
        const lines = text.split('\n');
        assert(lines[0] === '// Auth service: issues and checks session tokens.', `the merged file starts inside markers:\n${text}`);
        assert(lines.filter((l) => l.startsWith('<<<<<<< ')).length === 1, `not one conflicting hunk:\n${text}`);
        assert(text.includes('>>>>>>> auth-reword\n  return { token'), `the markers do not close right after the hunk:\n${text}`);
      },
    ],
    [
      "Open in Merge Editor shows the 3-way merge editor with the steps' names; one side is accepted",
      async () => {
        await clickInlineAction(conflictRow(), 'Resolve…');
        // The quick input shows the previous pick's rows for a moment: this one is offered only now
        // that the merged file exists, so the list is the new one.
        await pickRow('Resolve with the Merged File').waitFor({ state: 'visible' });
        await pickRow('Open in Merge Editor').click();
        await waitVisible(mergeEditor, 'the merge editor');
        for (const step of ['auth-rename', 'auth-reword'])
          await mergeEditor.locator('.code-view.input > .header > span.title', { hasText: step }).waitFor({ state: 'visible' });
        // The merge editor has no Complete Merge button of its own (only the git extension adds
        // one): the extension's is in the title bar.
        await titleButton('Complete Merge and Resolve').waitFor({ state: 'visible' });
        await mergeEditor.locator('.merge-editor-conflict-actions a', { hasText: 'Accept auth-reword' }).first().click();
        await mergeEditor.locator('.code-view.result', { hasText: "Error('user and password are" }).waitFor({ state: 'visible' });
        // The whole window for the editor in the screenshot (the sidebar shown again after).
        await page.keyboard.press('Control+B');
        await page.locator('.part.sidebar').waitFor({ state: 'hidden' });
        // The result pane's decorations settle after the edit and the layout.
        await sleep(500);
        await shot('merge-editor.png');
        await page.keyboard.press('Control+B');
        await page.locator('.part.sidebar').waitFor({ state: 'visible' });
      },
    ],
    [
      'Complete Merge and Resolve resolves the conflict: the editor closes, the Conflicts node goes, Apply is offered',
      async () => {
        await titleButton('Complete Merge and Resolve').click();
        await mergeEditor.waitFor({ state: 'detached' });
        await treeRow(page, 'Conflicts (1)').waitFor({ state: 'detached' });
        await treeRow(page, RUN).filter({ hasText: 'succeeded' }).waitFor({ state: 'visible' });
        await seeNotification('All conflicts are resolved', 'Apply');
        await seeNotification('All conflicts are resolved', 'Create Branch');
        const text = mergedFile();
        assert(text.includes("throw new Error('user and password are needed')"), `the merge saved is not the accepted side:\n${text}`);
        assert(!text.includes('<<<<<<<'), `the merge saved still has markers:\n${text}`);
        // Its tabs closed with it: the diff, the merged file.
        await page.locator('.tabs-container .tab', { hasText: 'auth-rename ↔ auth-reword' }).waitFor({ state: 'detached' });
      },
    ],
  ];
}
