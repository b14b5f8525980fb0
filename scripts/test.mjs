// `npm test`: the unit tests in plain Node, the hostile suite (planted state, crashes, races,
// hostile input, against real git and real processes), then the integration tests inside a real
// VS Code.
// Closes with one plain line `tests: N passed, N failed` over both, and exits non-zero when any
// test failed or a runner crashed. TAPPS_SKIP_INTEGRATION=1 runs the unit tests alone.
import { spawn } from 'node:child_process';
import { ensureAptPackages, testPackages } from './vscode/install.mjs';

function runTier(name, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let last;
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      for (const line of chunk.toString().split('\n')) {
        const m = /^(?:\w+: )?(\d+) passed, (\d+) failed/.exec(line.trim());
        if (m) last = { passed: Number(m[1]), failed: Number(m[2]) };
      }
    });
    child.on('close', (code) => {
      if (!last) last = { passed: 0, failed: 1 };
      if (code !== 0 && last.failed === 0) last.failed = 1; // a runner that crashed counts as a failure
      console.log(`[${name}] ${last.passed} passed, ${last.failed} failed (exit ${code})`);
      resolve(last);
    });
  });
}

// The hostile tier runs steps under bubblewrap and workers on a real redis-server: install them first (Debian's packages).
try {
  await ensureAptPackages(testPackages);
} catch (error) {
  console.error(`[install] ${error.message}; the sandbox tests will fail without it`);
}

const tiers = [
  ['unit', ['scripts/runMocha.mjs', 'test/unit']],
  ['hostile', ['scripts/runMocha.mjs', 'test/hostile']],
];
if (process.env.TAPPS_SKIP_INTEGRATION !== '1') tiers.push(['integration', ['scripts/vscode/runIntegration.mjs']]);
let passed = 0;
let failed = 0;
for (const [name, args] of tiers) {
  const r = await runTier(name, args);
  passed += r.passed;
  failed += r.failed;
}
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
