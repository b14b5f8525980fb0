// Runs a mocha suite in plain Node (TypeScript through tsx) and closes with the plain line
// `tests: N passed, N failed` that CI reads. Exits non-zero when any test fails.
import Mocha from 'mocha';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { register } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

// The package is CommonJS: tsx's CJS hook compiles the .ts files Node loads with require.
register();
registerCjs();
// Folders are searched for *.test.ts; files are taken as they are (`runMocha.mjs test/hostile/x.test.ts`).
const targets = process.argv.length > 2 ? process.argv.slice(2) : ['test/unit'];
const grep = process.env.MOCHA_GREP;
const mocha = new Mocha({ timeout: 60_000, reporter: 'spec', ...(grep ? { grep } : {}) });
const files = [];
for (const target of targets) {
  if (target.endsWith('.test.ts')) files.push(path.resolve(target));
  else for (const f of await readdir(target, { recursive: true })) if (f.endsWith('.test.ts')) files.push(path.resolve(target, f));
}
files.sort();
for (const f of files) mocha.addFile(f);
await mocha.loadFilesAsync();
const runner = mocha.run((failures) => {
  const passed = runner.stats?.passes ?? 0;
  const failed = runner.stats?.failures ?? failures;
  console.log(`tests: ${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
});
