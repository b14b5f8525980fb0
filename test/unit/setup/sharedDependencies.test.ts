// Shared dependencies against real git, real processes and real files: the folders a setup
// installs are installed once per key and brought into the other worktrees, kept by the warm pool,
// installed again when the lockfile changes, and never shared when a step changed them or when
// they name their worktree.
import { strict as assert } from 'node:assert';
import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dependencyKey } from '../../../src/core/setup/dependencies';
import { DependencyStore } from '../../../src/core/setup/dependencyStore';
import { defaultWorktreeRoot } from '../../../src/core/git/worktrees';
import { openRepository } from '../../../src/core/git/repository';
import { fingerprint } from '../../../src/core/util/folders';
import { sandboxSupport } from '../../../src/core/process/sandbox';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { readStateFile, runWorkflow, SHELL_CWD, sq, stepOf, type WorkflowSpec } from '../helpers/workflowRun';

/** A setup that "installs" node_modules and counts its installs in a file outside the repository. */
function installing(counter: string, extra = ''): Readonly<Record<string, unknown>> {
  return {
    commands: [
      `echo install >> ${sq(counter)} && mkdir -p node_modules/dep && echo "module.exports = 2" > node_modules/dep/index.js${extra}`,
    ],
  };
}

function steps(n: number, run = 'test -f node_modules/dep/index.js && echo done > "out-$TAPPS_STEP.txt"'): WorkflowSpec['steps'] {
  return Array.from({ length: n }, (_, i) => ({ id: `s${i + 1}`, run: run.replace('$TAPPS_STEP', `s${i + 1}`) }));
}

