// The UI test: the workbench in headless Chromium, driven as a person would with the mouse and
// the keyboard (no extension API): opens the Tapps Flow view, runs a workflow from the command
// palette, watches its steps run, clicks the inline cancel buttons, runs the conflicting workflow,
// compares its conflict's versions in a diff editor, then resolves it in the merge editor
// (test/integration/ui/conflicts.mjs). Saves the screenshots README shows, and prints
// `ui: N passed, N failed`.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { conflictChecks } from '../../test/integration/ui/conflicts.mjs';
import { containmentChecks } from '../../test/integration/ui/containment.mjs';
import { runActionChecks } from '../../test/integration/ui/runActions.mjs';
import { projectRoot } from './paths.mjs';
import { launchBrowser } from './runTests.mjs';
import { startServer } from './server.mjs';
import { log, quietSettings, reportStrays, secondsSince } from './suitePass.mjs';

/** A Runs tree row (tree rows' aria-label is their tooltip, so rows are found by their text). */
const treeRow = (page, text) => page.locator('.part.sidebar .monaco-list-row[role="treeitem"]', { hasText: text });

/** Runs a workflow file the way a user does: F1, the command, then the file in the quick pick. */
async function runFromPalette(page, file) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible' });
  await input.fill('>Tapps Flow: Run Workflow');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Tapps Flow: Run Workflow…' }).first().click();
  await page.locator('.quick-input-list .monaco-list-row', { hasText: file }).first().waitFor({ state: 'visible' });
  await input.fill(path.basename(file, '.yaml'));
  await page.locator('.quick-input-list .monaco-list-row', { hasText: file }).first().click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/**
 * Clicks one of a row's inline actions; they show only while the row is hovered. A click that
 * lands while the view re-renders the row (running steps tick once a second) can reach the
 * command without its row, which then asks for one in a quick pick: that pick is dismissed and
 * the click made again (at most twice), as a user would.
 */
async function clickInlineAction(row, title) {
  const page = row.page();
  const asking = page.locator('.quick-input-widget input[placeholder="Pick a run"], .quick-input-widget input[placeholder="Pick a step"]');
  for (let attempt = 1; ; attempt++) {
    await row.hover();
    await row.locator(`.actions .action-label[aria-label^="${title}"]`).click();
    const asked = await asking
      .waitFor({ state: 'visible', timeout: 700 })
      .then(() => true)
      .catch(() => false);
    if (!asked || attempt === 3) return;
    await page.keyboard.press('Escape');
    await asking.waitFor({ state: 'hidden' });
  }
}

/**
 * @param {{ passDir: string, workspace: string, extensionsDir: string, screenshotsDir: string }} options
 *   `extensionsDir` holds the installed extension
 * @returns {Promise<{ passed: number, failed: number }>}
 */
