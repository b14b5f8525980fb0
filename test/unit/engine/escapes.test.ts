import { strict as assert } from 'node:assert';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BASELINE_FILE, readBaseline, writeBaseline } from '../../../src/core/escape/baseline';
import { EscapeDetector, type EscapesFound } from '../../../src/core/escape/detector';
import { EscapeWatch } from '../../../src/core/escape/escapeWatch';
import { TreeWatcher } from '../../../src/core/escape/watcher';
import { openRepository } from '../../../src/core/git/repository';
import { defaultWorktreeRoot } from '../../../src/core/git/worktrees';
import { WorkflowRun } from '../../../src/core/run/workflowRun';
import type { RunSnapshot } from '../../../src/core/state/snapshot';
import { execFileSync } from 'node:child_process';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { waitFor } from '../helpers/wait';
import { runWorkflow, writeWorkflow } from '../helpers/workflowRun';

/** The blob id of a text. */
function blobOf(text: string): string {
  return execFileSync('git', ['hash-object', '--stdin'], { input: text, encoding: 'utf8' }).trim();
}

describe('engine: detection of writes outside the worktrees', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'README.md': '# r\n', 'src/a/b/c/deep.txt': 'deep\n', '.gitignore': 'build/\n' });
  });
  afterEach(() => repo.cleanup());

  /** A detector on the repository, outside any run: the test plays the steps. */
  const detector = async (options: Omit<Parameters<typeof EscapeWatch.start>[1], 'worktreeRoot'> = {}) => {
    const r = await openRepository(repo.dir);
    const watch = await EscapeWatch.start(r, { worktreeRoot: defaultWorktreeRoot(r), ...options });
    const found: EscapesFound[] = [];
    const d = new EscapeDetector({
      watch,
      baseTree: repo.git(['rev-parse', 'HEAD^{tree}']),
      order: ['s', 't'],
      onFound: (f) => found.push(f),
    });
    return { d, watch, found, paths: () => found.flatMap((f) => f.escapes.map((e) => e.path)) };
  };

  it('the watcher follows folders made after it started, and leaves out the ignored ones', async () => {
    const seen: string[] = [];
    const skip = path.join(repo.dir, 'skip');
    const w = await TreeWatcher.start({
      roots: [{ dir: repo.dir, recursive: true }],
      ignored: (abs) => abs === path.join(repo.dir, '.git') || abs.startsWith(skip),
      onTouch: (abs) => seen.push(path.relative(repo.dir, abs)),
    });
    try {
      await mkdir(path.join(repo.dir, 'new', 'deeper'), { recursive: true });
      await writeFile(path.join(repo.dir, 'new', 'deeper', 'x.txt'), 'x');
      await mkdir(skip);
      await writeFile(path.join(skip, 'y.txt'), 'y');
      await waitFor('the new file to be seen', () => seen.includes(path.join('new', 'deeper', 'x.txt')));
      await writeFile(path.join(repo.dir, 'new', 'deeper', 'x.txt'), 'x2');
      assert.ok(!seen.some((p) => p.startsWith('skip')), `ignored: ${seen.join(', ')}`);
      assert.ok(!seen.some((p) => p.startsWith('.git')));
    } finally {
      w.dispose();
    }
  });

  it('a checkout with more folders than the watch may take is compared whole at the end', async () => {
    const { d, watch, paths } = await detector({ maxFolders: 2 });
    try {
      assert.match(watch.degraded ?? '', /more than 2 folders/);
      d.stepStarted('s');
      await writeFile(path.join(repo.dir, 'src/a/b/c/deep.txt'), 'written where no watch is\n');
      d.stepEnded('s');
      await d.finish();
      assert.deepEqual(paths(), ['src/a/b/c/deep.txt'], 'found by the comparison, timed by its modification time');
    } finally {
      d.dispose();
    }
  });

  it('a write while no step runs is the user’s; a step that overwrites it later is reported against the user’s version', async () => {
    const { d, watch, found } = await detector();
    try {
      await writeFile(path.join(repo.dir, 'README.md'), 'the user\n');
      await writeFile(path.join(repo.dir, 'notes.txt'), 'a new file of the user\n');
      await waitFor('the writes to be seen', () => watch.written.has('file:README.md') && watch.written.has('file:notes.txt'));
      d.stepStarted('s');
      d.stepEnded('s');
      await d.finish();
      assert.deepEqual(found, [], "the user's edits are not escapes");
    } finally {
      d.dispose();
    }
    const again = await detector();
    try {
      await writeFile(path.join(repo.dir, 'README.md'), 'the user, again\n');
      await waitFor('the write to be seen', () => again.watch.written.has('file:README.md'));
      // The user's version is kept as it was written, before any step runs.
      await again.d.whenIdle();
      again.d.stepStarted('t');
      await writeFile(path.join(repo.dir, 'README.md'), 'a step\n');
      await waitFor('the step’s write to be seen', () => (again.watch.written.get('file:README.md')?.length ?? 0) >= 1);
      again.d.stepEnded('t');
      await again.d.finish();
      const [escape] = again.found.flatMap((f) => f.escapes);
      assert.deepEqual([escape.path, escape.steps], ['README.md', ['t']]);
      assert.equal(escape.before?.oid, blobOf('the user, again\n'), 'before: the user’s version, what restore puts back');
    } finally {
      again.d.dispose();
    }
  });

  it('on resume, what changed while no engine watched is put down to the steps then running', async () => {
    // The run's baseline, recorded when it started; then the engine dies, and an orphan writes.
    const r = await openRepository(repo.dir);
    const started = await EscapeWatch.start(r, { worktreeRoot: defaultWorktreeRoot(r) });
    started.dispose();
    await writeFile(path.join(repo.dir, 'while-dead.txt'), 'an orphan wrote this\n');
    repo.git(['branch', 'orphan-branch']);
    const { d, found } = await detector({ baseline: started.baseline });
    try {
      const now = new Date();
      const previous = {
        startedAt: new Date(now.getTime() - 60_000).toISOString(),
        steps: [
          { id: 's', startedAt: new Date(now.getTime() - 50_000).toISOString(), finishedAt: null },
          {
            id: 't',
            startedAt: new Date(now.getTime() - 50_000).toISOString(),
            finishedAt: new Date(now.getTime() - 40_000).toISOString(),
          },
        ],
      } as unknown as RunSnapshot;
      await d.resume(previous);
      const escapes = found.flatMap((f) => f.escapes);
      assert.deepEqual(
        escapes.map((e) => [e.path, e.steps]),
        [
          ['while-dead.txt', ['s']],
          ['refs/heads/orphan-branch', ['s', 't']],
        ],
      );
      assert.ok(found.every((f) => f.check === 'resume'));
      assert.match(escapes[0].detail, /found when the run was resumed/);
    } finally {
      d.dispose();
    }
  });

  it('the baseline is read back trusting nothing: a symlink, garbage, a planted ref are refused', async function () {
    // It links to /etc/passwd, which Windows has not; the refusal's Windows branch is tested in util/openNoFollow.test.ts.
    if (process.platform === 'win32') this.skip();
    const dir = path.join(repo.root, 'state');
    await mkdir(dir);
    assert.match(String(((await readBaseline(dir)) as { problem: string }).problem), /missing/);
    const r = await openRepository(repo.dir);
    const watch = await EscapeWatch.start(r, { worktreeRoot: defaultWorktreeRoot(r) });
    watch.dispose();
    await writeBaseline(dir, watch.baseline);
    const back = await readBaseline(dir);
    assert.ok(!('problem' in back), JSON.stringify(back));
    assert.deepEqual([...back.refs], [...watch.baseline.refs]);
    const file = path.join(dir, BASELINE_FILE);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"refs/heads/main"', '"refs/tapps-flow/x"'));
    assert.match(((await readBaseline(dir)) as { problem: string }).problem, /not one Tapps Flow wrote/);
    await writeFile(file, '{"version":1');
    assert.match(((await readBaseline(dir)) as { problem: string }).problem, /not JSON/);
    await rm(file);
    await symlink('/etc/passwd', file);
    assert.match(((await readBaseline(dir)) as { problem: string }).problem, /cannot be read \(ELOOP\)/);
  });

  it('a resumed run whose baseline was tampered with takes a new one and goes on', async () => {
    const file = await writeWorkflow(repo, { steps: [{ id: 'fails', run: 'exit 3' }] });
    const run = await WorkflowRun.prepare({ repoDir: repo.dir, workflowFile: file, runId: 'tampered' });
    await run.execute();
    await run.settled();
    run.store.dispose();
    await writeFile(path.join(run.stateDir, BASELINE_FILE), '{"version":1,"head":"","refs":[["refs/heads/main","zz"]]}');
    await writeWorkflow(repo, { steps: [{ id: 'fails', run: 'true' }] });
    const resumed = await WorkflowRun.resume({ repoDir: repo.dir, runId: 'tampered' });
    try {
      const snapshot = await resumed.execute();
      assert.equal(snapshot.status, 'succeeded');
      assert.equal(snapshot.escaped, false, 'nothing is made up from a planted baseline');
      assert.ok(!('problem' in (await readBaseline(run.stateDir))), 'a valid baseline replaced it');
    } finally {
      await resumed.settled();
      resumed.store.dispose();
    }
  });

  it('with isolation off nothing is watched and no baseline is written', async () => {
    const { snapshot, run } = await runWorkflow(repo, {
      settings: { isolation: 'off' },
      steps: [{ id: 's', run: `echo x > ${JSON.stringify(path.join(repo.dir, 'x.txt'))}` }],
    });
    assert.equal(snapshot.escaped, false);
    await assert.rejects(readFile(path.join(run.stateDir, BASELINE_FILE)), /ENOENT/);
  });
});
