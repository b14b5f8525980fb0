import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commandName } from '../../../src/cli/commandName';
import { buildCli, cli, CLI, PROJECT } from '../helpers/cli';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { writeWorkflow } from '../helpers/workflowRun';

/** What a printed command looks like: the CLI by one of the names `commandName` gives, at the end of its line. */
const PRINTED = /(?:^|: )((?:npx --no -- tapps-flow|tapps-flow|node \S*cli\.js) .+)$/;

/** The commands in lines of output (each hint ends with its command; a bare name is not a command to run). */
function printedCommands(output: string): string[] {
  return output
    .split('\n')
    .map((line) => PRINTED.exec(line.trimEnd())?.[1])
    .filter((c): c is string => c !== undefined);
}

/**
 * The environment of the user's own shell: nothing npm sets while it runs a script (its
 * `node_modules/.bin` folders on PATH, `npm_*`), an npm cache of its own (a fresh machine), and a
 * registry nobody answers at, so that a command that would fetch the package fails at once
 * instead of a 404 from the real one.
 */
function userEnv(npmCache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== 'INIT_CWD') env[key] = value;
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => !dir.endsWith(path.join('node_modules', '.bin')))
    .join(path.delimiter);
  env.npm_config_cache = npmCache;
  env.npm_config_registry = 'http://127.0.0.1:9/';
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  return env;
}

interface Shell {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command line as the user types it, in `cwd`. */
function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Shell> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd, env, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * A fresh clone of the project after `npm install`: its files as git sees them (no dist/, no
 * demo repository), and a node_modules whose packages are those installed here.
 */
async function freshClone(root: string): Promise<string> {
  const clone = path.join(root, 'clone');
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PROJECT,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const file of listed.split('\0').filter(Boolean)) {
    await mkdir(path.dirname(path.join(clone, file)), { recursive: true });
    await copyFile(path.join(PROJECT, file), path.join(clone, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the working tree
    });
  }
  const modules = path.join(clone, 'node_modules');
  await mkdir(path.join(modules, '.bin'), { recursive: true });
  for (const entry of await readdir(path.join(PROJECT, 'node_modules'))) {
    if (entry === '.bin' || entry.startsWith('.')) continue;
    await symlink(path.join(PROJECT, 'node_modules', entry), path.join(modules, entry));
  }
  // npm's bin links, as npm install makes them (relative: they point into the clone's node_modules).
  for (const bin of await readdir(path.join(PROJECT, 'node_modules', '.bin'))) {
    if (bin === 'tapps-flow') continue; // made by the demo, not by npm install
    await symlink(await readlink(path.join(PROJECT, 'node_modules', '.bin', bin)), path.join(modules, '.bin', bin)).catch(() => undefined);
  }
  return clone;
}

