// The warm pool hands a worktree one step worked in to another run's step: nothing the first step
// left may reach the second, nor write outside the worktree when it is reused.
import { strict as assert } from 'node:assert';
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCli, cli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { sq, writeWorkflow } from '../unit/helpers/workflowRun';

interface Report {
  readonly status: string;
  readonly steps: ReadonlyArray<{ readonly id: string; readonly status: string; readonly error: string | null }>;
}

describe('hostile: a worktree reused from the warm pool', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  let outside: string;
  before(() => buildCli());
  beforeEach(async () => {
    repo = await makeTempRepo({ 'src/app.js': 'one\n', 'src/lib/util.js': 'two\n', 'README.md': '# pool\n' });
    outside = path.join(repo.outside, 'target');
    await mkdir(outside);
    await writeFile(path.join(outside, 'keep.txt'), 'mine\n');
  });
  afterEach(() => repo.cleanup());

  async function run(name: string, steps: Array<{ id: string; run: string }>, crashAt?: string): Promise<Report> {
    const workflow = await writeWorkflow(repo, { settings: { pool_size: 2, max_parallel: 1 }, steps }, `${name}.yaml`);
    const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', name, '--json'], {
      env: { ...process.env, TAPPS_NO_BWRAP: '1', ...(crashAt ? { TAPPS_TEST_CRASH_AT: crashAt } : {}) },
    });
    if (crashAt) {
      assert.equal(result.signal, 'SIGKILL', `expected a crash at ${crashAt}: ${result.stderr}`);
      return { status: 'crashed', steps: [] };
    }
    return JSON.parse(result.stdout) as Report;
  }

  /** git's worktree entries that name a folder that is gone, and the pool's folders and records. */
  async function leftovers(): Promise<{ prunable: string[]; pool: string[] }> {
    const prunable = repo
      .git(['worktree', 'list', '--porcelain'])
      .split('\n\n')
      .filter((block) => /\nprunable/.test(block));
    const pool = await readdir(path.join(repo.dir, '.git', 'tapps-flow', 'worktrees', '.pool')).catch(() => [] as string[]);
    return { prunable, pool: pool.filter((n) => !n.startsWith('registry')) };
  }

  it('a crash while a pooled worktree is moved to a step: the next run starts, and cleanup leaves nothing behind', async () => {
    assert.equal((await run('filler', [{ id: 'fill', run: 'echo a > a.txt' }])).status, 'succeeded');
    assert.equal((await leftovers()).pool.length, 2, 'one worktree and its record');
    await run('crasher', [{ id: 'crash', run: 'echo b > b.txt' }], 'pool-taken-moved');
    const next = await run('after', [{ id: 'after', run: 'echo c > c.txt' }]);
    assert.equal(next.status, 'succeeded', JSON.stringify(next.steps));
    const cleanup = await cli(['cleanup', '--repo', repo.dir]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.deepEqual(await leftovers(), { prunable: [], pool: [] });
    assert.deepEqual(await readdir(path.join(repo.dir, '.git', 'worktrees')).catch(() => []), []);
  });

  it('a crash while a worktree is parked: the next run does not take it, and cleanup deletes it with its git entry', async () => {
    await run('parker', [{ id: 'park', run: 'echo a > a.txt' }], 'pool-parked-moved');
    const next = await run('after', [{ id: 'after', run: 'test ! -e a.txt && echo c > c.txt' }]);
    assert.equal(next.status, 'succeeded', JSON.stringify(next.steps));
    const cleanup = await cli(['cleanup', '--repo', repo.dir]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.deepEqual(await leftovers(), { prunable: [], pool: [] });
    assert.deepEqual(await readdir(path.join(repo.dir, '.git', 'worktrees')).catch(() => []), []);
  });

  it('a tracked folder a step replaced with a link out of the repository: the next step gets the real folder, and nothing is written through the link', async () => {
    const first = await run('linker', [{ id: 'linker', run: `rm -rf src/lib && ln -s ${sq(outside)} src/lib && echo x > x.txt` }]);
    assert.equal(first.status, 'succeeded', JSON.stringify(first.steps));
    // Every commit of the repository changes src/lib now: the reset writes into the folder the link stood for.
    await repo.write('src/lib/util.js', 'two, edited\n');
    await repo.write('src/lib/new.js', 'new\n');
    repo.commit('edit the folder');
    const probe = 'test -d src/lib && test ! -L src/lib && grep -qx "two, edited" src/lib/util.js && test -f src/lib/new.js';
    const second = await run('reuser', [{ id: 'reuser', run: `${probe} && echo ok > ok.txt` }]);
    assert.equal(second.status, 'succeeded', JSON.stringify(second.steps));
    assert.deepEqual(
      await readdir(path.join(repo.dir, '.git', 'worktrees')),
      ['linker--linker'],
      'the second step worked in the pooled worktree',
    );
    assert.deepEqual((await readdir(outside)).sort(), ['keep.txt']);
    assert.equal(await readFile(path.join(outside, 'keep.txt'), 'utf8'), 'mine\n');
  });

  it('what a step left for the next one (files, ignored files, a changed mode, its own commit, an edit) is gone when the worktree is taken again', async () => {
    const first = await run('leaver', [
      {
        id: 'leaver',
        run: [
          'echo planted > planted.txt',
          'mkdir -p node_modules/.bin && echo evil > node_modules/.bin/tool',
          'chmod +x README.md',
          'git -c user.name=x -c user.email=x@x commit -qam "own commit" --allow-empty',
          'echo dirty >> src/app.js',
          'echo y > y.txt',
        ].join(' && '),
      },
    ]);
    assert.equal(first.status, 'succeeded', JSON.stringify(first.steps));
    const probe = [
      'test ! -e planted.txt',
      'test ! -e node_modules',
      'test ! -x README.md',
      'test "$(git log -1 --format=%s)" != "own commit"',
      'test -z "$(git status --porcelain)"',
    ].join(' && ');
    const second = await run('checker', [{ id: 'checker', run: `${probe} && echo ok > ok.txt` }]);
    assert.equal(second.status, 'succeeded', JSON.stringify(second.steps));
    assert.deepEqual(
      await readdir(path.join(repo.dir, '.git', 'worktrees')),
      ['leaver--leaver'],
      'the second step worked in the pooled worktree',
    );
  });
});
