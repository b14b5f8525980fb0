// Creates examples/demo-repo: a fresh git repository with three small services and the demo
// workflows, from examples/template. Safe to run again: the old copy is replaced.
//
// It also makes `npx tapps-flow` run this project's CLI (dist/cli.js) in the project's folder and
// in every folder beneath it, the demo repository included, without a global install or the
// registry (the package is not published): npx looks for node_modules/.bin/tapps-flow in the
// folder it starts in and in each folder above. `npm link` would put `tapps-flow` on PATH, but it
// writes into npm's global prefix, which needs sudo wherever that is /usr (Debian's node).
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const project = path.dirname(here);
const target = process.argv[2] ? path.resolve(process.argv[2]) : path.join(here, 'demo-repo');
rmSync(target, { recursive: true, force: true });
cpSync(path.join(here, 'template'), target, { recursive: true });
const git = (...args) => execFileSync('git', args, { cwd: target, stdio: ['ignore', 'ignore', 'inherit'] });
git('init', '--quiet', '--initial-branch=main');
git('-c', 'user.name=Demo', '-c', 'user.email=demo@example.com', 'add', '--all');
git('-c', 'user.name=Demo', '-c', 'user.email=demo@example.com', 'commit', '--quiet', '-m', 'Demo services');
console.log(`Demo repository ready: ${path.relative(process.cwd(), target) || target}`);
// The demo itself (no folder given); the test harnesses that make demo workspaces elsewhere need no CLI.
if (!process.argv[2]) {
  linkBin();
  console.log('Here and in the folders beneath it (examples/demo-repo too), the CLI runs as: npx --no -- tapps-flow');
}

/** node_modules/.bin/tapps-flow → ../../dist/cli.js, as npm links a dependency's bin. */
function linkBin() {
  const bin = path.join(project, 'node_modules', '.bin');
  mkdirSync(bin, { recursive: true });
  const link = path.join(bin, 'tapps-flow');
  rmSync(link, { force: true });
  if (process.platform === 'win32') {
    // npm's own shims on Windows: a .cmd for cmd.exe, a shell script for Git Bash.
    rmSync(`${link}.cmd`, { force: true });
    writeFileSync(`${link}.cmd`, '@node "%~dp0\\..\\..\\dist\\cli.js" %*\r\n');
    writeFileSync(link, '#!/bin/sh\nexec node "$(dirname "$0")/../../dist/cli.js" "$@"\n');
    return;
  }
  // The build (esbuild.js) makes dist/cli.js executable, as npm does when it links a bin.
  symlinkSync(path.join('..', '..', 'dist', 'cli.js'), link);
}
