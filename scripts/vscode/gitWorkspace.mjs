// The workspaces the tests open: real git repositories, as the extension's users have, rather
// than a mock of git. Each pass gets its own copy, so that one pass's runs and applied results
// never leak into another's.
import { cp, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.mjs';
import { projectRoot } from './paths.mjs';

/** Workflows the tests add to the demo's: slow steps to cancel, a file with errors. */
export const fixturesDir = path.join(projectRoot, 'test', 'integration', 'fixtures');

/**
 * Creates `dir` as the demo repository (examples/setupDemo.mjs: three services, workflows/review.yaml
 * and workflows/conflicting.yaml), adds the test workflows of test/integration/fixtures/workflows/
 * in a second commit, and returns `dir`.
 */
export async function createDemoWorkspace(dir) {
  // Variables a surrounding git (a hook, a rebase) may have set would point git elsewhere.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
  await run(process.execPath, [path.join(projectRoot, 'examples', 'setupDemo.mjs'), dir], {
    env,
    step: 'creating the demo workspace (examples/setupDemo.mjs)',
  });
  const fixtures = path.join(fixturesDir, 'workflows');
  for (const f of await readdir(fixtures)) await cp(path.join(fixtures, f), path.join(dir, 'workflows', f));
  const git = (...args) =>
    run('git', ['-c', 'user.name=Tapps Test', '-c', 'user.email=test@tapps.invalid', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dir,
      env,
      step: `git ${args[0]} in the test workspace`,
    });
  await git('add', '--all');
  await git('commit', '-q', '-m', 'Test workflows');
  return dir;
}

/** What an untrusted window needs besides the workspace: trust left to the workbench, its prompt never shown. */
export const untrustedSettings = Object.freeze({
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.emptyWindow': false,
});

/**
 * The untrusted suite's workspace, in `passDir/workspace`, with a run the CLI made before the
 * window opens (history the untrusted window must still show), and a git wrapper that writes down
 * every git the extension starts (in an untrusted workspace there must be none). Returns the
 * workspace and the environment the suite reads.
 */
export async function createUntrustedWorkspace(passDir) {
  const workspace = await createDemoWorkspace(path.join(passDir, 'workspace'));
  const cliRun = 'cli-before-untrusted';
  await run(
    process.execPath,
    [path.join(projectRoot, 'dist', 'cli.js'), 'run', 'workflows/review.yaml', '--repo', workspace, '--run-id', cliRun],
    { cwd: workspace, step: 'tapps-flow run workflows/review.yaml (before the untrusted pass)' },
  );
  const gitLog = path.join(passDir, 'git-calls.log');
  const gitWrapper = path.join(passDir, 'git-wrapper.sh');
  await writeFile(gitLog, '');
  await writeFile(gitWrapper, `#!/bin/sh\necho "$*" >> '${gitLog}'\nexec git "$@"\n`, { mode: 0o755 });
  return { workspace, env: { TAPPS_TEST_CLI_RUN: cliRun, TAPPS_GIT: gitWrapper, TAPPS_TEST_GIT_LOG: gitLog } };
}
