// `npm run test:integration`: installs the tools (cached), builds the extension and the test
// bundles, starts code-server, runs the integration tests in its extension host through
// Chromium, stops the server, and closes with the plain line `integration: N passed, N failed`.
import { createWriteStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { buildIntegration, integrationEntry } from './buildIntegration.mjs';
import { HarnessError, run } from './exec.mjs';
import { createGitWorkspace } from './gitWorkspace.mjs';
import { installTools } from './install.mjs';
import { projectRoot, runStamp, testRunsDir } from './paths.mjs';
import { runTests } from './runTests.mjs';
import { startServer } from './server.mjs';

/** Run folders kept for debugging; older ones are removed at the start of a run. */
const keepRuns = 5;
/**
 * Workbench chatter that repeats dozens of times per run and says nothing about the extension
 * (`Canceled` is the workbench disposing the extension host's pending requests on exit):
 * left out of stdout (unless TAPPS_INTEGRATION_VERBOSE=1), always kept in <run>/workbench.log.
 */
const noise = /^(\[AgentHost|\[ChatModelSelection\]|\[AccountPolicyGate\]|Ignoring fetching additional builtin extensions|Updating additional builtin extensions cache|Creating a socket|Resolv(ing|ed) connection token|Canceled: Canceled)/;
const verbose = process.env.TAPPS_INTEGRATION_VERBOSE === '1';
const summaryPattern = /integration: (\d+) passed, (\d+) failed/;

async function main() {
  const runDir = path.join(testRunsDir, runStamp());
  await pruneOldRuns();
  await installTools();

  let t = Date.now();
  await run(process.execPath, ['esbuild.js'], { cwd: projectRoot, echo: true, step: 'building the extension (node esbuild.js)' });
  await buildIntegration().catch((e) => {
    throw new HarnessError('bundling test/integration', e.message);
  });
  log(`built in ${secondsSince(t)}`);

  const workspace = await createGitWorkspace(path.join(runDir, 'workspace'));
  t = Date.now();
  const server = await startServer({ runDir });
  const stopOnSignal = () => void server.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal).once('SIGTERM', stopOnSignal);
  log(`code-server ready at ${server.origin} in ${secondsSince(t)}`);

  let summary = null;
  const workbenchLog = createWriteStream(path.join(runDir, 'workbench.log'));
  try {
    t = Date.now();
    const code = await runTests({
      origin: server.origin,
      workspace,
      extensionDevelopmentPath: projectRoot,
      extensionTestsPath: integrationEntry,
      runDir,
      ...(process.env.TAPPS_INTEGRATION_TIMEOUT_MS ? { timeoutMs: Number(process.env.TAPPS_INTEGRATION_TIMEOUT_MS) } : {}),
      env: { TAPPS_TEST_WORKSPACE: workspace, ...(process.env.MOCHA_GREP ? { MOCHA_GREP: process.env.MOCHA_GREP } : {}) },
      onLog: (line, level) => {
        workbenchLog.write(`[${level}] ${line}\n`);
        if (verbose || !noise.test(line)) console.log(line);
        const m = summaryPattern.exec(line);
        if (m) summary = { passed: Number(m[1]), failed: Number(m[2]) };
      },
    });
    log(`tests ran in ${secondsSince(t)}, exit code ${code}; run folder ${path.relative(projectRoot, runDir)}`);
    // The extension host can exit non-zero after a clean report (a crash in teardown): count it.
    if (!summary) return { passed: 0, failed: 1 };
    return code === 0 ? summary : { passed: summary.passed, failed: Math.max(summary.failed, 1) };
  } finally {
    workbenchLog.end();
    await server.stop();
  }
}

async function pruneOldRuns() {
  const runs = (await readdir(testRunsDir).catch(() => [])).filter((d) => /^\d{4}-\d\d-\d\dT/.test(d)).sort();
  for (const d of runs.slice(0, Math.max(0, runs.length - (keepRuns - 1)))) {
    await rm(path.join(testRunsDir, d), { recursive: true, force: true });
  }
}

function log(line) {
  console.log(`[integration] ${line}`);
}

function secondsSince(t) {
  return `${((Date.now() - t) / 1000).toFixed(1)} s`;
}

const started = Date.now();
main()
  .catch((e) => {
    console.error(`[integration] ${HarnessError.is(e) ? e.message : e.stack}`);
    return { passed: 0, failed: 1 };
  })
  .then(({ passed, failed }) => {
    log(`total ${secondsSince(started)}`);
    console.log(`integration: ${passed} passed, ${failed} failed`);
    process.exitCode = failed > 0 ? 1 : 0;
  });
