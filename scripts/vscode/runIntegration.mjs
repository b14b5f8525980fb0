// `npm run test:integration`: installs the tools (cached), then runs these passes, each test pass
// on a code-server of its own and a fresh copy of the demo repository:
//   package    `vsce package` into the run folder, and `vsce ls` checked against what may ship
//   main       the mocha suite test/integration/*.test.ts in the extension host
//   untrusted  test/integration/untrusted/ in a workspace the user has not trusted
//   ui         scripts/vscode/uiTest.mjs: the workbench, with the .vsix installed, driven in
//              Chromium as a person would
//   vsix       test/integration/vsix/ against the .vsix installed into the server
// and closes with the plain line `integration: N passed, N failed` over all of them.
// TAPPS_INTEGRATION_PASSES=main,ui runs some passes only.
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildIntegration, integrationOutDir } from './buildIntegration.mjs';
import { HarnessError, run } from './exec.mjs';
import { createDemoWorkspace, createUntrustedWorkspace, untrustedSettings } from './gitWorkspace.mjs';
import { installTools } from './install.mjs';
import { checkPackagedFiles, installVsix, packagedFiles, packageExtension } from './packageExtension.mjs';
import { projectRoot, runStamp, testRunsDir } from './paths.mjs';
import { log, runSuitePass, secondsSince } from './suitePass.mjs';
import { runUiTest } from './uiTest.mjs';

/** Run folders kept for debugging; older ones are removed at the start of a run. */
const keepRuns = 5;
const allPasses = ['package', 'main', 'untrusted', 'ui', 'vsix'];
const selected = process.env.TAPPS_INTEGRATION_PASSES?.split(',').map((s) => s.trim()) ?? allPasses;

/** Adds up the passes; a pass that could not run at all counts as one failure. */
class Tally {
  passed = 0;
  failed = 0;
  lines = [];

  async pass(name, fn) {
    const t = Date.now();
    let r;
    try {
      r = await fn();
    } catch (e) {
      console.error(`[integration] ${name}: ${HarnessError.is(e) ? e.message : e.stack}`);
      r = { passed: 0, failed: 1 };
    }
    this.passed += r.passed;
    this.failed += r.failed;
    this.lines.push(`${name}: ${r.passed} passed, ${r.failed} failed (${secondsSince(t)})`);
    return r;
  }
}

