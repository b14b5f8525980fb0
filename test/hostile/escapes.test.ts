import { strict as assert } from 'node:assert';
import { watch } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultWorktreeRoot, stepWorktreePath } from '../../src/core/git/worktrees';
import { runDir } from '../../src/core/run/stateDir';
import { WorkflowRun } from '../../src/core/run/workflowRun';
import type { RunEvent } from '../../src/core/state/events';
import { buildCli, cli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { waitFor } from '../unit/helpers/wait';
import { sq, writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';

interface Escape {
  kind: string;
  path: string;
  change: string;
  steps: string[];
  restored: boolean;
  detail: string;
}
interface Report {
  runId: string;
  status: string;
  escaped: boolean;
  escapes: Escape[];
  findings: Array<{ kind: string; path: string; steps: string[] }>;
}

/** Shell: wait (bounded) until a file exists. */
function waitForFile(file: string): string {
  return `i=0; while [ ! -f ${sq(file)} ]; do i=$((i+1)); [ $i -gt 600 ] && exit 9; sleep 0.05; done`;
}

/**
 * Steps that write outside their worktrees, each in its own way: through `../` from the worktree,
 * through an absolute path, through git (`git config`, `git checkout -b`), into the main
 * repository's hooks, into an ignored folder. Every one is reported (an `escape_detected` event,
 * `escaped: true`, a line of the conflict report, exit code 4) and put down to the steps that were
 * running when it happened; the user's own edits are not; `restore` puts the files back.
 */
describe('hostile: writes outside the steps’ worktrees', function () {
  this.timeout(240_000);
  let repo: TempRepo;
  /** `$TAPPS_WORKTREE/../../…`: the main checkout, as a step reaches it from its worktree. */
  let main: string;
  const binary = Buffer.from([0, 1, 2, 255, 254, 10, 13, 10, 0, 80, 75, 3, 4]);

  before(async () => {
    buildCli();
    repo = await makeTempRepo({
      'README.md': '# escapes\n',
      'data.bin': binary,
      'gone.txt': 'the step deletes me\n',
      'mine.txt': 'the user keeps editing me\n',
      '.gitignore': 'build/\n',
    });
    const wt = stepWorktreePath(defaultWorktreeRoot({ commonDir: path.join(repo.dir, '.git') }), 'run', 'step');
    main = `"$TAPPS_WORKTREE"/${path.relative(wt, repo.dir).split(path.sep).join('/')}`;
  });
  after(() => repo.cleanup());

  const run = async (spec: WorkflowSpec, runId: string, extra: string[] = []) => {
    const file = await writeWorkflow(repo, spec, `${runId}.yaml`);
    const result = await cli(['run', file, '--repo', repo.dir, '--run-id', runId, '--json', ...extra]);
    const report = JSON.parse(result.stdout || 'null') as Report;
    const dir = runDir(repo.dir, runId);
    const events = (await readFile(path.join(dir, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunEvent);
    return { code: result.code, stderr: result.stderr, report, events, dir, md: await readFile(path.join(dir, 'conflicts.md'), 'utf8') };
  };
  const escapeOf = (report: Report, p: string): Escape => {
    const found = report.escapes.find((e) => e.path === p);
    assert.ok(found, `no escape of ${p} in ${JSON.stringify(report.escapes.map((e) => e.path))}`);
    return found;
  };
  const flag = (name: string) => path.join(repo.outside, name);

  it('writes through ../ and through an absolute path, two steps running: both named, exit 4, in the report', async () => {
    const r = await run(
      {
        settings: { max_parallel: 2 },
        steps: [
          {
            id: 'writer',
            run: `${waitForFile(flag('other-started'))}; echo escaped > ${main}/escaped-rel.txt; printf 'overwritten\\n' > ${sq(path.join(repo.dir, 'README.md'))}; touch ${sq(flag('writer-done'))}`,
          },
          { id: 'other', run: `touch ${sq(flag('other-started'))}; ${waitForFile(flag('writer-done'))}; sleep 0.3` },
          // Runs alone, after both ended (and after the grace of their windows): only it is named.
          { id: 'late', needs: ['writer', 'other'], run: `sleep 0.5; echo late > ${sq(path.join(repo.dir, 'late.txt'))}` },
        ],
      },
      'rel-abs',
    );
    assert.equal(r.code, 4, `exit code: ${r.stderr}`);
    assert.equal(r.report.status, 'succeeded', 'the steps themselves succeeded');
    assert.equal(r.report.escaped, true);
    assert.deepEqual(escapeOf(r.report, 'escaped-rel.txt').steps, ['writer', 'other'], 'both steps were running');
    assert.equal(escapeOf(r.report, 'escaped-rel.txt').change, 'added');
    assert.deepEqual(escapeOf(r.report, 'README.md').steps, ['writer', 'other']);
    assert.equal(escapeOf(r.report, 'README.md').change, 'modified');
    assert.deepEqual(escapeOf(r.report, 'late.txt').steps, ['late'], 'only the step running at the time');
    const detected = r.events.filter((e) => e.type === 'escape_detected');
    assert.ok(detected.length > 0, 'escape_detected events are recorded');
    assert.ok(detected.flatMap((e) => (e.type === 'escape_detected' ? e.escapes.map((x) => x.path) : [])).includes('escaped-rel.txt'));
    assert.match(r.md, /Written outside the worktrees: `escaped-rel\.txt` \(writer, other\)/);
    assert.match(r.md, /Written outside the worktrees: `late\.txt` \(late\)/);
    const state = JSON.parse(await readFile(path.join(r.dir, 'state.json'), 'utf8')) as { escaped: boolean };
    assert.equal(state.escaped, true, 'state.json says so');
    // Put the checkout back for the next cases.
    const restored = await cli(['restore', 'rel-abs', '--repo', repo.dir]);
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    assert.equal(await repo.read('README.md'), '# escapes\n');
  });

  it('git config, a new branch, a hook and an ignored folder: each reported with its kind, put down to its own step', async () => {
    const hooks = path.join(repo.dir, '.git', 'hooks');
    const r = await run(
      {
        steps: [
          { id: 'config', run: 'sleep 0.5; git config user.name escapee' },
          { id: 'branch', needs: ['config'], run: 'sleep 0.5; git checkout -q -b escapee' },
          {
            id: 'hook',
            needs: ['branch'],
            run: `sleep 0.5; printf '#!/bin/sh\\nexit 0\\n' > "$(git rev-parse --path-format=absolute --git-common-dir)/hooks/pre-commit"`,
          },
          { id: 'ignored', needs: ['hook'], run: `sleep 0.5; mkdir -p ${main}/build/deep && echo out > ${main}/build/deep/out.txt` },
        ],
      },
      'git-parts',
    );
    assert.equal(r.code, 4, r.stderr);
    const config = escapeOf(r.report, '.git/config');
    assert.equal(config.kind, 'config');
    assert.deepEqual(config.steps, ['config']);
    assert.match(config.detail, /user\.name was "Test User", now "escapee" \(undo: git config user\.name 'Test User'\)/);
    const branch = escapeOf(r.report, 'refs/heads/escapee');
    assert.equal(branch.kind, 'ref');
    assert.equal(branch.change, 'added');
    assert.deepEqual(branch.steps, ['branch']);
    assert.match(branch.detail, /git branch -D escapee/);
    const hook = escapeOf(r.report, '.git/hooks/pre-commit');
    assert.equal(hook.kind, 'hook');
    assert.deepEqual(hook.steps, ['hook']);
    const out = escapeOf(r.report, 'build/deep/out.txt');
    assert.equal(out.kind, 'file');
    assert.deepEqual(out.steps, ['ignored']);
    assert.match(out.detail, /git ignores it/);
    assert.match(r.md, /Written outside the worktrees: `refs\/heads\/escapee` \(branch\)/);
    assert.match(r.md, /Written outside the worktrees: `\.git\/config` \(config\)/);
    // restore never touches them; it says how to undo each.
    const restored = await cli(['restore', 'git-parts', '--repo', repo.dir]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /build\/deep\/out\.txt: git ignores it/);
    assert.match(restored.stdout, /git branch -D escapee/);
    assert.equal(repo.git(['config', 'user.name']), 'escapee', 'restore changes no config');
    repo.git(['config', 'user.name', 'Test User']);
    repo.git(['branch', '-D', 'escapee']);
    await rm(path.join(hooks, 'pre-commit'));
    await rm(path.join(repo.dir, 'build'), { recursive: true });
  });

  it("the user's own edits are not reported: made while no step ran, or reported by the editor", async () => {
    const file = await writeWorkflow(
      repo,
      { steps: [{ id: 'waiter', run: `touch ${sq(flag('waiter-started'))}; ${waitForFile(flag('go'))}` }] },
      'user.yaml',
    );
    const run = await WorkflowRun.prepare({ repoDir: repo.dir, workflowFile: file, runId: 'user-edits' });
    const events: RunEvent[] = [];
    const subscription = run.onDidEvent((e) => events.push(e));
    try {
      // An edit between prepare and execute: no step is running. Seen by a watch of the same
      // folder, so seen by the run's (inotify hands both the same event in the same read).
      let seen = false;
      const probe = watch(repo.dir, (_t, name) => (seen ||= name?.toString() === 'mine.txt'));
      await writeFile(path.join(repo.dir, 'mine.txt'), 'edited before any step ran\n');
      await waitFor('the edit to be seen', () => seen);
      probe.close();
      const finished = run.execute();
      finished.catch(() => undefined);
      await waitFor('the step to run', () =>
        repo.read('../outside/waiter-started').then(
          () => true,
          () => false,
        ),
      );
      // While the step runs: one edit the editor reports as its save, one nobody reports.
      await writeFile(path.join(repo.dir, 'noted.txt'), 'saved in the editor\n');
      run.noteUserWrite(path.join(repo.dir, 'noted.txt'));
      await writeFile(path.join(repo.dir, 'unnoted.txt'), 'written by someone\n');
      await writeFile(flag('go'), '');
      const snapshot = await finished;
      await run.settled();
      const paths = snapshot.escapes.map((e) => e.path);
      assert.deepEqual(paths, ['unnoted.txt'], 'only the unreported write while the step ran');
      assert.deepEqual(snapshot.escapes[0].steps, ['waiter']);
      assert.equal(snapshot.escaped, true);
    } finally {
      subscription.dispose();
      run.store.dispose();
      await rm(path.join(repo.dir, 'noted.txt'), { force: true });
      await rm(path.join(repo.dir, 'unnoted.txt'), { force: true });
      repo.git(['checkout', '--', 'mine.txt']);
    }
  });

  it("restore puts the files back byte for byte, deletes what the escape created, and leaves the user's files alone", async () => {
    await writeFile(path.join(repo.dir, 'mine.txt'), 'an uncommitted edit of the user, in the base\n');
    const r = await run(
      {
        steps: [
          {
            id: 'vandal',
            run: `printf 'garbage' > ${main}/data.bin; rm ${main}/gone.txt; echo new > ${main}/created.txt; printf 'edited\\n' > ${main}/README.md`,
          },
        ],
      },
      'vandal',
    );
    assert.equal(r.code, 4, r.stderr);
    assert.deepEqual(
      r.report.escapes.map((e) => `${e.path}:${e.change}`),
      ['README.md:modified', 'created.txt:added', 'data.bin:modified', 'gone.txt:deleted'],
    );
    // After the run the user edits a file the step did not touch, and one it did.
    await writeFile(path.join(repo.dir, 'later.txt'), 'the user, after the run\n');
    await writeFile(path.join(repo.dir, 'README.md'), 'the user fixed it by hand\n');
    const index = await readFile(path.join(repo.dir, '.git', 'index'));
    const first = await cli(['restore', 'vandal', '--repo', repo.dir]);
    assert.equal(first.code, 1, 'one file was left alone');
    assert.match(first.stdout, /Left alone: changed again since the escape[^\n]*\n {2}README\.md/);
    assert.deepEqual(await readFile(path.join(repo.dir, 'data.bin')), binary, 'byte for byte');
    assert.equal(await repo.read('gone.txt'), 'the step deletes me\n');
    await assert.rejects(readFile(path.join(repo.dir, 'created.txt')), /ENOENT/);
    assert.equal(await repo.read('README.md'), 'the user fixed it by hand\n', 'changed since: not restored without --force');
    assert.equal(await repo.read('mine.txt'), 'an uncommitted edit of the user, in the base\n');
    assert.equal(await repo.read('later.txt'), 'the user, after the run\n');
    assert.deepEqual(await readFile(path.join(repo.dir, '.git', 'index')), index, "the user's index is untouched");
    const unknown = await cli(['restore', 'vandal', '--path', 'mine.txt', '--repo', repo.dir]);
    assert.equal(unknown.code, 2, 'a file no step wrote is not restored: a usage error');
    assert.match(unknown.stderr, /no escaped file "mine\.txt"/);
    const forced = await cli(['restore', 'vandal', '--path', 'README.md', '--force', '--repo', repo.dir]);
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.equal(await repo.read('README.md'), '# escapes\n');
    const status = JSON.parse((await cli(['status', 'vandal', '--repo', repo.dir, '--json'])).stdout) as Report;
    assert.equal(status.escaped, true, 'the run stays marked');
    assert.ok(
      status.escapes.every((e) => e.restored),
      'every escaped file is marked restored',
    );
    await rm(path.join(repo.dir, 'later.txt'));
    repo.git(['checkout', '--', 'mine.txt']);
  });

  it('the conflict report of the same escape is the same, run after run', async () => {
    const spec: WorkflowSpec = { steps: [{ id: 's', run: `echo twice > ${main}/twice.txt; echo ok > ok.txt` }] };
    const one = await run(spec, 'same-1');
    assert.equal(one.code, 4);
    assert.equal((await cli(['restore', 'same-1', '--repo', repo.dir])).code, 0);
    const two = await run(spec, 'same-2');
    assert.equal(two.code, 4);
    assert.equal(await readFile(path.join(two.dir, 'conflicts.md'), 'utf8'), one.md);
    assert.equal(
      await readFile(path.join(two.dir, 'conflicts.json'), 'utf8'),
      await readFile(path.join(one.dir, 'conflicts.json'), 'utf8'),
    );
    assert.equal((await cli(['restore', 'same-2', '--repo', repo.dir])).code, 0);
  });

  it('an escape the engine died before recording is found when the run is resumed', async () => {
    const file = await writeWorkflow(repo, { steps: [{ id: 'a', run: `echo crash > ${main}/crash.txt` }] }, 'crash.yaml');
    const crashed = await cli(['run', file, '--repo', repo.dir, '--run-id', 'crashed'], {
      env: { ...process.env, TAPPS_TEST_CRASH_AT: 'steps-done' },
    });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const resumed = await cli(['resume', 'crashed', '--repo', repo.dir, '--json']);
    assert.equal(resumed.code, 4, resumed.stderr);
    const report = JSON.parse(resumed.stdout) as Report;
    assert.deepEqual(escapeOf(report, 'crash.txt').steps, ['a']);
    assert.equal((await cli(['restore', 'crashed', '--repo', repo.dir])).code, 0);
  });

  it('isolation off: nothing is watched, nothing reported', async () => {
    const r = await run({ steps: [{ id: 'free', run: `echo off > ${main}/off.txt` }] }, 'off', ['--isolation', 'off']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.report.escaped, false);
    await rm(path.join(repo.dir, 'off.txt'));
  });
});
