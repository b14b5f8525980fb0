// One pass of the mocha suite inside a real extension host: its own code-server (so that trust,
// settings and installed extensions are the pass's own), its own browser profile and logs under
// `passDir`, one workspace. Counts the suite's tests from the line test/integration/index.ts prints.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { integrationEntry } from './buildIntegration.mjs';
import { HarnessError, killStrays } from './exec.mjs';
import { projectRoot } from './paths.mjs';
import { runTests } from './runTests.mjs';
import { startServer } from './server.mjs';

/**
 * Workbench chatter that repeats dozens of times per run and says nothing about the extension
 * (`Canceled` is the workbench disposing the extension host's pending requests on exit):
 * left out of stdout (unless TAPPS_INTEGRATION_VERBOSE=1), always kept in <pass>/workbench.log.
 */
const noise =
  /^(\[AgentHost|\[ChatModelSelection\]|\[AccountPolicyGate\]|Ignoring fetching additional builtin extensions|Updating additional builtin extensions cache|Creating a socket|Resolv(ing|ed) connection token|Canceled: Canceled|\[reconnection-grace-time\]|\[Service Worker\])/;
const verbose = process.env.TAPPS_INTEGRATION_VERBOSE === '1';
const summaryPattern = /^suite (\S+): (\d+) passed, (\d+) failed$/;

/**
 * Settings of every test profile: nothing opens at startup that the tests do not open themselves,
 * and nothing reaches for the network.
 */
export const quietSettings = Object.freeze({
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  // The built-in git extension would scan every worktree the runs create, for nothing here.
  'git.enabled': false,
  // Opening a .js file would otherwise make the TypeScript extension run npm against the registry.
  'typescript.disableAutomaticTypeAcquisition': true,
  'update.mode': 'none',
});

/**
 * @typedef {object} SuitePassOptions
 * @property {string} suite `main` (test/integration/*.test.ts) or a folder name of test/integration/
 * @property {string} passDir scratch folder of the pass
 * @property {string} workspace the folder the workbench opens
 * @property {string} [extensionDevelopmentPath] @default the project
 * @property {string} [extensionTestsPath] the bundled test entry. @default out/integration/index.js
 * @property {Partial<import('./server.mjs').ServerOptions>} [server] more server options (`runDir` is the pass's)
 * @property {Record<string, string>} [env] more environment variables for the extension host
 */

/** @param {SuitePassOptions} options @returns {Promise<{ passed: number, failed: number }>} */
export async function runSuitePass({
  suite,
  passDir,
  workspace,
  extensionDevelopmentPath = projectRoot,
  extensionTestsPath = integrationEntry,
  server: serverOptions = {},
  env = {},
}) {
  await mkdir(passDir, { recursive: true });
  let t = Date.now();
  const server = await startServer({ runDir: passDir, ...serverOptions, settings: { ...quietSettings, ...serverOptions.settings } });
  log(`${suite}: code-server ready at ${server.origin} in ${secondsSince(t)}`);
  const workbenchLog = createWriteStream(path.join(passDir, 'workbench.log'));
  let summary = null;
  try {
    t = Date.now();
    const code = await runTests({
      origin: server.origin,
      workspace,
      extensionDevelopmentPath,
      extensionTestsPath,
      runDir: passDir,
      ...(process.env.TAPPS_INTEGRATION_TIMEOUT_MS ? { timeoutMs: Number(process.env.TAPPS_INTEGRATION_TIMEOUT_MS) } : {}),
      env: {
        TAPPS_TEST_SUITE: suite,
        TAPPS_TEST_WORKSPACE: workspace,
        ...env,
        ...(process.env.MOCHA_GREP ? { MOCHA_GREP: process.env.MOCHA_GREP } : {}),
      },
      onLog: (line, level) => {
        workbenchLog.write(`[${level}] ${line}\n`);
        if (verbose || !noise.test(line)) console.log(line);
        const m = summaryPattern.exec(line.trim());
        if (m && m[1] === suite) summary = { passed: Number(m[2]), failed: Number(m[3]) };
      },
    });
    log(`${suite}: tests ran in ${secondsSince(t)}, exit code ${code}; logs in ${path.relative(projectRoot, passDir)}`);
    if (!summary)
      throw new HarnessError(
        `the ${suite} suite`,
        'it printed no "suite NAME: N passed, N failed" line',
        `see ${path.join(passDir, 'workbench.log')}`,
      );
    // The extension host can exit non-zero after a clean report (a crash in teardown): count it.
    return code === 0 ? summary : { passed: summary.passed, failed: Math.max(summary.failed, 1) };
  } finally {
    workbenchLog.end();
    await server.stop();
    reportStrays(suite, workspace);
  }
}

/** Kills step processes a failed pass left running in its workspace, and says so. */
export function reportStrays(pass, workspace) {
  const killed = killStrays(workspace);
  if (killed > 0)
    console.error(
      `[integration] ${pass}: killed ${killed} process(es) still running in ${path.relative(projectRoot, workspace)} after the pass (a run was left going)`,
    );
}

export function log(line) {
  console.log(`[integration] ${line}`);
}

export function secondsSince(t) {
  return `${((Date.now() - t) / 1000).toFixed(1)} s`;
}
