// The extension as a user installs it: the .vsix that `vsce package` builds (the same flags as
// `npm run package`), the list of files it ships, and its installation into a code-server
// extensions folder with code-server's own CLI.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.mjs';
import { codeServerDir, node24Bin, projectRoot } from './paths.mjs';
import { serverEnv } from './server.mjs';

const vsce = path.join(projectRoot, 'node_modules', '.bin', 'vsce');
/**
 * No repository is declared, so vsce cannot turn README's relative links into absolute ones; left
 * relative they still resolve inside the installed extension, whose media/ holds the images.
 */
const vsceFlags = ['--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links'];

/**
 * Builds `<outDir>/tapps-flow.vsix`. vsce runs the manifest's `vscode:prepublish` first, which
 * writes the production bundle into dist/.
 * @returns {Promise<string>} the .vsix path
 */
export async function packageExtension(outDir) {
  await mkdir(outDir, { recursive: true });
  const vsix = path.join(outDir, 'tapps-flow.vsix');
  await run(vsce, ['package', ...vsceFlags, '-o', vsix], {
    cwd: projectRoot,
    step: 'vsce package',
    hint: "run `npm run package` to see vsce's full output",
  });
  return vsix;
}

/** What `vsce ls` says the package holds, one path a line. */
export async function packagedFiles() {
  const out = await run(vsce, ['ls', '--no-dependencies'], { cwd: projectRoot, step: 'vsce ls' });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}

/** Files the package must hold, and the only ones it may (`.vscodeignore` ships what runs). */
const required = [
  'dist/extension.js',
  'dist/engine.js',
  'dist/cli.js',
  'package.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'schema/workflow.schema.json',
];
const allowed = (f) => required.includes(f) || f.startsWith('media/') || f.startsWith('schema/');

/** @returns {string[]} what is wrong with the file list (empty when it is right) */
export function checkPackagedFiles(files) {
  const problems = [];
  const missing = required.filter((f) => !files.includes(f));
  if (missing.length > 0) problems.push(`missing from the package: ${missing.join(', ')}`);
  if (!files.some((f) => f.startsWith('media/'))) problems.push('no media/ in the package (the activity-bar icon)');
  const extra = files.filter((f) => !allowed(f));
  if (extra.length > 0) problems.push(`not expected in the package: ${extra.join(', ')}`);
  return problems;
}

/** `code-server --install-extension FILE --extensions-dir DIR`, with the server's scratch HOME. */
export async function installVsix(vsix, extensionsDir, home) {
  await mkdir(extensionsDir, { recursive: true });
  await mkdir(home, { recursive: true });
  await run(
    node24Bin,
    [path.join(codeServerDir, 'out', 'node', 'entry.js'), '--extensions-dir', extensionsDir, '--install-extension', vsix],
    {
      env: serverEnv(home),
      step: `code-server --install-extension ${path.basename(vsix)}`,
    },
  );
}
