// Bundles test/integration/ into out/integration/: index.js (the extensionTestsPath) and one
// bundle per *.test.ts. `vscode` is provided by the extension host; `mocha` stays external and
// resolves from the project's node_modules (out/ is inside the project), so index.js and the test
// files share one mocha instance and its describe/it globals.
import esbuild from 'esbuild';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from './paths.mjs';

export const integrationSrcDir = path.join(projectRoot, 'test', 'integration');
export const integrationOutDir = path.join(projectRoot, 'out', 'integration');
/** The file the extension host loads and whose run() it awaits. */
export const integrationEntry = path.join(integrationOutDir, 'index.js');

export async function buildIntegration() {
  const entryPoints = (await readdir(integrationSrcDir, { recursive: true }))
    .filter((f) => f === 'index.ts' || f.endsWith('.test.ts'))
    .map((f) => path.join(integrationSrcDir, f));
  // Remove bundles of deleted tests, which index.js would otherwise still run.
  await rm(integrationOutDir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints,
    outdir: integrationOutDir,
    outbase: integrationSrcDir,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // Not minified, so failure stacks (which the extension host formats itself, without source
    // maps) still point at readable lines; the maps serve a debugger attached to the host.
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
    external: ['vscode', 'mocha'],
  });
}
