import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runDir } from '../../../src/core/run/stateDir';
import { WorkflowRun } from '../../../src/core/run/workflowRun';
import { readRun } from '../../../src/core/state/readRun';
import { runsLeftLocked } from '../../../src/core/state/runLocation';
import { loadRun } from '../../../src/core/state/runs';
import { runElapsedMs } from '../../../src/core/state/snapshot';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { processGone, waitFor } from '../helpers/wait';
import { runWorkflow, sq, writeWorkflow, type WorkflowSpec } from '../helpers/workflowRun';

const projectRoot = path.resolve(__dirname, '../../..');

describe('a run whose process dies', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  before(async () => {
    execFileSync(process.execPath, ['esbuild.js'], { cwd: projectRoot });
    repo = await makeTempRepo({ 'shared.txt': 'one\ntwo\nthree\n' });
  });
  after(() => repo.cleanup());

  it('is marked interrupted, keeps finished results, and resume ends with the aggregate of an uninterrupted run', async () => {
    const fast = path.join(repo.outside, 'fast');
    const spec: WorkflowSpec = {
      settings: { max_parallel: 3 },
      steps: [
        { id: 'a', run: 'echo a > a.txt && sed s/one/ONE/ shared.txt > shared.txt.tmp && mv shared.txt.tmp shared.txt' },
        { id: 'b', run: 'echo b > b.txt' },
        // Slow until the flag exists: the first run is killed while `c` runs, the resume finishes it.
        { id: 'c', run: `if [ -f ${sq(fast)} ]; then echo c > c.txt; else sleep 60; fi` },
        { id: 'd', run: 'cat a.txt c.txt > d.txt', needs: ['a', 'c'] },
      ],
    };
    const file = await writeWorkflow(repo, spec);
    const cli = spawn(
      process.execPath,
      [path.join(projectRoot, 'dist/cli.js'), 'run', file, '--repo', repo.dir, '--run-id', 'killed', '--json'],
      { stdio: 'ignore' },
    );
    const dir = runDir(repo.dir, 'killed');
    const running = await waitFor(
      'a and b done, c running',
      async () => {
        const s = (await readRun(dir).catch(() => undefined))?.snapshot;
        const by = (id: string) => s?.steps.find((x) => x.id === id);
        return by('a')?.status === 'succeeded' && by('b')?.status === 'succeeded' && by('c')?.status === 'running' ? s : undefined;
      },
      60_000,
    );
    const orphan = running.steps.find((x) => x.id === 'c')!.pid!;
    cli.kill('SIGKILL');
    await new Promise((resolve) => cli.once('exit', resolve));

    const status = JSON.parse(
      execFileSync(process.execPath, [path.join(projectRoot, 'dist/cli.js'), 'status', 'killed', '--repo', repo.dir, '--json'], {
        encoding: 'utf8',
      }),
    ) as { status: string; steps: Array<{ id: string; status: string; result: string | null }> };
    assert.equal(status.status, 'interrupted');
    assert.deepEqual(
      status.steps.map((s) => [s.id, s.status]),
      [
        ['a', 'succeeded'],
        ['b', 'succeeded'],
        ['c', 'interrupted'],
        ['d', 'pending'],
      ],
    );
    for (const id of ['a', 'b'])
      assert.equal(repo.git(['rev-parse', `refs/tapps-flow/runs/killed/steps/${id}`]), status.steps.find((s) => s.id === id)!.result);
    await waitFor('the orphaned step process stopped', () => processGone(orphan), 10_000);
    const location = { root: repo.dir, commonDir: path.join(repo.dir, '.git') };
    assert.deepEqual(await runsLeftLocked(location), ['killed'], 'the dead writer left its lock behind (how Windows finds orphans)');

    // The run lies interrupted for a while: that time is not part of its elapsed time.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await writeFile(fast, '');
    const resumed = await WorkflowRun.resume({ repoDir: repo.dir, runId: 'killed' });
    const finished = await resumed.execute();
    await resumed.settled();
    assert.equal(finished.status, 'succeeded');
    const wall = Date.parse(finished.finishedAt!) - Date.parse(finished.startedAt);
    assert.ok(runElapsedMs(finished) > 0, 'the run has an elapsed time');
    assert.ok(runElapsedMs(finished) <= wall - 2000, `elapsed ${runElapsedMs(finished)} ms counts the 2 s pause (wall ${wall} ms)`);
    assert.equal(runElapsedMs(finished, Date.now() + 60_000), runElapsedMs(finished), 'a finished run stops counting');
    assert.deepEqual(
      finished.steps.map((s) => s.status),
      ['succeeded', 'succeeded', 'succeeded', 'succeeded'],
    );
    assert.equal(finished.steps[0].result, status.steps[0].result, 'a kept its result');
    assert.deepEqual(await runsLeftLocked(location), [], 'a run that ended lets go of its lock');

    const clean = await runWorkflow(repo, spec, { runId: 'clean' });
    assert.equal(finished.aggregate!.tree, clean.snapshot.aggregate!.tree);
    assert.equal(finished.aggregate!.commit, clean.snapshot.aggregate!.commit);
    assert.equal(repo.show(finished.aggregate!.commit, 'd.txt'), 'a\nc\n');
  });

  it('is left alone while its owner lives', async () => {
    const loaded = await loadRun({ root: repo.dir, commonDir: path.join(repo.dir, '.git') }, 'clean');
    assert.equal(loaded.snapshot.status, 'succeeded');
  });
});
