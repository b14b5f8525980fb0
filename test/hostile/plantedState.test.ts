import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCli, cli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { runWorkflow } from '../unit/helpers/workflowRun';
import { fingerprint, plantedEvents, plantRun, startVictim } from './helpers/planted';

const STATE = path.join('.tapps-agents', 'workflow-state');

describe('hostile: run state planted by a cloned repository', function () {
  this.timeout(120_000);
  let origin: TempRepo;
  let clone: string;
  let victim: ReturnType<typeof startVictim>;
  let outsideDir: string;

  before(async () => {
    buildCli();
    victim = startVictim();
    origin = await makeTempRepo({ 'README.md': '# planted\n' });
    outsideDir = path.join(origin.outside, 'victim-folder');
    await mkdir(outsideDir, { recursive: true });
    await writeFile(path.join(outsideDir, 'precious.txt'), 'do not delete\n');
    // Issue's reproduction: an owner that is a dead pid of this host, a step "started" with the
    // pid of an unrelated live process and an empty worktree (which matches every folder), and a
    // second step whose worktree is a folder outside the repository.
    await plantRun(
      path.join(origin.dir, STATE, 'planted'),
      plantedEvents(origin, 'planted', [
        { id: 'kill-me', pid: victim.pid, worktree: '' },
        { id: 'delete-me', pid: victim.pid, worktree: outsideDir, identity: 'guessed' },
      ]),
    );
    origin.git(['add', '-f', '.tapps-agents']);
    origin.git(['commit', '-qm', 'planted run state']);
    clone = path.join(origin.root, 'clone');
    execFileSync('git', ['clone', '-q', origin.dir, clone]);
    execFileSync('git', ['-C', clone, 'config', 'user.email', 't@example.com']);
    execFileSync('git', ['-C', clone, 'config', 'user.name', 'T']);
  });
  after(async () => {
    victim.stop();
    await origin.cleanup();
  });

  const eventsFile = () => path.join(clone, STATE, 'planted', 'events.jsonl');

  it('status shows the run read-only: no process is signalled and the tracked file is not rewritten', async () => {
    const before = await readFile(eventsFile());
    const list = await cli(['status', '--repo', clone]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /planted .*read-only: its state is tracked by git/);
    const one = await cli(['status', 'planted', '--repo', clone, '--json']);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stderr, /tracked by git/);
    assert.equal((JSON.parse(one.stdout) as { status: string }).status, 'interrupted');
    assert.ok(victim.alive(), 'the unrelated process named by the planted pid is alive');
    assert.deepEqual(await readFile(eventsFile()), before, 'the tracked events file is unchanged');
    assert.equal(execFileSync('git', ['-C', clone, 'status', '--porcelain'], { encoding: 'utf8' }), '', 'nothing in the clone changed');
  });

  for (const args of [
    ['resume', 'planted'],
    ['cancel', 'planted'],
    ['apply', 'planted'],
    ['branch', 'planted', 'evil'],
    ['resolve', 'planted', 'x.txt', '--take', 'kill-me'],
  ]) {
    it(`${args[0]} refuses it with exit 2 and changes nothing`, async () => {
      const refs = () => execFileSync('git', ['-C', clone, 'for-each-ref'], { encoding: 'utf8' });
      const exclude = () => readFile(path.join(clone, '.git', 'info', 'exclude'), 'utf8').catch(() => '');
      const before = {
        state: await fingerprint(path.join(clone, STATE)),
        outside: await fingerprint(outsideDir),
        refs: refs(),
        exclude: await exclude(),
      };
      const result = await cli([...args, '--repo', clone]);
      assert.equal(result.code, 2, `${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /tracked by git/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(victim.alive());
      assert.equal(await fingerprint(outsideDir), before.outside);
      assert.equal(await fingerprint(path.join(clone, STATE)), before.state, 'the planted state is unchanged');
      assert.equal(refs(), before.refs, 'no ref written');
      assert.equal(await exclude(), before.exclude, 'nothing written in the git directory');
    });
  }

  it('cleanup leaves it, and every folder outside the repository, alone', async () => {
    const before = await fingerprint(outsideDir);
    const result = await cli(['cleanup', '--keep', '0', '--repo', clone]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await fingerprint(outsideDir), before, 'the folder named as a worktree is intact');
    assert.ok(victim.alive());
    assert.ok(await readFile(eventsFile()), 'the tracked run is still there');
  });
});

describe('hostile: run state planted without git (copied in), and paths that leave the repository', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  let victim: ReturnType<typeof startVictim>;
  let outsideDir: string;

  before(async () => {
    buildCli();
    victim = startVictim();
    repo = await makeTempRepo({ 'README.md': '# planted\n' });
    outsideDir = path.join(repo.outside, 'victim-folder');
    await mkdir(path.join(outsideDir, 'sub'), { recursive: true });
    await writeFile(path.join(outsideDir, 'sub', 'precious.txt'), 'do not delete\n');
    await plantRun(
      path.join(repo.dir, STATE, 'copied'),
      plantedEvents(repo, 'copied', [
        { id: 'a', pid: victim.pid, worktree: '' },
        { id: 'b', pid: victim.pid, worktree: outsideDir, identity: null },
        { id: 'c', pid: victim.pid, worktree: path.join(outsideDir, 'sub') },
      ]),
    );
  });
  after(async () => {
    victim.stop();
    await repo.cleanup();
  });

  it('status shows it interrupted, its steps interrupted, and signals nothing it cannot prove is its own', async () => {
    const result = await cli(['status', 'copied', '--repo', repo.dir, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { status: string; steps: Array<{ status: string }> };
    assert.equal(report.status, 'interrupted');
    assert.deepEqual(
      report.steps.map((s) => s.status),
      ['interrupted', 'interrupted', 'interrupted'],
    );
    assert.match(result.stderr, /not where Tapps Flow puts worktrees/);
    assert.ok(victim.alive());
  });

  it('resume refuses a run whose commits its refs do not hold (exit 2), and signals nothing', async () => {
    const result = await cli(['resume', 'copied', '--repo', repo.dir]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /do not match what the run recorded in git/);
    assert.ok(victim.alive());
  });

  it('cleanup removes the copied state but nothing outside the repository', async () => {
    const before = await fingerprint(outsideDir);
    const result = await cli(['cleanup', '--keep', '0', '--repo', repo.dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await fingerprint(outsideDir), before);
    assert.ok(victim.alive());
  });

  it('a run id that leaves the state folder is refused by every command, and nothing outside is read or written', async () => {
    const outsideRun = path.join(repo.root, 'outside-run');
    const { snapshot } = await runWorkflow(repo, { steps: [{ id: 's', run: 'echo s > s.txt' }] }, { runId: 'real' });
    await plantRun(outsideRun, await readFile(path.join(repo.dir, STATE, 'real', 'events.jsonl'), 'utf8'));
    const before = await fingerprint(outsideRun);
    const traversal = path.relative(path.join(repo.dir, STATE), outsideRun);
    assert.ok(traversal.startsWith('..'), traversal);
    for (const args of [
      ['status', traversal],
      ['resume', traversal],
      ['cancel', traversal],
      ['apply', traversal],
      ['branch', traversal, 'from-outside'],
      ['resolve', traversal, 's.txt', '--take', 's'],
    ]) {
      const result = await cli([...args, '--repo', repo.dir]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /invalid run id/, args.join(' '));
    }
    assert.equal(await fingerprint(outsideRun), before, 'the folder outside is untouched');
    assert.equal(repo.git(['branch', '--list', 'from-outside']), '');
    assert.equal(snapshot.status, 'succeeded');
  });

  it('a state folder that is a symlink out of the repository is neither read nor written through', async () => {
    const other = await makeTempRepo({ 'README.md': '# other\n' });
    try {
      const target = path.join(other.outside, 'elsewhere');
      await plantRun(
        path.join(target, 'workflow-state', 'lured'),
        plantedEvents(other, 'lured', [{ id: 'x', pid: victim.pid, worktree: '' }]),
      );
      await symlink(target, path.join(other.dir, '.tapps-agents'));
      const before = await fingerprint(target);
      const status = await cli(['status', '--repo', other.dir]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stderr, /is a symlink/);
      assert.doesNotMatch(status.stdout, /lured/);
      const workflow = path.join(other.outside, 'w.yaml');
      await writeFile(workflow, 'workflow:\n  id: w\n  steps:\n    - { id: s, agent: shell, run: "echo s > s.txt" }\n');
      const run = await cli(['run', workflow, '--repo', other.dir]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /is a symlink/);
      assert.equal(await fingerprint(target), before, 'nothing written through the symlink');
      assert.ok(victim.alive());
    } finally {
      await other.cleanup();
    }
  });
});
