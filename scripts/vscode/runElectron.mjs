// `npm run test:electron`: the integration suites in a desktop VS Code that @vscode/test-electron
// downloads (the GitHub Actions workflow, on Linux, macOS and Windows): the same bundles that
// `npm run test:integration` runs in code-server where VS Code cannot be downloaded
// (scripts/vscode/install.mjs), each suite with a fresh demo workspace and VS Code profile:
//   main       test/integration/*.test.ts, in a trusted workspace
//   untrusted  test/integration/untrusted/, untrusted (not on Windows: its git wrapper is a shell script)
// Closes with the plain line `electron: N passed, N failed`. Linux needs a display: xvfb-run -a.
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildIntegration, integrationEntry } from './buildIntegration.mjs';
import { HarnessError, run } from './exec.mjs';
import { createDemoWorkspace, createUntrustedWorkspace, untrustedSettings } from './gitWorkspace.mjs';
import { projectRoot, runStamp, testRunsDir, toolsDir } from './paths.mjs';
import { quietSettings, reportStrays, secondsSince } from './suitePass.mjs';

const version = process.env.VSCODE_TEST_VERSION ?? 'stable';
// Unanchored: the desktop host may put a prefix before the extension host's lines.
const summaryPattern = /\bsuite (\S+): (\d+) passed, (\d+) failed\b/;
const tally = { passed: 0, failed: 0 };

/** Adds up one suite; a suite that could not run at all counts as one failure. */
async function pass(name, fn) {
  const t = Date.now();
  const r = await fn().catch((e) => {
    console.error(`[electron] ${name}: ${HarnessError.is(e) ? e.message : e.stack}`);
    return { passed: 0, failed: 1 };
  });
  tally.passed += r.passed;
  tally.failed += r.failed;
  log(`${name}: ${r.passed} passed, ${r.failed} failed (${secondsSince(t)})`);
}

async function main() {
  const runDir = path.join(testRunsDir, `${runStamp()}-electron`);
  const t = Date.now();
  await run(process.execPath, ['esbuild.js'], { cwd: projectRoot, echo: true, step: 'building the extension (node esbuild.js)' });
  await buildIntegration().catch((e) => {
    throw new HarnessError('bundling test/integration', e.message);
  });
  log(`built in ${secondsSince(t)}`);
  // Cached under .tools/ (ignored), not in .vscode-test/ of the working directory.
  const vscode = await downloadAndUnzipVSCode({ version, cachePath: path.join(toolsDir, 'vscode-test') }).catch((e) => {
    throw new HarnessError(
      `downloading VS Code (${version})`,
      `VS Code could not be downloaded: ${e.message}`,
      'this runner needs internet access to update.code.visualstudio.com; without it, use the code-server runner: npm run test:integration',
    );
  });

  await pass('main', async () => {
    const workspace = await createDemoWorkspace(path.join(runDir, 'main', 'workspace'));
    return runSuite({ suite: 'main', vscode, workspace });
  });

  if (process.platform === 'win32') {
    log('untrusted: skipped on Windows (its git wrapper, which records every git the extension starts, is a POSIX shell script)');
    return;
  }
  await pass('untrusted', async () => {
    const passDir = path.join(runDir, 'untrusted');
    const { workspace, env } = await createUntrustedWorkspace(passDir);
    // runTests always passes --disable-workspace-trust, which trusts every folder: this wrapper
    // drops it before starting VS Code, leaving trust to the workbench and the settings below.
    const untrustedCode = path.join(passDir, 'code-without-trust-flag.sh');
    const drop = 'for a in "$@"; do shift; [ "$a" = --disable-workspace-trust ] || set -- "$@" "$a"; done';
    await writeFile(untrustedCode, `#!/bin/sh\n${drop}\nexec '${vscode}' "$@"\n`, { mode: 0o755 });
    return runSuite({
      suite: 'untrusted',
      vscode: untrustedCode,
      workspace,
      settings: untrustedSettings,
      env,
    });
  });
}

/**
 * One suite in a VS Code of its own. runTests says only pass or fail (the exit code): the tests
 * are counted from the line test/integration/index.ts prints, which runTests copies to our output.
 */
async function runSuite({ suite, vscode, workspace, settings = {}, env = {} }) {
  // A short folder: VS Code puts its IPC socket in the user-data-dir, and macOS refuses socket
  // paths longer than 103 characters, which one under the project's .test-runs/ would be.
  const profile = await mkdtemp(path.join(os.tmpdir(), 'tapps-vscode-'));
  const userDataDir = path.join(profile, 'user-data');
  await mkdir(path.join(userDataDir, 'User'), { recursive: true });
  await writeFile(path.join(userDataDir, 'User', 'settings.json'), `${JSON.stringify({ ...quietSettings, ...settings }, null, 2)}\n`);
  let summary = null;
  let failure = null;
  const unwatch = watchOutput((line) => {
    const m = summaryPattern.exec(line);
    if (m && m[1] === suite) summary = { passed: Number(m[2]), failed: Number(m[3]) };
  });
  try {
    await runTests({
      vscodeExecutablePath: vscode,
      extensionDevelopmentPath: projectRoot,
      extensionTestsPath: integrationEntry,
      launchArgs: [
        workspace,
        '--disable-extensions',
        '--disable-workspace-trust',
        `--user-data-dir=${userDataDir}`,
        `--extensions-dir=${path.join(profile, 'extensions')}`,
      ],
      // What the code-server passes give the extension host (suitePass.mjs); runTests adds this
      // process's own environment, MOCHA_GREP included. The steps the tests run inherit it too
      // (set-up.yaml waits for a file beside $TAPPS_TEST_WORKSPACE).
      extensionTestsEnv: { TAPPS_TEST_SUITE: suite, TAPPS_TEST_WORKSPACE: workspace, ...env },
    });
  } catch (e) {
    failure = e;
  } finally {
    unwatch();
    reportStrays(suite, workspace);
    await rm(profile, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  }
  const noLine = `it printed no "suite ${suite}: N passed, N failed" line`;
  if (!summary) throw new HarnessError(`the ${suite} suite`, failure ? `${failure.message}; ${noLine}` : noLine);
  // VS Code can exit non-zero after a clean report (a crash in teardown): count it.
  return failure ? { passed: summary.passed, failed: Math.max(summary.failed, 1) } : summary;
}

/** Calls `onLine` with each line written to stdout or stderr until the returned function is called. */
function watchOutput(onLine) {
  const restore = [process.stdout, process.stderr].map((stream) => {
    const write = stream.write;
    let partial = '';
    stream.write = function (chunk, ...rest) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop();
      for (const line of lines) onLine(line);
      return write.call(this, chunk, ...rest);
    };
    return () => (stream.write = write);
  });
  return () => restore.forEach((r) => r());
}

function log(line) {
  console.log(`[electron] ${line}`);
}

main()
  .catch((e) => {
    console.error(`[electron] ${HarnessError.is(e) ? e.message : e.stack}`);
    tally.failed += 1;
  })
  .then(() => {
    console.log(`electron: ${tally.passed} passed, ${tally.failed} failed`);
    process.exitCode = tally.failed > 0 ? 1 : 0;
  });
