// What the ui pass's checks share to drive the workbench and look at the workspace: its dialogs,
// notifications, context menus, and the files and git status of the folder it has open.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * @param {object} ui
 * @param {import('playwright-core').Page} ui.page
 * @param {string} ui.workspace the folder the workbench has open
 */
export function workbench({ page, workspace }) {
  const file = (rel) => path.join(workspace, rel);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
  const git = (...args) => execFileSync('git', args, { cwd: workspace, env, encoding: 'utf8' });
  const dialog = page.locator('.monaco-dialog-box');
  const dialogButton = (label) => dialog.locator('.dialog-buttons .monaco-button', { hasText: new RegExp(`^${label}$`) });
  const collapseAll = async () => {
    await page.locator('.part.sidebar .action-label[aria-label^="Collapse All"]:visible').first().click();
  };
  /** Polls a condition of the file system (the workbench has no say in it) until it holds. */
  const until = async (what, probe, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await sleep(50);
    }
  };
  /**
   * A notification, looked up in the notification center (the workbench shows no toasts under its
   * smoke-test driver): opened with the status bar's bell, closed again.
   */
  const seeNotification = async (text, button) => {
    const bell = page.locator('.part.statusbar [id="status.notifications"]');
    const center = page.locator('.notifications-center');
    await bell.click();
    let item = center.locator('.notification-list-item', { hasText: text });
    if (button) item = item.filter({ has: page.locator('.monaco-button', { hasText: button }) });
    await item.waitFor({ state: 'visible' });
    await bell.click();
    await center.waitFor({ state: 'hidden' });
  };
  /**
   * Right-clicks a row and picks an entry of its context menu. The entry is chosen as the keyboard
   * does (hover focuses it, Enter runs it): a menu opened by a mouse button ignores a click that
   * comes too soon after it opened.
   */
  const contextMenu = async (row, entry) => {
    await row.click({ button: 'right' });
    const menu = page.locator('.context-view .monaco-menu');
    const item = menu.locator('.action-item', { hasText: entry }).first();
    await item.waitFor({ state: 'visible' });
    await item.hover();
    await item.locator('.action-menu-item').first().focus();
    await page.keyboard.press('Enter');
    await menu.waitFor({ state: 'hidden' });
  };
  const assert = (ok, message) => {
    if (!ok) throw new Error(message);
  };
  const assertClean = (when) => {
    const status = git('status', '--porcelain');
    assert(status === '', `${when}, git status is not clean:\n${status}`);
  };
  return { file, git, dialog, dialogButton, collapseAll, until, seeNotification, contextMenu, assert, assertClean };
}