describe('the commands the CLI prints', function () {
  this.timeout(240_000);
  let repo: TempRepo;
  let scratch: string;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# printed\n' });
    scratch = await mkdtemp(path.join(tmpdir(), 'tapps-flow-printed-'));
  });
  after(async () => {
    await repo.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  describe('name the CLI the way that works from the current folder', () => {
    let script: string;
    let project: string;
    before(async () => {
      // A package like this one: bin tapps-flow → dist/cli.js.
      project = path.join(scratch, 'names', 'project');
      script = path.join(project, 'dist', 'cli.js');
      await mkdir(path.dirname(script), { recursive: true });
      await writeFile(script, '#!/usr/bin/env node\n', { mode: 0o755 });
      await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'tapps-flow', bin: { 'tapps-flow': 'dist/cli.js' } }));
    });
    const noPath = { PATH: '/nonexistent' };

    it('`tapps-flow` when that name on PATH is this script (a global install, npm link)', async () => {
      const bin = path.join(scratch, 'names', 'global-bin');
      await mkdir(bin, { recursive: true });
      await symlink(script, path.join(bin, 'tapps-flow'));
      assert.equal(commandName({ script: path.join(bin, 'tapps-flow'), cwd: scratch, env: { PATH: bin } }), 'tapps-flow');
      assert.equal(commandName({ script, cwd: scratch, env: { PATH: bin } }), 'tapps-flow');
    });

    it('not `tapps-flow` for a node_modules/.bin npm put on PATH for a script: it is not on the user’s own PATH', async () => {
      const bin = path.join(scratch, 'names', 'elsewhere', 'node_modules', '.bin');
      await mkdir(bin, { recursive: true });
      await symlink(script, path.join(bin, 'tapps-flow'));
      assert.equal(commandName({ script, cwd: scratch, env: { PATH: bin } }), `node ${path.relative(scratch, script)}`);
    });

    it('`npx tapps-flow` in the package’s folder and below a node_modules/.bin link to it', async () => {
      assert.equal(commandName({ script, cwd: project, env: noPath }), 'npx --no -- tapps-flow');
      assert.equal(commandName({ script, cwd: path.join(project, 'dist'), env: noPath }), 'npx --no -- tapps-flow');
      // A folder with a package of its own (as the demo repository): npx finds the link above it.
      const nested = path.join(project, 'examples', 'demo');
      await mkdir(nested, { recursive: true });
      await writeFile(path.join(nested, 'package.json'), JSON.stringify({ name: 'demo' }));
      assert.equal(commandName({ script, cwd: nested, env: noPath }), `node ${script}`);
      await mkdir(path.join(project, 'node_modules', '.bin'), { recursive: true });
      await symlink(path.join('..', '..', 'dist', 'cli.js'), path.join(project, 'node_modules', '.bin', 'tapps-flow'));
      assert.equal(commandName({ script, cwd: nested, env: noPath }), 'npx --no -- tapps-flow');
    });

    it('`node <path>` elsewhere: relative inside the folder, absolute outside, quoted when it must be', async () => {
      assert.equal(commandName({ script, cwd: scratch, env: noPath }), `node ${path.relative(scratch, script)}`);
      assert.equal(commandName({ script, cwd: repo.dir, env: noPath }), `node ${script}`);
      const spaced = path.join(scratch, 'with space', 'dist', 'cli.js');
      await mkdir(path.dirname(spaced), { recursive: true });
      await writeFile(spaced, '');
      assert.equal(commandName({ script: spaced, cwd: repo.dir, env: noPath }), `node '${spaced}'`);
    });
  });

  it('work exactly as printed: the hint after a run applies its result', async () => {
    const file = await writeWorkflow(repo, { steps: [{ id: 's', run: 'echo printed > printed.txt' }] });
    const env = userEnv(path.join(scratch, 'npm-cache'));
    // From the project folder, through the bundle, as the demo runs it.
    const run = await cli(['run', file, '--repo', path.relative(PROJECT, repo.dir)], { cwd: PROJECT, env });
    assert.equal(run.code, 0, run.stderr);
    const hint = /^Apply it with: (.+)$/m.exec(run.stdout)?.[1];
    assert.ok(hint, run.stdout);
    const commands = printedCommands(run.stdout);
    assert.deepEqual(commands, [hint]);
    const applied = await sh(hint, PROJECT, env);
    assert.equal(applied.code, 0, `${hint}\n${applied.stdout}${applied.stderr}`);
    assert.equal(await repo.read('printed.txt'), 'printed\n');
    // Outside the project the bundle is named by its path.
    const elsewhere = await cli(['status', 'nope', '--repo', repo.dir], { cwd: repo.dir, env });
    assert.match(elsewhere.stderr, new RegExp(`List runs with: node ${CLI.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} status$`, 'm'));
  });

  it('on a fresh clone: `npm run demo`, then every command the demo and the README print, as printed', async function () {
    if (process.platform === 'win32') this.skip(); // the commands are run by sh
    const clone = await freshClone(scratch);
    const env = userEnv(path.join(scratch, 'clone-npm-cache'));
    // README: `npm install && npm run demo`; node_modules stands for the install.
    const demo = await sh('npm run demo', clone, env);
    assert.equal(demo.code, 0, `${demo.stdout}${demo.stderr}`);
    const lastLine = demo.stdout.trimEnd().split('\n').at(-1) ?? '';
    assert.match(lastLine, /^Apply it with: npx --no -- tapps-flow apply \S+ --repo examples\/demo-repo$/, demo.stdout);
    assert.match(demo.stdout, /the CLI runs as: npx --no -- tapps-flow$/m);
    assert.doesNotMatch(`${demo.stdout}${demo.stderr}`, /\(s\)|\d{4}-\d\d-\d\dT\d\d:/, 'no "(s)" plurals, no ISO times');

    // Every command the demo printed, from the project folder where the user stands.
    const commands = printedCommands(demo.stdout);
    assert.ok(commands.length > 0, demo.stdout);
    for (const command of commands) {
      const r = await sh(command, clone, env);
      assert.equal(r.code, 0, `${command}\n${r.stdout}${r.stderr}`);
    }
    assert.match(await readFile(path.join(clone, 'examples', 'demo-repo', 'REVIEW-SUMMARY.md'), 'utf8'), /# Review summary/);
    // "the CLI runs as: npx tapps-flow": here and in the demo repository, offline.
    for (const where of [clone, path.join(clone, 'examples', 'demo-repo')]) {
      const version = await sh('npx --no -- tapps-flow --version', where, env);
      const manifest = JSON.parse(await readFile(path.join(PROJECT, 'package.json'), 'utf8')) as { version: string };
      assert.equal(version.stdout.trim(), manifest.version, version.stderr);
    }

    // Every tapps-flow command of the README's shell blocks, from the project folder.
    const readme = await readFile(path.join(clone, 'README.md'), 'utf8');
    const shellLines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n'));
    const readmeCommands = shellLines
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => /(?:^|&& )(?:npx --no -- )?tapps-flow /.test(l));
    assert.ok(readmeCommands.length >= 3, `the README's commands: ${readmeCommands.join(' | ')}`);
    for (const command of readmeCommands) {
      const r = await sh(command, clone, env);
      assert.equal(r.code, 0, `README: ${command}\n${r.stdout}${r.stderr}`);
      // What it prints works as printed too, from the folder the command left the user in.
      const where = path.join(clone, /^cd (\S+) && /.exec(command)?.[1] ?? '.');
      for (const printed of printedCommands(r.stdout)) {
        const again = await sh(printed, where, env);
        assert.equal(again.code, 0, `${command} printed: ${printed}\n${again.stdout}${again.stderr}`);
      }
    }
  });
});
