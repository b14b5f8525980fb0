// A step's setup phase against real git and real processes: files brought in from the main
// checkout, setup commands, their churn left out of the result, secrets kept out of results and logs.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunEvent } from '../../../src/core/state/events';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { waitFor } from '../helpers/wait';
import { readStateFile, resultOf, runWorkflow, SHELL_CWD, sq, startWorkflow, stepOf } from '../helpers/workflowRun';

const SECRET = 'sk-test-4f9a8b7c6d5e';

type SettingUp = Extract<RunEvent, { type: 'step_setting_up' }>;

describe('setup: a step worktree set up before its agent runs', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({
      '.gitignore': '.env\nlocal.json\nnode_modules/\n',
      'package-lock.json': '{"lockfileVersion": 3}\n',
      'src/app.js': 'module.exports = 1;\n',
    });
    await repo.write('.env', `API_KEY=${SECRET}\nPORT=3000\n`);
    await repo.write('local.json', '{"debug": true}\n');
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('copies the ignored files, runs the commands, and the step sees both; the churn and the copies stay out of its result', async () => {
    const { snapshot, events, run } = await runWorkflow(repo, {
      setup: {
        copy: ['.env', 'local.json'],
        commands: ['mkdir -p node_modules/dep && echo "module.exports = 2" > node_modules/dep/index.js', 'echo "{}" >> package-lock.json'],
      },
      steps: [{ id: 'build', run: 'test -f .env && test -f local.json && test -f node_modules/dep/index.js && echo built > out.txt' }],
    });
    assert.equal(snapshot.status, 'succeeded', stepOf(snapshot, 'build').error ?? '');
    assert.deepEqual(stepOf(snapshot, 'build').changed, ['out.txt']);
    const result = resultOf(snapshot, 'build');
    assert.equal(repo.git(['ls-tree', '--name-only', result, '.env', 'local.json', 'node_modules']), '');
    assert.equal(repo.show(result, 'package-lock.json'), '{"lockfileVersion": 3}\n');
    // The phase is in the events: once when it begins, then each command as it starts, with its process.
    const setting = events.filter((e): e is SettingUp => e.type === 'step_setting_up');
    assert.deepEqual(
      setting.map((e) => [e.pid === null, e.command ?? null, e.origin ?? null]),
      [
        [true, null, null],
        [false, 'mkdir -p node_modules/dep && echo "module.exports = 2" > node_modules/dep/index.js', 'workflow setup'],
        [false, 'echo "{}" >> package-lock.json', 'workflow setup'],
      ],
    );
    assert.ok(events.findIndex((e) => e.type === 'step_setting_up') < events.findIndex((e) => e.type === 'step_started'));
    const log = await readStateFile(run, stepOf(snapshot, 'build').log);
    assert.match(
      log,
      /── setup ──[\s\S]*copied \.env \(a secret[\s\S]*\$ echo "\{\}" >> package-lock\.json {3}\(from workflow setup\)[\s\S]*── agent ──/,
    );
  });

  it("keeps the step's own change to a file the setup changed too", async () => {
    const { snapshot } = await runWorkflow(repo, {
      setup: { commands: ['echo setup >> package-lock.json'] },
      steps: [{ id: 'bump', run: 'echo step >> package-lock.json' }],
    });
    assert.equal(snapshot.status, 'succeeded', stepOf(snapshot, 'bump').error ?? '');
    assert.deepEqual(stepOf(snapshot, 'bump').changed, ['package-lock.json']);
    assert.equal(repo.show(resultOf(snapshot, 'bump'), 'package-lock.json'), '{"lockfileVersion": 3}\nsetup\nstep\n');
  });

  it('masks a copied secret in the step log, even split across writes', async () => {
    const half = SECRET.length / 2;
    const { snapshot, run } = await runWorkflow(repo, {
      setup: { copy: ['.env'] },
      steps: [
        {
          id: 'talker',
          run: `printf 'key is %s\\n' "$(sed -n 's/^API_KEY=//p' .env)"; printf '%s' ${sq(SECRET.slice(0, half))}; sleep 0.2; printf '%s end\\n' ${sq(SECRET.slice(half))}; echo ok > out.txt`,
        },
      ],
    });
    assert.equal(snapshot.status, 'succeeded', stepOf(snapshot, 'talker').error ?? '');
    const log = await readStateFile(run, stepOf(snapshot, 'talker').log);
    assert.ok(!log.includes(SECRET), 'the secret is not in the log');
    assert.match(log, /key is \*\*\*\n/);
    assert.match(log, /\*\*\* end\n/);
  });

  it('leaves a copied secret out of the result even when the step un-ignores it', async () => {
    const { snapshot } = await runWorkflow(repo, {
      setup: { copy: ['.env'] },
      steps: [{ id: 'unignore', run: 'printf "node_modules/\\n" > .gitignore; echo ok > out.txt' }],
    });
    assert.equal(snapshot.status, 'succeeded', stepOf(snapshot, 'unignore').error ?? '');
    assert.deepEqual(stepOf(snapshot, 'unignore').changed, ['.gitignore', 'out.txt']);
    assert.equal(repo.git(['ls-tree', '--name-only', resultOf(snapshot, 'unignore'), '.env']), '');
    assert.equal(repo.git(['ls-tree', '--name-only', snapshot.aggregate!.tree, '.env']), '');
  });

  it("fails a step that wrote a secret's value into a file of its result, saying which file", async () => {
    const { snapshot, run } = await runWorkflow(repo, {
      setup: { copy: ['.env'] },
      steps: [{ id: 'leaker', run: `cat .env > src/config.txt` }],
    });
    const step = stepOf(snapshot, 'leaker');
    assert.equal(step.status, 'failed');
    assert.equal(step.error, 'the step wrote the value of a copied secret into src/config.txt; its result is not kept');
    assert.equal(step.result, null);
    assert.ok(!(await readStateFile(run, step.log)).includes(SECRET));
    assert.ok(!JSON.stringify(snapshot).includes(SECRET));
  });

  it("fails the step with the setup's own message when a setup command fails, and its agent never runs", async () => {
    const marker = path.join(repo.outside, 'agent-ran');
    const { snapshot } = await runWorkflow(repo, {
      setup: { commands: ['echo preparing; exit 3'] },
      steps: [{ id: 'never', run: `touch ${sq(marker)}` }],
    });
    const step = stepOf(snapshot, 'never');
    assert.equal(step.status, 'failed');
    assert.equal(
      step.error,
      `setup failed: the setup command "echo preparing; exit 3" (from workflow setup) exited with code 3; see the step's log`,
    );
    assert.deepEqual(step.lastLines.slice(-1), ['preparing']);
    assert.equal(existsSync(marker), false);
  });

  it('times out a setup that hangs, with its own limit, and stops its processes', async () => {
    const { snapshot } = await runWorkflow(repo, {
      settings: { kill_grace_seconds: 1 },
      setup: { commands: ['sleep 60'], timeout_seconds: 1 },
      steps: [{ id: 'slow', run: 'echo never > out.txt' }],
    });
    const step = stepOf(snapshot, 'slow');
    assert.equal(step.status, 'timed_out');
    assert.match(step.error ?? '', /^setup timed out after 1 s, in the setup command "sleep 60" \(from workflow setup\)/);
  });

  it('cancelling a step while it is set up stops the setup, and the step is cancelled', async () => {
    const started = await startWorkflow(repo, {
      setup: { commands: ['sleep 30'] },
      steps: [{ id: 'waiting', run: 'echo never > out.txt' }],
    });
    await waitFor('the step is setting up with a process', () => {
      const s = stepOf(started.run.snapshot, 'waiting');
      return s.status === 'setting_up' && s.pid !== null ? s : undefined;
    });
    started.run.cancelStep('waiting');
    const snapshot = await started.finished;
    assert.equal(stepOf(snapshot, 'waiting').status, 'cancelled');
  });

  it('does nothing with settings.setup: none', async () => {
    const { snapshot, events } = await runWorkflow(repo, {
      settings: { setup: 'none' },
      setup: { copy: ['.env'], commands: ['exit 1'] },
      steps: [{ id: 'bare', run: 'test ! -e .env && echo bare > out.txt' }],
    });
    assert.equal(snapshot.status, 'succeeded', stepOf(snapshot, 'bare').error ?? '');
    assert.equal(events.filter((e) => e.type === 'step_setting_up').length, 0);
  });

  it('gives each setup command the paths other tools give theirs', async () => {
    const seen = path.join(repo.outside, 'env.txt');
    const { snapshot } = await runWorkflow(repo, {
      setup: { commands: [`echo "$ROOT_WORKTREE_PATH|$CONDUCTOR_ROOT_PATH|$CONDUCTOR_WORKSPACE_NAME|${SHELL_CWD}" > ${sq(seen)}`] },
      steps: [{ id: 'paths', run: 'echo ok > out.txt' }],
    });
    assert.equal(snapshot.status, 'succeeded', stepOf(snapshot, 'paths').error ?? '');
    const [root, conductorRoot, name, cwd] = (await readFile(seen, 'utf8')).trim().split('|');
    assert.equal(root, repo.dir);
    assert.equal(conductorRoot, repo.dir);
    assert.equal(name, 'paths');
    assert.equal(cwd, stepOf(snapshot, 'paths').worktree);
  });
});
