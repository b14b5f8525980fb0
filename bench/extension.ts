/**
 * `npm run bench`, extension part: sizes of the bundle and of the .vsix, and, inside a real VS Code
 * (the integration harness's code-server), the activation time of the bundled extension and how
 * often the Runs view refreshes while eight steps print progress as fast as they can. Results go
 * to bench/results/extension.json and a printed table.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmtBytes, fmtMs, renderTable, type Row } from './lib/table';

const root = path.resolve(__dirname, '..');
const harness = (name: string) =>
  import(pathToFileURL(path.join(root, 'scripts', 'vscode', name)).href) as Promise<Record<string, (...args: never[]) => Promise<unknown>>>;

interface InHost {
  readonly activationMs: number;
  readonly bundleLoadMs: number;
  readonly activateFunctionMs: number;
  readonly hostGapMs: number;
  readonly seconds: number;
  readonly runningSeconds: number;
  readonly refreshes: number;
  readonly refreshesPerSecond: number;
  readonly progressEvents: number;
  readonly progressLinesPrinted: number;
}

async function sizes(): Promise<Row[]> {
  execFileSync('npm', ['run', '-s', 'package'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const shell = (await stat(path.join(root, 'dist', 'extension.js'))).size;
  const bundle = shell + (await stat(path.join(root, 'dist', 'engine.js'))).size;
  const vsix = (await stat(path.join(root, 'tapps-flow.vsix'))).size;
  const cli = (await stat(path.join(root, 'dist', 'cli.js'))).size;
  return [
    { section: 'extension size', measurement: 'dist/extension.js, loaded at activation (production)', value: fmtBytes(shell) },
    {
      section: 'extension size',
      measurement: 'dist/extension.js + dist/engine.js (the engine, loaded on first use)',
      value: fmtBytes(bundle),
      baseline: 'target 500 KiB',
      ratio: bundle / (500 * 1024),
      target: '≤ 1×',
      ok: bundle <= 500 * 1024,
    },
    {
      section: 'extension size',
      measurement: 'tapps-flow.vsix',
      value: fmtBytes(vsix),
      baseline: 'target 1 MiB',
      ratio: vsix / (1024 * 1024),
      target: '≤ 1×',
      ok: vsix <= 1024 * 1024,
    },
    { section: 'extension size', measurement: 'dist/cli.js (production bundle)', value: fmtBytes(cli) },
  ];
}

async function inHost(): Promise<InHost> {
  const { installTools } = await harness('install.mjs');
  const { buildIntegration } = await harness('buildIntegration.mjs');
  const { runSuitePass } = await harness('suitePass.mjs');
  await installTools();
  execFileSync(process.execPath, ['esbuild.js', '--production'], { cwd: root, stdio: 'inherit' });
  await buildIntegration();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'tapps-flow-bench-ext-'));
  try {
    // A repository that holds nothing that activates the extension: the test activates it itself.
    const workspace = path.join(scratch, 'workspace');
    await mkdir(workspace);
    await writeFile(path.join(workspace, 'README.md'), '# bench\n');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], { cwd: workspace, stdio: 'ignore' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'bench');
    const passDir = path.join(scratch, 'pass');
    const result = await (runSuitePass as (o: object) => Promise<{ passed: number; failed: number }>)({
      suite: 'bench',
      passDir,
      workspace,
    });
    if (result.failed > 0 || result.passed === 0) throw new Error(`the in-host bench failed; see ${passDir}/workbench.log`);
    const log = await readFile(path.join(passDir, 'workbench.log'), 'utf8');
    const line = /BENCH (\{.*\})/.exec(log);
    if (!line) throw new Error('the in-host bench printed no BENCH line');
    return JSON.parse(line[1]) as InHost;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Row[] = await sizes();
  const host = await inHost();
  rows.push(
    {
      section: 'extension in VS Code',
      measurement: 'activation: loading the bundle + activate()',
      value: fmtMs(host.bundleLoadMs + host.activateFunctionMs),
      baseline: 'target 30 ms',
      ratio: (host.bundleLoadMs + host.activateFunctionMs) / 30,
      target: '≤ 1×',
      ok: host.bundleLoadMs + host.activateFunctionMs <= 30,
      note: `load ${fmtMs(host.bundleLoadMs)}, activate() ${fmtMs(host.activateFunctionMs)}`,
    },
    {
      section: 'extension in VS Code',
      measurement: "Extension.activate() as another extension sees it (adds VS Code's own work)",
      value: fmtMs(host.activationMs),
      note: `of which VS Code between loading the bundle and calling activate(): ${fmtMs(host.hostGapMs)}`,
    },
    {
      section: 'extension in VS Code',
      measurement: `tree refreshes per second, 8 steps printing progress for 3 s (${host.progressLinesPrinted.toLocaleString('en')} lines)`,
      value: host.refreshesPerSecond.toFixed(1),
      baseline: 'target 10 / s',
      ratio: host.refreshesPerSecond / 10,
      target: '≤ 1×',
      ok: host.refreshesPerSecond <= 10,
    },
    {
      section: 'extension in VS Code',
      measurement: 'progress events recorded (coalesced to ≤ 10 / s per step)',
      value: String(host.progressEvents),
      baseline: `${host.progressLinesPrinted.toLocaleString('en')} lines printed`,
      ratio: host.progressEvents / Math.max(1, host.progressLinesPrinted),
    },
  );
  const resultsDir = path.join(__dirname, 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(
    path.join(resultsDir, 'extension.json'),
    `${JSON.stringify({ measuredAt: new Date().toISOString(), host, rows }, null, 2)}\n`,
  );
  process.stdout.write(`\nTapps Flow bench, the extension:\n\n${renderTable(rows)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`extension bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