async function main(tally) {
  const runDir = path.join(testRunsDir, runStamp());
  await pruneOldRuns();
  await installTools();
  const passes = new Set(selected);
  for (const p of passes)
    if (!allPasses.includes(p))
      throw new HarnessError('TAPPS_INTEGRATION_PASSES', `unknown pass "${p}"`, `expected some of ${allPasses.join(', ')}`);

  // First, because vsce's prepublish writes the production bundle into dist/; the build below
  // puts the development bundle (with source maps) back for the other passes.
  let vsix = null;
  if (passes.has('package') || passes.has('ui') || passes.has('vsix')) {
    await tally.pass('package', async () => {
      const t = Date.now();
      vsix = await packageExtension(path.join(runDir, 'package'));
      const files = await packagedFiles();
      log(`packaged ${path.relative(projectRoot, vsix)} in ${secondsSince(t)}: ${files.join(', ')}`);
      const problems = checkPackagedFiles(files);
      for (const p of problems) console.error(`[integration] package: ${p}`);
      return { passed: 1 + (problems.length === 0 ? 1 : 0), failed: problems.length === 0 ? 0 : 1 };
    });
  }

  const t = Date.now();
  await run(process.execPath, ['esbuild.js'], { cwd: projectRoot, echo: true, step: 'building the extension (node esbuild.js)' });
  await buildIntegration().catch((e) => {
    throw new HarnessError('bundling test/integration', e.message);
  });
  log(`built in ${secondsSince(t)}`);

  if (passes.has('main')) {
    await tally.pass('main', async () => {
      const passDir = path.join(runDir, 'main');
      return runSuitePass({ suite: 'main', passDir, workspace: await createDemoWorkspace(path.join(passDir, 'workspace')) });
    });
  }

  if (passes.has('untrusted')) {
    await tally.pass('untrusted', async () => {
      const passDir = path.join(runDir, 'untrusted');
      const { workspace, env } = await createUntrustedWorkspace(passDir);
      return runSuitePass({
        suite: 'untrusted',
        passDir,
        workspace,
        // Without --disable-workspace-trust, trust is the workbench's to decide: a folder is trusted
        // only when listed in the browser profile's storage (empty here) or when the remote resolver
        // says so (code-server's does not). The startup prompt is a modal dialog: never show it.
        server: {
          disableWorkspaceTrust: false,
          settings: untrustedSettings,
        },
        env,
      });
    });
  }

  if (passes.has('ui')) {
    await tally.pass('ui', async () => {
      if (!vsix) throw new HarnessError('the ui pass', 'there is no .vsix: packaging failed');
      const passDir = path.join(runDir, 'ui');
      // The workbench as a user has it: the packaged extension installed, no development host.
      const extensionsDir = path.join(passDir, 'extensions');
      await installVsix(vsix, extensionsDir, path.join(passDir, 'server', 'home'));
      const workspace = await createDemoWorkspace(path.join(passDir, 'workspace'));
      // The README's screenshots change only when asked (TAPPS_UPDATE_SCREENSHOTS=1); a plain run
      // keeps its screenshots with the pass, so that running the tests leaves the tree clean.
      const screenshotsDir =
        process.env.TAPPS_UPDATE_SCREENSHOTS === '1' ? path.join(projectRoot, 'media', 'screenshots') : path.join(passDir, 'screenshots');
      return runUiTest({ passDir, workspace, extensionsDir, screenshotsDir });
    });
  }

  if (passes.has('vsix')) {
    await tally.pass('vsix', async () => {
      if (!vsix) throw new HarnessError('the vsix pass', 'there is no .vsix: packaging failed');
      const passDir = path.join(runDir, 'vsix');
      const extensionsDir = path.join(passDir, 'extensions');
      await installVsix(vsix, extensionsDir, path.join(passDir, 'server', 'home'));
      // The test runner needs an extension under development; a probe with no code of its own
      // stands in, so that Tapps Flow itself is only the installed copy. The test bundles go inside
      // the probe, where the extension host expects the code that requires 'vscode' to live.
      const probe = path.join(passDir, 'probe');
      await mkdir(probe, { recursive: true });
      // (With a `main`: the host maps only extensions with code to their folders.)
      await writeFile(
        path.join(probe, 'package.json'),
        `${JSON.stringify({ name: 'tapps-flow-vsix-probe', publisher: 'tapps-test', version: '0.0.0', engines: { vscode: '^1.90.0' }, main: './probe.js' }, null, 2)}\n`,
      );
      await writeFile(path.join(probe, 'probe.js'), 'exports.activate = () => undefined;\n');
      await cp(integrationOutDir, path.join(probe, 'integration'), { recursive: true });
      return runSuitePass({
        suite: 'vsix',
        passDir,
        workspace: await createDemoWorkspace(path.join(passDir, 'workspace')),
        extensionDevelopmentPath: probe,
        extensionTestsPath: path.join(probe, 'integration', 'index.js'),
        server: { extensionsDir },
        env: { TAPPS_TEST_EXTENSIONS_DIR: extensionsDir },
      });
    });
  }
}

async function pruneOldRuns() {
  const runs = (await readdir(testRunsDir).catch(() => [])).filter((d) => /^\d{4}-\d\d-\d\dT/.test(d)).sort();
  for (const d of runs.slice(0, Math.max(0, runs.length - (keepRuns - 1)))) {
    await rm(path.join(testRunsDir, d), { recursive: true, force: true });
  }
}

const started = Date.now();
const tally = new Tally();
main(tally)
  .catch((e) => {
    console.error(`[integration] ${HarnessError.is(e) ? e.message : e.stack}`);
    tally.failed += 1;
  })
  .then(() => {
    for (const line of tally.lines) log(`summary: ${line}`);
    log(`total ${secondsSince(started)}`);
    console.log(`integration: ${tally.passed} passed, ${tally.failed} failed`);
    process.exitCode = tally.failed > 0 ? 1 : 0;
  });