describe('setup: shared dependencies', function () {
  this.timeout(90_000);
  let repo: TempRepo;
  let scratch: string;
  let counter: string;
  beforeEach(async () => {
    repo = await makeTempRepo({
      '.gitignore': 'node_modules/\n.venv/\n',
      'package.json': '{"name": "app"}\n',
      'package-lock.json': '{"lockfileVersion": 3}\n',
      'src/app.js': 'module.exports = 1;\n',
    });
    scratch = await mkdtemp(path.join(tmpdir(), 'tapps-deps-'));
    counter = path.join(scratch, 'installs');
  });
  afterEach(async () => {
    await repo.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });
  const installs = async () => (await readFile(counter, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  it('installs once for four steps of the same key; the others get the folder and skip the commands', async () => {
    const { snapshot, run } = await runWorkflow(repo, { setup: installing(counter), steps: steps(4) });
    assert.equal(snapshot.status, 'succeeded', JSON.stringify(snapshot.steps.map((s) => s.error)));
    assert.equal(await installs(), 1);
    const logs = await Promise.all(['s1', 's2', 's3', 's4'].map((id) => readStateFile(run, stepOf(snapshot, id).log)));
    assert.equal(logs.filter((l) => /node_modules kept for the next worktrees of the same key/.test(l)).length, 1);
    assert.equal(logs.filter((l) => /node_modules brought from an install of the same key \((copy|reflink)\)/.test(l)).length, 3);
    assert.equal(logs.filter((l) => /setup commands not run/.test(l)).length, 3);
    // Never part of a result.
    for (const id of ['s1', 's2', 's3', 's4']) assert.deepEqual(stepOf(snapshot, id).changed, [`out-${id}.txt`]);
  });

  it('keeps the folder in pooled worktrees: a second run installs nothing and brings nothing', async () => {
    await runWorkflow(repo, { setup: installing(counter), steps: steps(2), settings: { max_parallel: 2 } });
    const { snapshot, run } = await runWorkflow(repo, { setup: installing(counter), steps: steps(2), settings: { max_parallel: 2 } });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(await installs(), 1);
    const log = await readStateFile(run, stepOf(snapshot, 's1').log);
    assert.match(log, /node_modules kept in this worktree from a setup of the same key/);
  });

  it('a step takes the pooled worktree that kept folders of its key, not the oldest', async () => {
    const settings = { max_parallel: 1, pool_size: 2 };
    // Two plain worktrees pooled; then one of them set up (and parked again, newest).
    await runWorkflow(repo, {
      settings: { ...settings, max_parallel: 2 },
      steps: [
        { id: 'a', run: 'sleep 0.5; echo a > a.txt' },
        { id: 'b', run: 'sleep 0.5; echo b > b.txt' },
      ],
    });
    await runWorkflow(repo, { setup: installing(counter), settings, steps: steps(1) });
    const { snapshot, run } = await runWorkflow(repo, { setup: installing(counter), settings, steps: steps(1) });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(await installs(), 1);
    assert.match(await readStateFile(run, stepOf(snapshot, 's1').log), /node_modules kept in this worktree from a setup of the same key/);
  });

  it('a step that writes into its node_modules, or swaps it for a link, has it deleted, not pooled: the next step gets the kept copy instead', async function () {
    // Windows: the step's `ln -s` makes a copy there (MSYS), not the link this test is about.
    if (process.platform === 'win32') this.skip();
    const settings = { max_parallel: 1 };
    await runWorkflow(repo, {
      setup: installing(counter),
      settings,
      steps: [
        { id: 'plant', run: 'echo "evil" > node_modules/dep/planted.js && echo a > a.txt' },
        { id: 'swap', run: `rm -rf node_modules && ln -s ${scratch} node_modules && echo b > b.txt`, needs: ['plant'] },
      ],
    });
    assert.equal(await installs(), 1);
    const { snapshot } = await runWorkflow(repo, {
      setup: installing(counter),
      settings,
      steps: [
        { id: 'one', run: 'test ! -e node_modules/dep/planted.js && test ! -L node_modules && echo ok > one.txt' },
        { id: 'two', run: 'test ! -e node_modules/dep/planted.js && test ! -L node_modules && echo ok > two.txt', needs: ['one'] },
      ],
    });
    assert.equal(snapshot.status, 'succeeded', JSON.stringify(snapshot.steps.map((s) => s.error)));
    // Both pooled worktrees lost their folder; the store's copy (published before either step ran) is brought.
    assert.equal(await installs(), 1);
    assert.ok((await readdir(scratch)).includes('installs'), 'the link target is untouched');
  });

  it('a folder a pooled worktree kept is never deleted through a link the next base tracks on its way', async function () {
    // Windows: git runs with core.symlinks=false there, so the base's link is checked out as a plain file.
    if (process.platform === 'win32') this.skip();
    await repo.write('packages/a/package.json', '{"name": "a"}\n');
    repo.git(['add', '.']);
    repo.git(['commit', '-qm', 'workspace']);
    const nested = { commands: ['mkdir -p packages/a/node_modules/dep && echo x > packages/a/node_modules/dep/index.js'] };
    await runWorkflow(repo, { setup: nested, steps: steps(1, 'echo ok > out-s1.txt'), settings: { pool_size: 1 } });
    // The next base makes `packages` a link to a folder outside, holding the same path.
    const outside = path.join(scratch, 'target');
    await mkdir(path.join(outside, 'a', 'node_modules'), { recursive: true });
    await writeFile(path.join(outside, 'a', 'node_modules', 'keep.txt'), 'mine\n');
    repo.git(['rm', '-rq', 'packages']);
    await symlink(outside, path.join(repo.dir, 'packages'));
    repo.git(['add', 'packages']);
    repo.git(['commit', '-qm', 'link']);
    const { snapshot } = await runWorkflow(repo, {
      setup: { commands: ['true'] },
      steps: steps(1, 'echo ok > out-s1.txt'),
      settings: { pool_size: 1 },
    });
    assert.equal(snapshot.status, 'succeeded', stepOf(snapshot, 's1').error ?? '');
    assert.equal(await readFile(path.join(outside, 'a', 'node_modules', 'keep.txt'), 'utf8'), 'mine\n');
  });

  it('installs again when a lockfile changes, and when the commands change', async () => {
    await runWorkflow(repo, { setup: installing(counter), steps: steps(1) });
    await repo.write('package-lock.json', '{"lockfileVersion": 3, "packages": {}}\n');
    repo.git(['commit', '-qam', 'lock']);
    await runWorkflow(repo, { setup: installing(counter), steps: steps(1) });
    assert.equal(await installs(), 2);
    await runWorkflow(repo, { setup: installing(counter, ' && true'), steps: steps(1) });
    assert.equal(await installs(), 3);
    const r = await openRepository(repo.dir);
    const tree = repo.git(['rev-parse', 'HEAD^{tree}']);
    const spec = { folders: ['node_modules'], keyFiles: [] };
    const a = await dependencyKey(r.git, tree, { commands: ['x'], env: {}, spec });
    assert.equal(a, await dependencyKey(r.git, tree, { commands: ['x'], env: {}, spec }));
    assert.notEqual(a, await dependencyKey(r.git, tree, { commands: ['x'], env: { A: '1' }, spec }));
    assert.notEqual(a, await dependencyKey(r.git, tree, { commands: ['x'], env: {}, spec: { ...spec, keyFiles: ['src/*.js'] } }));
  });

  it('runs the commands anyway when the setup also makes something else (a build output, a changed tracked file)', async () => {
    const setup = installing(counter, ' && mkdir -p node_modules/.bin && echo x >> package-lock.json');
    const { snapshot } = await runWorkflow(repo, { setup, steps: steps(3) });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(await installs(), 3);
  });

  it('never shares a folder that names its worktree (a virtual environment), and installs it in each', async () => {
    const setup = {
      commands: [
        `echo install >> ${sq(counter)} && mkdir -p .venv/bin && printf '#!%s/.venv/bin/python\\n' "${SHELL_CWD}" > .venv/bin/tool`,
      ],
      dependencies: ['.venv'],
    };
    const { snapshot, run } = await runWorkflow(repo, {
      setup,
      steps: steps(3, 'test -f .venv/bin/tool && echo done > "out-$TAPPS_STEP.txt"'),
    });
    assert.equal(snapshot.status, 'succeeded', JSON.stringify(snapshot.steps.map((s) => s.error)));
    assert.equal(await installs(), 3);
    const logs = await Promise.all(['s1', 's2', 's3'].map((id) => readStateFile(run, stepOf(snapshot, id).log)));
    assert.equal(logs.filter((l) => /\.venv name this worktree's folder: installed in each worktree/.test(l)).length, 1, logs.join('\n'));
  });

  it('with hard links, a step that rewrites an installed file in place has the shared folder dropped, with a warning', async () => {
    const spec: WorkflowSpec = {
      setup: installing(counter),
      settings: { dependency_sharing: 'hardlink', max_parallel: 1 },
      steps: [
        { id: 'a', run: 'echo a > a.txt' },
        { id: 'b', run: 'echo tampered >> node_modules/dep/index.js && echo b > b.txt', needs: ['a'] },
        { id: 'c', run: 'cat node_modules/dep/index.js > seen.txt', needs: ['b'] },
      ],
    };
    const { snapshot } = await runWorkflow(repo, spec);
    assert.equal(snapshot.status, 'succeeded', JSON.stringify(snapshot.steps.map((s) => s.error)));
    assert.ok(
      stepOf(snapshot, 'b').warnings?.some((w) => /shared dependency folders linked into its worktree changed while it ran/.test(w)),
      JSON.stringify(stepOf(snapshot, 'b')),
    );
    // c (after b dropped it) installed afresh: it did not see b's change.
    assert.equal(await installs(), 2);
    assert.equal(repo.show(snapshot.aggregate!.tree, 'seen.txt'), 'module.exports = 2\n');
  });

  it('with symbolic links, each worktree links to the one kept folder', async () => {
    const { snapshot } = await runWorkflow(repo, {
      setup: installing(counter),
      settings: { dependency_sharing: 'symlink' },
      steps: steps(3, '{ test -L node_modules && echo link || echo folder; } > "out-$TAPPS_STEP.txt"'),
    });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(await installs(), 1);
    const seen = ['s1', 's2', 's3'].map((id) => repo.show(snapshot.aggregate!.tree, `out-${id}.txt`).trim()).sort();
    assert.deepEqual(seen, ['folder', 'link', 'link']);
  });

  it('in the sandbox, a step linked to the kept folder cannot write into it; its own installed folder it can', async function () {
    if (!sandboxSupport().bwrap) this.skip(); // bubblewrap is installed by the project's test setup on Linux
    const write = 'if echo x >> node_modules/dep/index.js 2>/dev/null; then echo wrote; else echo refused; fi > "out-$TAPPS_STEP.txt"';
    const { snapshot } = await runWorkflow(repo, {
      setup: { commands: ['mkdir -p node_modules/dep && echo "module.exports = 2" > node_modules/dep/index.js'] },
      settings: { dependency_sharing: 'symlink', isolation: 'sandbox', pool_size: 0, max_parallel: 1 },
      steps: [
        { id: 'first', run: write.replace('$TAPPS_STEP', 'first') },
        { id: 'second', run: write.replace('$TAPPS_STEP', 'second'), needs: ['first'] },
      ],
    });
    assert.equal(snapshot.status, 'succeeded', JSON.stringify(snapshot.steps.map((s) => s.error)));
    assert.equal(repo.show(snapshot.aggregate!.tree, 'out-first.txt'), 'wrote\n');
    assert.equal(repo.show(snapshot.aggregate!.tree, 'out-second.txt'), 'refused\n');
    const store = new DependencyStore(defaultWorktreeRoot(await openRepository(repo.dir)));
    const [entry] = await store.list();
    assert.ok(entry && (await store.intact(entry.key)), 'the kept folder is as it was published');
  });

  it('keeps no worktree in the pool past its disk cap', async () => {
    await runWorkflow(repo, { setup: installing(counter), steps: steps(2), settings: { pool_max_mb: 1 } });
    const r = await openRepository(repo.dir);
    const pooled = (await readdir(path.join(defaultWorktreeRoot(r), '.pool')).catch(() => [] as string[])).filter((n) =>
      n.endsWith('.json'),
    );
    // Two worktrees of a few KiB each, and the kept node_modules, fit in 1 MiB; a 2 MiB file does not.
    assert.equal(pooled.length, 2);
    // A checkout of 2 MiB does not: the pooled ones stay, the new ones are deleted.
    await writeFile(path.join(repo.dir, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 7));
    repo.git(['add', 'big.bin']);
    repo.git(['commit', '-qm', 'big']);
    await runWorkflow(repo, { steps: [{ id: 'big', run: 'echo > big.txt' }], settings: { pool_max_mb: 1, pool_size: 3 } });
    const after = (await readdir(path.join(defaultWorktreeRoot(r), '.pool'))).filter((n) => n.endsWith('.json'));
    assert.equal(after.length, 1, 'the step took one of the two; its worktree, past the cap, was not parked');
  });

  it('brings nothing over a path the new base tracks: that worktree installs', async () => {
    await runWorkflow(repo, { setup: installing(counter), steps: steps(1), settings: { pool_size: 0 } });
    // The base now tracks a file where the kept folder would go.
    await repo.write('node_modules/tracked.js', 'tracked\n');
    repo.git(['add', '-f', 'node_modules/tracked.js']);
    repo.git(['commit', '-qm', 'track']);
    await repo.write('package-lock.json', '{"lockfileVersion": 3}\n'); // same lockfile: same key
    const { snapshot } = await runWorkflow(repo, {
      setup: installing(counter),
      steps: steps(1, 'test -f node_modules/tracked.js && test -f node_modules/dep/index.js && echo done > out-s1.txt'),
      settings: { pool_size: 0 },
    });
    assert.equal(snapshot.status, 'succeeded', stepOf(snapshot, 's1').error ?? '');
    assert.equal(await installs(), 2);
  });

  it('drops a kept folder changed in the store, and its manifest must name only paths inside', async () => {
    await runWorkflow(repo, { setup: installing(counter), steps: steps(1), settings: { pool_size: 0 } });
    const r = await openRepository(repo.dir);
    const store = new DependencyStore(defaultWorktreeRoot(r));
    const [entry] = await store.list();
    assert.ok(entry);
    await writeFile(store.source(entry.key, 'node_modules/dep/index.js'), 'module.exports = "planted";\n');
    assert.equal(await store.lookup(entry.key), undefined);
    assert.deepEqual(
      (await readdir(store.dir)).filter((n) => /^[0-9a-f]{32}$/.test(n)),
      [],
    );
    const { snapshot } = await runWorkflow(repo, {
      setup: installing(counter),
      steps: steps(1, 'grep -q "module.exports = 2" node_modules/dep/index.js && echo ok > out-s1.txt'),
      settings: { pool_size: 0 },
    });
    assert.equal(snapshot.status, 'succeeded');
    assert.equal(await installs(), 2);
    // A manifest naming a path outside its folder is not read at all.
    const [again] = await store.list();
    const manifest = path.join(store.dir, again.key, 'manifest.json');
    const parsed = JSON.parse(await readFile(manifest, 'utf8')) as { folders: { path: string }[] };
    parsed.folders[0].path = '../../../../etc';
    await writeFile(manifest, JSON.stringify(parsed));
    assert.equal(await store.lookup(again.key), undefined);
  });

  it('fingerprints see a rewrite that keeps size and time, through the change time', async () => {
    const dir = path.join(scratch, 'fp');
    await repo.write('x', 'x');
    await rm(dir, { recursive: true, force: true });
    const { utimes } = await import('node:fs/promises');
    await mkdir(dir);
    await writeFile(path.join(dir, 'f'), 'aaaa');
    const before = lstatSync(path.join(dir, 'f'));
    const a = await fingerprint(dir, { ctime: true });
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(path.join(dir, 'f'), 'bbbb');
    await utimes(path.join(dir, 'f'), before.atime, before.mtime);
    assert.notEqual(await fingerprint(dir, { ctime: true }), a);
    assert.equal(await fingerprint(path.join(dir, 'f'), { ctime: true }), undefined, 'a file is not a folder');
  });
});
