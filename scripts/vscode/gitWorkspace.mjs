// The workspaces the tests open: real git repositories, as the extension's users have, rather
// than a mock of git. Each pass gets its own copy, so that one pass's runs and applied results
// never leak into another's.
import { cp, readdir } from 'node:fs/promises';
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
