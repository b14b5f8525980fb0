// Runs the extension's integration tests inside a real workbench served by code-server:
// Debian's Chromium, driven by playwright-core, opens the workbench with a `payload` that tells it
// to load the extension under development and run its tests in the (Node) extension host.
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { format } from 'node:util';
import { HarnessError } from './exec.mjs';
import { chromiumBin, playwrightDir } from './paths.mjs';

/**
 * @typedef {object} TestRunOptions
 * @property {string} origin the server's `http://127.0.0.1:PORT`
 * @property {string} workspace absolute path of the folder the workbench opens
 * @property {string} extensionDevelopmentPath absolute path of the extension (its package.json)
 * @property {string} extensionTestsPath absolute path of the bundled file whose `run()` runs the tests
 * @property {string} runDir the run's scratch folder: browser profile, VS Code's logs, screenshots
 * @property {Record<string, string>} [env] environment variables set in the extension host
 * @property {number} [timeoutMs] the whole run, browser start to exit. @default 300000
 * @property {(line: string, level: string) => void} [onLog] receives every forwarded log line of the
 *   workbench and the extension host (mocha's report included); level is info, warn or error.
 *   @default console.log
 */

/**
 * @param {TestRunOptions} options
 * @returns {Promise<number>} the extension host's test exit code: 0 when `run()` resolved
 */
export async function runTests(options) {
  const { origin, runDir, timeoutMs = 300_000, onLog = (line) => console.log(line) } = options;
  const context = await launchBrowser(path.join(runDir, 'browser-profile'));
  let timer;
  try {
    // The workbench reports through these two globals when they exist (its smoke-test hooks);
    // they must be exposed before the page loads.
    const exited = new Promise((resolve) => {
      void context.exposeFunction('codeAutomationExit', async (code, logs) => {
        await saveLogs(path.join(runDir, 'vscode-logs'), logs);
        resolve(code);
      });
    });
    await context.exposeFunction('codeAutomationLog', (level, args) => onLog(formatLogArgs(args), level));
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => onLog(`[page error] ${e.message}`, 'error'));
    const timeout = new Error('timeout');
    const timedOut = new Promise((_, reject) => {
      timer = setTimeout(() => reject(timeout), timeoutMs);
    });
    try {
      return await Promise.race([page.goto(testUrl(options)).then(() => exited), timedOut]);
    } catch (e) {
      if (e !== timeout) throw new HarnessError('opening the workbench', e.message, `is code-server still running at ${origin}?`);
      const shot = path.join(runDir, 'timeout.png');
      await page.screenshot({ path: shot }).catch(() => undefined);
      throw new HarnessError(
        'running the integration tests',
        `the workbench did not report an exit code within ${timeoutMs / 1000} s`,
        `look at ${shot} and the logs under ${runDir}`,
      );
    }
  } finally {
    clearTimeout(timer);
    await context.close().catch(() => undefined);
  }
}

/**
 * Debian's Chromium, headless, driven by playwright-core, with a fresh profile in `profileDir`
 * (the workbench keeps its state, trusted folders included, in the browser's storage).
 * @returns {Promise<import('playwright-core').BrowserContext>}
 */
export function launchBrowser(profileDir) {
  // playwright-core lives in the tools cache, not in the project's node_modules.
  const { chromium } = createRequire(path.join(playwrightDir, 'package.json'))('playwright-core');
  return chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumBin,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The workbench URL whose `payload` makes it run the tests (honoured with enable-smoke-test-driver only). */
export function testUrl({ origin, workspace, extensionDevelopmentPath, extensionTestsPath, env = {} }) {
  // The remote authority must be the page's own host:port, or the paths resolve nowhere.
  const remote = (p) => `vscode-remote://${new URL(origin).host}${p}`;
  const payload = [
    ['extensionDevelopmentPath', remote(extensionDevelopmentPath)],
    ['extensionTestsPath', remote(extensionTestsPath)],
    ['skipWelcome', 'true'],
    ['extensionEnvironment', JSON.stringify(env)],
  ];
  return `${origin}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** The extension host's console arguments as one plain line, without the `%c` styling. */
function formatLogArgs(args) {
  if (!Array.isArray(args)) return String(args);
  const [first, ...rest] = args;
  if (typeof first === 'string' && first.includes('%c')) {
    const styles = (first.match(/%c/g) ?? []).length;
    return format(first.replaceAll('%c', ''), ...rest.slice(styles)).trimEnd();
  }
  return format(...args).trimEnd();
}

/** VS Code keeps a web client's logs in IndexedDB; it hands them over on exit, so keep them. */
async function saveLogs(dir, logs) {
  if (!Array.isArray(logs)) return;
  for (const { relativePath, contents } of logs) {
    const file = path.join(dir, relativePath);
    if (!file.startsWith(dir + path.sep)) continue;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, contents);
  }
}
