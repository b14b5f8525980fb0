// Creates examples/demo-repo: a fresh git repository with three small services and the demo
// workflows, from examples/template. Safe to run again: the old copy is replaced.
import { cpSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const target = process.argv[2] ? path.resolve(process.argv[2]) : path.join(here, 'demo-repo');
rmSync(target, { recursive: true, force: true });
cpSync(path.join(here, 'template'), target, { recursive: true });
const git = (...args) => execFileSync('git', args, { cwd: target, stdio: ['ignore', 'ignore', 'inherit'] });
git('init', '--quiet', '--initial-branch=main');
git('-c', 'user.name=Demo', '-c', 'user.email=demo@example.com', 'add', '--all');
git('-c', 'user.name=Demo', '-c', 'user.email=demo@example.com', 'commit', '--quiet', '-m', 'Demo services');
console.log(`Demo repository ready: ${path.relative(process.cwd(), target) || target}`);
