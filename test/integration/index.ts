// The extension host `require`s this file's bundle (the payload's extensionTestsPath) and awaits
// run(): resolving means the tests passed. It runs the bundled *.test.js files of one suite:
// TAPPS_TEST_SUITE=main (the default) runs the files beside it, any other name the files in the
// folder of that name (untrusted/, vsix/), each suite in the workspace and server the harness
// set up for it.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Runs every integration test of the suite with mocha and rejects when any failed or none ran. */
export function run(): Promise<void> {
  const grep = process.env.MOCHA_GREP;
  const suite = process.env.TAPPS_TEST_SUITE ?? 'main';
  // No colours: the report reaches the harness as plain log lines, where escapes are noise.
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec', ...(grep ? { grep } : {}) });
  // After bundling, __dirname is out/integration/, where the test bundles are.
  const files = readdirSync(__dirname, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.js') && (suite === 'main' ? path.dirname(f) === '.' : path.dirname(f) === suite))
    .sort();
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const passed = runner.stats?.passes ?? 0;
        const failed = runner.stats?.failures ?? failures;
        // The harness reads this line to count the suite's tests.
        console.log(`suite ${suite}: ${passed} passed, ${failed} failed`);
        if (failed > 0) reject(new Error(`${failed} integration test(s) failed`));
        else if (passed === 0)
          reject(new Error(`no integration test ran (found ${files.length} test files of suite ${suite} in ${__dirname})`));
        else resolve();
      });
    } catch (e) {
      // A test file that throws while loading surfaces here, before any test runs.
      console.log(`suite ${suite}: 0 passed, 1 failed`);
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}
