// Bundles the extension and the CLI into dist/. `node esbuild.js --production` minifies;
// `--watch` rebuilds on change.
const esbuild = require('esbuild');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: !production,
  sourcesContent: false,
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

async function main() {
  const contexts = await Promise.all([
    esbuild.context({
      ...common,
      entryPoints: ['src/extension.ts'],
      outfile: 'dist/extension.js',
      // The engine is its own bundle, required on first use (src/host/lazyEngine.ts).
      external: ['vscode', './engine.js'],
      // When the bundle starts loading: activate() reports load and activation times from it.
      banner: { js: 'globalThis.__tappsFlowLoadStart = performance.now();' },
    }),
    esbuild.context({ ...common, entryPoints: ['src/host/engine.ts'], outfile: 'dist/engine.js' }),
    esbuild.context({
      ...common,
      entryPoints: ['src/cli.ts'],
      outfile: 'dist/cli.js',
      banner: { js: '#!/usr/bin/env node' },
    }),
  ]);
  if (watch) {
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  // The CLI is run as a program (`npx tapps-flow`, the package's bin): it must be executable.
  require('node:fs').chmodSync('dist/cli.js', 0o755);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
