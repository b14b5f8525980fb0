// `npm run demo:browser`: the demo in a browser-based VS Code on this machine. Installs the tools
// once (see scripts/vscode/install.mjs), packages the extension, installs the .vsix into a
// code-server on 127.0.0.1, opens the demo repository in it, and waits until Ctrl-C.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { installTools, cleanEnv } from './vscode/install.mjs';
import { codeServerDir, node24Bin, projectRoot, runStamp, testRunsDir } from './vscode/paths.mjs';
import { startServer } from './vscode/server.mjs';

const sh = (cmd, args, env) => execFileSync(cmd, args, { cwd: projectRoot, stdio: 'inherit', env: env ?? process.env });
await installTools();
sh('npm', ['run', '-s', 'package']);
sh(process.execPath, ['examples/setupDemo.mjs']);
const runDir = path.join(testRunsDir, `demo-${runStamp()}`);
const server = await startServer({ runDir });
const home = path.join(runDir, 'server', 'home');
sh(
  node24Bin,
  [
    path.join(codeServerDir, 'out', 'node', 'entry.js'),
    '--extensions-dir',
    path.join(runDir, 'server', 'extensions'),
    '--install-extension',
    path.join(projectRoot, 'tapps-flow.vsix'),
  ],
  { ...cleanEnv(), HOME: home },
);
const folder = path.join(projectRoot, 'examples', 'demo-repo');
console.log(
  `\nOpen ${server.origin}/?folder=${encodeURIComponent(folder)}\nthen run "Tapps Flow: Run Workflow…" (F1) and pick workflows/review.yaml or workflows/conflicting.yaml.\nThe extension may need a window reload (F1 → Developer: Reload Window) to appear. Ctrl-C stops the server.`,
);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
setInterval(() => undefined, 1 << 30);
