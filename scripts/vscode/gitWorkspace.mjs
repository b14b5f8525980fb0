// The workspace the tests open: a real git repository with one commit, as the extension's
// users have, rather than a mock of git.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.mjs';

/** Creates `dir` as a git repository on branch main with one commit; returns `dir`. */
export async function createGitWorkspace(dir) {
  await mkdir(dir, { recursive: true });
  // Variables a surrounding git (a hook, a rebase) may have set would point git elsewhere.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
  const git = (...args) =>
    run('git', ['-c', 'user.name=Tapps Test', '-c', 'user.email=test@tapps.invalid', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dir,
      env,
      step: `git ${args[0]} in the test workspace`,
    });
  await git('init', '-q', '-b', 'main');
  await writeFile(path.join(dir, 'README.md'), '# Test workspace\n\nCreated by scripts/vscode/runIntegration.mjs.\n');
  await git('add', 'README.md');
  await git('commit', '-q', '-m', 'Initial commit');
  return dir;
}
