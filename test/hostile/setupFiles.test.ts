// Setup files come with the repository: a clone can plant them. What they run is said before it
// runs, ends with the step, is found after a crash, and a broken one stops the run before anything
// is written.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { leftovers } from './helpers/runs';
import { buildCli, cli, startCli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { waitFor } from '../unit/helpers/wait';
import { sq, writeWorkflow } from '../unit/helpers/workflowRun';

describe('hostile: setup files of other tools, planted in a clone', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  before(() => buildCli());
  beforeEach(async () => {
    repo = await makeTempRepo({ '.gitignore': '.env\n', 'README.md': '# setup\n' });
    await repo.write('.env', 'TOKEN=tok-1234567890\n');
  });
  afterEach(() => repo.cleanup());

  it('the CLI prints the commands of .cursor/worktrees.json before the run and as each starts, and a process it detaches ends with the step', async () => {
    const marker = path.join(repo.outside, 'setup-escaped');
    await repo.write(
      '.cursor/worktrees.json',
      JSON.stringify({ 'setup-worktree': [`setsid sh -c 'sleep 2; echo escaped > ${sq(marker)}' &`, 'echo prepared > prepared.txt'] }),
    );
    await repo.write('.worktreeinclude', '.env\n');
    repo.commit('setup files');
    const workflow = await writeWorkflow(repo, {
      steps: [{ id: 'work', run: 'test -f prepared.txt && test -f .env && echo ok > out.txt' }],
    });
    const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'planted-cursor'], {
      env: { ...process.env, TAPPS_NO_BWRAP: '1' },
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const plan = result.stdout.indexOf("Setup of each step's worktree:");
    const running = result.stdout.indexOf('work $ echo prepared > prepared.txt   (from .cursor/worktrees.json)');
    assert.ok(plan >= 0 && running > plan, result.stdout);
    assert.match(result.stdout, /\n {4}\.env — a secret: never in a result, its values masked in logs {3}\(from \.worktreeinclude\)\n/);
    assert.match(result.stdout, /\n {4}\$ echo prepared > prepared\.txt {3}\(from \.cursor\/worktrees\.json\)\n/);
    assert.equal(leftovers('planted-cursor'), 0);
    await sleep(2_500);
    assert.equal(existsSync(marker), false, "the setup's detached process wrote after its step ended");
  });

  it("the engine killed during setup: the next command stops the setup's processes, found by their recorded tag", async () => {
    const marker = path.join(repo.outside, 'after-setup-death');
    const workflow = await writeWorkflow(repo, {
      setup: { commands: [`cd / && setsid sh -c 'sleep 4; echo escaped > ${sq(marker)}' & sleep 30`] },
      steps: [{ id: 'never', run: 'echo never > out.txt' }],
    });
    const runId = 'setup-killed';
    const env = { ...process.env, TAPPS_NO_BWRAP: '1' };
    const started = startCli(['run', workflow, '--repo', repo.dir, '--run-id', runId], { env });
    const events = path.join(repo.dir, '.tapps-agents', 'workflow-state', runId, 'events.jsonl');
    await waitFor('the setup command is recorded with its process', async () =>
      /"step_setting_up"[^\n]*"pid":\d/.test(await readFile(events, 'utf8').catch(() => '')),
    );
    await waitFor('the setup and its escapee run', () => leftovers(runId) >= 2);
    started.child.kill('SIGKILL');
    await started.done;
    const status = await cli(['status', runId, '--repo', repo.dir], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stderr, /Stopped the processes that step never of interrupted run setup-killed left running/);
    assert.match(status.stdout, /never +interrupted/);
    assert.equal(leftovers(runId), 0);
    await sleep(4_500);
    assert.equal(existsSync(marker), false);
  });

  it('a broken setup file stops the run before anything is written, naming the file and what was expected (exit 2)', async () => {
    await repo.write('.cursor/worktrees.json', '{"setup-worktree": 5}');
    repo.commit('broken setup file');
    const workflow = await writeWorkflow(repo, { steps: [{ id: 'step', run: 'echo x > out.txt' }] });
    const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', 'broken-setup']);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /\.cursor\/worktrees\.json/);
    assert.match(result.stderr, /setup-worktree/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(path.join(repo.dir, '.tapps-agents', 'workflow-state', 'broken-setup')), false);
    assert.equal(repo.git(['for-each-ref', 'refs/tapps-flow']), '');
  });

  it('setup --explain prints the plan, where each part came from, and what is not used', async () => {
    await repo.write('.worktreeinclude', '.env\n');
    await repo.write('.cursor/worktrees.json', JSON.stringify({ 'setup-worktree': ['npm ci'] }));
    await repo.write('conductor.json', JSON.stringify({ scripts: { setup: 'pnpm install', run: 'pnpm dev' } }));
    repo.commit('several tools');
    const result = await cli(['setup', '--explain', '--repo', repo.dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Setup of each step's worktree in .*:\n/);
    assert.match(result.stdout, /\n {4}\.env — a secret[^\n]*\(from \.worktreeinclude\)\n/);
    assert.match(result.stdout, /\n {4}\$ npm ci {3}\(from \.cursor\/worktrees\.json\)\n/);
    assert.match(
      result.stdout,
      /\n {2}the ignored folders they install \(node_modules, \.venv, venv, target, vendor\) are shared between worktrees\n/,
    );
    assert.match(
      result.stdout,
      /\nNot used:\n[\s\S]*conductor\.json: its setup commands are not run: those of \.cursor\/worktrees\.json come first/,
    );
    const json = JSON.parse((await cli(['setup', '--explain', '--repo', repo.dir, '--json'])).stdout) as {
      commands: Array<{ command: string; origin: string }>;
    };
    assert.deepEqual(json.commands, [{ command: 'npm ci', origin: '.cursor/worktrees.json' }]);
    const usage = await cli(['setup', '--repo', repo.dir]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /"setup" takes --explain/);
  });
});