export async function runUiTest({ passDir, workspace, extensionsDir, screenshotsDir }) {
  await mkdir(screenshotsDir, { recursive: true });
  // Long lines wrap in the diff editor, so that the screenshot shows both versions of the line.
  const server = await startServer({ runDir: passDir, extensionsDir, settings: { ...quietSettings, 'diffEditor.wordWrap': 'on' } });
  log(`ui: code-server ready at ${server.origin}`);
  const context = await launchBrowser(path.join(passDir, 'browser-profile'));
  const workbenchLog = createWriteStream(path.join(passDir, 'workbench.log'));
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('console', (m) => workbenchLog.write(`[${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => workbenchLog.write(`[page error] ${e.message}\n`));
  const shot = async (name) => {
    const file = path.join(screenshotsDir, name);
    await page.screenshot({ path: file });
    log(`ui: saved ${path.relative(projectRoot, file)}`);
  };

  const checks = [
    [
      'opens the Tapps Flow view from the activity bar',
      async () => {
        await page.goto(`${server.origin}/?folder=${encodeURIComponent(workspace)}`);
        await page.locator('.monaco-workbench').waitFor({ state: 'visible' });
        await page.locator('.activitybar .action-label[aria-label^="Tapps Flow"]').click();
        await page.locator('.part.sidebar').getByText('No workflow runs yet.').waitFor({ state: 'visible' });
        // Wider, as a user reading the steps' descriptions would make it: drag the sidebar's edge.
        const box = await page.locator('.part.sidebar').boundingBox();
        await page.mouse.move(box.x + box.width, box.y + box.height / 2);
        await page.mouse.down();
        await page.mouse.move(box.x + 480, box.y + box.height / 2, { steps: 5 });
        await page.mouse.up();
      },
    ],
    [
      'starts workflows/slow.yaml from the command palette and sees its steps running',
      async () => {
        await runFromPalette(page, 'workflows/slow.yaml');
        for (const step of ['slow-a', 'slow-b']) {
          await treeRow(page, step).locator('.codicon-loading').waitFor({ state: 'visible' });
        }
        await treeRow(page, 'Slow steps')
          .filter({ hasText: /2 running/ })
          .waitFor({ state: 'visible' });
        await treeRow(page, 'slow-a').filter({ hasText: 'waiting for a cancel' }).waitFor({ state: 'visible' });
        await shot('running.png');
      },
    ],
    [
      "cancels a running step with the step's inline button",
      async () => {
        await clickInlineAction(treeRow(page, 'slow-a'), 'Cancel Step');
        await treeRow(page, 'slow-a').filter({ hasText: 'cancelled' }).waitFor({ state: 'visible' });
        await treeRow(page, 'after-a').filter({ hasText: 'skipped' }).waitFor({ state: 'visible' });
        await treeRow(page, 'slow-b').locator('.codicon-loading').waitFor({ state: 'visible' });
      },
    ],
    [
      "cancels the run with the run's inline button",
      async () => {
        await clickInlineAction(treeRow(page, 'Slow steps'), 'Cancel Run');
        await treeRow(page, 'Slow steps').filter({ hasText: 'cancelled' }).waitFor({ state: 'visible' });
        await treeRow(page, 'slow-b').filter({ hasText: 'cancelled' }).waitFor({ state: 'visible' });
        // Collapsed, so that the next run has the view to itself.
        await page.locator('.part.sidebar .action-label[aria-label^="Collapse All"]:visible').first().click();
        await treeRow(page, 'slow-b').waitFor({ state: 'detached' });
      },
    ],
    [
      'runs workflows/conflicting.yaml and sees its Conflicts node',
      async () => {
        await runFromPalette(page, 'workflows/conflicting.yaml');
        await treeRow(page, 'Two steps, one line').filter({ hasText: 'conflicted' }).waitFor({ state: 'visible' });
        await treeRow(page, 'Conflicts (1)').waitFor({ state: 'visible' });
        await treeRow(page, 'services/auth/index.js').filter({ hasText: 'auth-rename ↔ auth-reword' }).waitFor({ state: 'visible' });
        await shot('conflicts.png');
      },
    ],
    [
      "compares the conflict's two versions with its inline button and sees the diff editor",
      async () => {
        await clickInlineAction(
          treeRow(page, 'services/auth/index.js').filter({ hasText: 'auth-rename ↔ auth-reword' }),
          'Compare the Two Versions',
        );
        const diff = page.locator('.monaco-diff-editor');
        await diff.waitFor({ state: 'visible' });
        await page
          .locator('.tabs-container .tab', { hasText: 'services/auth/index.js: auth-rename ↔ auth-reword' })
          .waitFor({ state: 'visible' });
        // Side by side or inline (the workbench picks inline when the editor is narrow): both lines show.
        await page.locator('.monaco-diff-editor', { hasText: "Error('credentials required')" }).waitFor({ state: 'visible' });
        await page.locator('.monaco-diff-editor', { hasText: "Error('user and password are" }).waitFor({ state: 'visible' });
        await shot('diff.png');
      },
    ],
    // Kept with the other integration tests: the conflict resolved in the merge editor, then the
    // modal confirmations of containment.
    ...conflictChecks({ page, workspace, treeRow, clickInlineAction, shot }),
    ...containmentChecks({ page, workspace, treeRow, runFromPalette, clickInlineAction }),
    // What a user does with a run once it has ended: a partial apply, Delete Run.
    ...runActionChecks({ page, workspace, treeRow, runFromPalette, clickInlineAction }),
  ];

  let passed = 0;
  let failed = 0;
  const t = Date.now();
  try {
    for (const [i, [name, fn]] of checks.entries()) {
      // Each check starts where the previous one left the workbench: after a failure the rest cannot run.
      if (failed > 0) {
        console.log(`  - ${name} (not run: an earlier check failed)`);
        failed++;
        continue;
      }
      const started = Date.now();
      try {
        await fn();
        passed++;
        console.log(`  ✔ ${name} (${secondsSince(started)})`);
      } catch (e) {
        failed++;
        const file = path.join(passDir, `ui-failure-${i + 1}.png`);
        await page.screenshot({ path: file }).catch(() => undefined);
        console.log(
          `  ✘ ${name}\n    ${String(e.message).split('\n').join('\n    ')}\n    screenshot: ${path.relative(projectRoot, file)}`,
        );
      }
    }
  } finally {
    await context.close().catch(() => undefined);
    workbenchLog.end();
    await server.stop();
    reportStrays('ui', workspace);
  }
  log(`ui: ran in ${secondsSince(t)}`);
  console.log(`ui: ${passed} passed, ${failed} failed`);
  return { passed, failed };
}
