import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanup } from '../../src/core/cleanup/cleanup';
import { StepLog, type Progress } from '../../src/core/process/stepLog';
import { WorkflowRun } from '../../src/core/run/workflowRun';
import { loadRun } from '../../src/core/state/runs';
import { TappsError } from '../../src/core/util/errors';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { runWorkflow, stepOf, writeWorkflow } from '../unit/helpers/workflowRun';

describe('hostile: engine faults', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  before(async () => {
    repo = await makeTempRepo({ 'README.md': '# faults\n' });
  });
  after(() => repo.cleanup());

  it('a step log that cannot be written (a folder in its place, a full disk) does not take the engine down', async () => {
    const folder = path.join(repo.outside, 'log-is-a-folder');
    await mkdir(folder, { recursive: true });
    for (const file of [folder, '/dev/full']) {
      const seen: Progress[] = [];
      const log = await StepLog.open(file, { onProgress: (p) => seen.push(p) });
      log.write(Buffer.from('first line\n::progress:: 50 half\n'));
      log.note('a note');
      await new Promise((resolve) => setTimeout(resolve, 50));
      log.write(Buffer.from('last line\n'));
      await log.close();
      assert.ok(log.failure, `${file}: the failure is reported`);
      assert.deepEqual(seen, [{ percent: 50, message: 'half' }], 'progress is still read');
      assert.deepEqual(log.lastLines().slice(-1), ['last line'], 'the last lines are still kept');
    }
  });

  it('a UTF-8 character split across two output chunks is read whole', async () => {
    const seen: Progress[] = [];
    const file = path.join(repo.outside, 'utf8.log');
    const log = await StepLog.open(file, { onProgress: (p) => seen.push(p) });
    const bytes = Buffer.from('::progress:: 10 café ☕ naïve\nsecond é\n');
    const cut = bytes.indexOf(Buffer.from('☕')) + 1; // inside the three bytes of ☕
    log.write(bytes.subarray(0, cut));
    log.write(bytes.subarray(cut, bytes.indexOf(Buffer.from('é', 'utf8'), cut + 10) + 1));
    log.write(bytes.subarray(bytes.indexOf(Buffer.from('é', 'utf8'), cut + 10) + 1));
    await log.close();
    assert.deepEqual(seen, [{ percent: 10, message: 'café ☕ naïve' }]);
    assert.deepEqual(log.lastLines(), ['::progress:: 10 café ☕ naïve', 'second é']);
    assert.equal(await readFile(file, 'utf8'), bytes.toString('utf8'));
  });

  it('a relative worktree folder, or one inside the repository, is refused before anything is written', async () => {
    const workflow = await writeWorkflow(repo, { steps: [{ id: 's', run: 'echo s > s.txt' }] }, 'root.yaml');
    const objects = repo.git(['count-objects', '-v']);
    for (const [root, pattern] of [
      ['worktrees', /worktree folder \(tappsFlow\.worktreeRoot\) is "worktrees": expected an absolute path/],
      [path.join(repo.dir, 'inside'), /is inside the repository .*; step worktrees must be outside it/],
    ] as const) {
      await assert.rejects(
        WorkflowRun.prepare({ workflowFile: workflow, repoDir: repo.dir, defaults: { worktreeRoot: root } }),
        (error: unknown) => TappsError.is(error) && error.code === 'invalid-setting' && pattern.test(error.message),
      );
    }
    assert.equal(repo.git(['count-objects', '-v']), objects, 'no object written');
    assert.ok(!existsSync(path.join(repo.dir, '.tapps-agents')), 'no state written');
    assert.ok(!existsSync(path.join(repo.dir, 'worktrees')) && !existsSync(path.join(repo.dir, 'inside')));
  });

  it('a host default out of bounds (a timeout past the 7-day limit, a log cap of 1 byte) is refused with the setting named', async () => {
    const workflow = await writeWorkflow(repo, { steps: [{ id: 's', run: 'true' }] }, 'bounds.yaml');
    for (const [defaults, pattern] of [
      [{ timeoutSeconds: 2_500_000 }, /step timeout .* is 2500000: expected at most 604800 seconds/],
      [{ logMaxBytes: 1 }, /log size cap .* is 1: expected a value from 1024/],
      [{ killGraceSeconds: -1 }, /kill grace .* is -1/],
    ] as const) {
      await assert.rejects(WorkflowRun.prepare({ workflowFile: workflow, repoDir: repo.dir, defaults }), pattern);
    }
  });

  it('a configured worktree folder outside the repository is used, recorded, and trusted when read back', async () => {
    const root = path.join(repo.outside, 'my-worktrees');
    const { snapshot } = await runWorkflow(
      repo,
      { settings: { keep_worktrees: 'always' }, steps: [{ id: 'kept', run: 'echo k > k.txt' }] },
      { defaults: { worktreeRoot: root }, runId: 'custom-root' },
    );
    const worktree = stepOf(snapshot, 'kept').worktree!;
    assert.equal(worktree, path.join(root, 'custom-root', 'kept--custom-root'));
    assert.ok(existsSync(worktree));
    assert.match(await readFile(path.join(repo.dir, '.git', 'tapps-flow', 'worktree-roots'), 'utf8'), new RegExp(root));
    await writeFile(path.join(worktree, 'uncaptured.txt'), 'later\n');
    const location = { root: repo.dir, commonDir: path.join(repo.dir, '.git') };
    assert.equal(stepOf((await loadRun(location, 'custom-root')).snapshot, 'kept').worktree, worktree, 'read back as it was recorded');
    const report = await cleanup(repo.dir, { keep: 0 });
    assert.deepEqual(
      report.archived.map((a) => a.worktree),
      [worktree],
    );
    assert.equal(repo.show('refs/tapps-flow/archive/custom-root/kept--custom-root', 'uncaptured.txt'), 'later\n');
    assert.ok(!existsSync(worktree), 'removed after its work was saved');
  });
});
