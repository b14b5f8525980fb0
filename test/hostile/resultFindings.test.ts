import { strict as assert } from 'node:assert';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { buildCli, cli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { runWorkflow, writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';
import { fingerprint } from './helpers/planted';

const STATE = path.join('.tapps-agents', 'workflow-state');

interface Finding {
  kind: string;
  path: string;
  steps: string[];
  detail: string;
}

interface Report {
  status: string;
  steps: Array<{ id: string; status: string; error: string | null }>;
  findings: Finding[];
}

/** The user's files (everything but `.git` and the state folder), the index and what git reports as changed. */
async function userFiles(repo: TempRepo): Promise<string> {
  const entries: string[] = [];
  for (const name of (await readdir(repo.dir)).sort())
    if (name !== '.git' && name !== '.tapps-agents') entries.push(`${name} ${await fingerprint(path.join(repo.dir, name))}`);
  const index = (await readFile(path.join(repo.dir, '.git', 'index'))).toString('base64');
  return JSON.stringify({ entries, index, status: repo.git(['status', '--porcelain', '--ignore-submodules=none']) });
}

describe('hostile: step results that cannot hurt (symlinks out, submodule writes, executables)', function () {
  this.timeout(180_000);
  let repo: TempRepo;
  let library: TempRepo;

  before(async () => {
    buildCli();
    library = await makeTempRepo({ 'lib.txt': 'library\n' });
    repo = await makeTempRepo({
      'README.md': '# findings\n',
      'docs/guide.md': 'guide\n',
      'tool.sh': 'echo tool\n',
      'made.sh': 'echo made\n',
    });
    repo.git(['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', library.dir, 'libs/sub']);
    repo.commit('a submodule');
  });
  after(async () => {
    await repo.cleanup();
    await library.cleanup();
  });

  const stateFile = (runId: string, file: string) => readFile(path.join(repo.dir, STATE, runId, file), 'utf8');
  const findingsOf = async (runId: string) => (JSON.parse(await stateFile(runId, 'conflicts.json')) as { findings: Finding[] }).findings;
  const runCli = async (spec: WorkflowSpec, runId: string): Promise<Report> => {
    const file = await writeWorkflow(repo, spec, `${runId}.yaml`);
    const result = await cli(['run', file, '--repo', repo.dir, '--run-id', runId, '--json']);
    assert.equal(result.code, 0, `${runId}: exit ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as Report;
  };

  it('reports symlinks that leave the repository, and apply refuses them (exit 2, nothing changed) unless told to allow them', async () => {
    const report = await runCli(
      {
        steps: [
          { id: 'leak', run: 'ln -s /etc/passwd leak && ln -s ../../../outside x && mkdir -p a/b && ln -s ../../../up a/b/up' },
          { id: 'inner', run: 'ln -s docs/guide.md guide && mkdir -p c/d && ln -s ../../README.md c/d/readme && ln -s . here' },
        ],
      },
      'links',
    );
    assert.equal(report.status, 'succeeded', 'findings do not make the run conflicted');
    const findings = await findingsOf('links');
    assert.deepEqual(
      findings.map((f) => [f.kind, f.path, f.steps]),
      [
        ['symlink_out', 'a/b/up', ['leak']],
        ['symlink_out', 'leak', ['leak']],
        ['symlink_out', 'x', ['leak']],
      ],
      'only the links that leave the repository, none of the step "inner"',
    );
    assert.match(findings.find((f) => f.path === 'leak')!.detail, /\/etc\/passwd/);
    assert.match(findings.find((f) => f.path === 'x')!.detail, /\.\.\/\.\.\/\.\.\/outside/);
    assert.match(await stateFile('links', 'conflicts.md'), /## Needs your eye[\s\S]*`leak`[\s\S]*\/etc\/passwd/);
    assert.deepEqual(
      report.findings.map((f) => f.path),
      ['a/b/up', 'leak', 'x'],
      'the --json report lists them',
    );

    const before = await userFiles(repo);
    const refused = await cli(['apply', 'links', '--repo', repo.dir]);
    assert.equal(refused.code, 2, `${refused.stdout}${refused.stderr}`);
    assert.match(refused.stderr, /leak → \/etc\/passwd/);
    assert.match(refused.stderr, /x → \.\.\/\.\.\/\.\.\/outside/);
    assert.match(refused.stderr, /--allow-symlinks-out/);
    assert.match(refused.stderr, /Nothing was changed/);
    assert.equal(await userFiles(repo), before, "nothing in the user's working tree or index changed");

    const branch = await cli(['branch', 'links', 'tapps/links', '--repo', repo.dir]);
    assert.equal(branch.code, 0, branch.stderr);
    assert.match(branch.stderr, /symbolic link.*leak → \/etc\/passwd/);
    assert.equal(await userFiles(repo), before, 'a branch writes nothing in the working tree');

    const applied = await cli(['apply', 'links', '--allow-symlinks-out', '--repo', repo.dir]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(await readlink(path.join(repo.dir, 'leak')), '/etc/passwd');
    assert.equal(await readlink(path.join(repo.dir, 'guide')), 'docs/guide.md');
    // Back to the committed files for the next tests.
    repo.git(['checkout', '-q', '--', '.']);
    repo.git(['clean', '-fdq', '-e', '.tapps-agents']);
  });

  it('reports the files a step wrote into a submodule folder (git cannot capture them), and the step still succeeds', async () => {
    assert.ok((await lstat(path.join(repo.dir, 'libs/sub/lib.txt'))).isFile(), "the user's own submodule is checked out");
    const report = await runCli(
      {
        steps: [
          {
            id: 'vendor',
            run: 'echo hi > libs/sub/new.txt && mkdir -p libs/sub/deep && echo x > libs/sub/deep/f.txt && echo ok > top.txt',
          },
          // A step that swaps the submodule's parent for a link to a system folder: never walked.
          { id: 'relink', run: 'rm -rf libs && ln -s /usr libs' },
          { id: 'quiet', run: 'echo quiet > quiet.txt' },
        ],
      },
      'submodule',
    );
    assert.deepEqual(
      report.steps.map((s) => [s.id, s.status]),
      [
        ['vendor', 'succeeded'],
        ['relink', 'succeeded'],
        ['quiet', 'succeeded'],
      ],
    );
    assert.equal(report.status, 'succeeded');
    const findings = await findingsOf('submodule');
    const writes = findings.filter((f) => f.kind === 'submodule_write');
    assert.deepEqual(
      writes.map((f) => [f.path, f.steps]),
      [['libs/sub', ['vendor']]],
    );
    assert.match(writes[0].detail, /2 file/);
    assert.match(writes[0].detail, /libs\/sub\/deep\/f\.txt/);
    assert.match(writes[0].detail, /libs\/sub\/new\.txt/);
    assert.deepEqual(
      findings.filter((f) => f.kind === 'symlink_out').map((f) => [f.path, f.steps]),
      [['libs', ['relink']]],
    );
    const events = (await stateFile('submodule', 'events.jsonl'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; step?: string; submoduleWrites?: unknown });
    const vendor = events.find((e) => e.type === 'step_succeeded' && e.step === 'vendor');
    assert.deepEqual(vendor?.submoduleWrites, [{ submodule: 'libs/sub', files: ['libs/sub/deep/f.txt', 'libs/sub/new.txt'], count: 2 }]);
    assert.equal(events.find((e) => e.type === 'step_succeeded' && e.step === 'quiet')?.submoduleWrites, undefined);
  });

  it('reports a file made executable outside "creates", and not one inside', async () => {
    const report = await runCli(
      {
        steps: [
          { id: 'exec-out', run: 'chmod +x tool.sh' },
          { id: 'exec-new', run: "printf 'echo gen\\n' > gen.sh && chmod +x gen.sh" },
          { id: 'exec-in', run: "chmod +x made.sh && printf 'echo new\\n' > new.sh && chmod +x new.sh", creates: ['made.sh', 'new.sh'] },
          { id: 'plain', run: 'echo plain > plain.sh' },
        ],
      },
      'modes',
    );
    assert.equal(report.status, 'succeeded');
    assert.deepEqual(
      (await findingsOf('modes')).map((f) => [f.kind, f.path, f.steps]),
      [
        ['mode_change', 'gen.sh', ['exec-new']],
        ['mode_change', 'tool.sh', ['exec-out']],
      ],
    );
  });

  it('gives byte-identical reports whatever order the steps finished in', async () => {
    const spec: WorkflowSpec = {
      steps: [
        { id: 'slow', run: 'sleep 0.8 && ln -s /etc/hosts hosts && chmod +x tool.sh' },
        { id: 'mid', run: 'sleep 0.3 && echo x > libs/sub/mid.txt && echo mid > mid.txt' },
        { id: 'fast', run: 'ln -s ../.. up && printf x > run.sh && chmod +x run.sh' },
      ],
    };
    const parallel = await runWorkflow(repo, spec, { runId: 'order-parallel', maxParallel: 8 });
    const sequential = await runWorkflow(repo, spec, { runId: 'order-sequential', sequential: true });
    const order = (r: typeof parallel) => r.events.flatMap((e) => (e.type === 'step_succeeded' ? [e.step] : [])).join(' ');
    assert.notEqual(order(parallel), order(sequential), 'the steps finished in different orders');
    const json = await stateFile('order-parallel', 'conflicts.json');
    assert.equal(await stateFile('order-sequential', 'conflicts.json'), json, 'conflicts.json bytes');
    assert.equal(
      await stateFile('order-sequential', 'conflicts.md'),
      await stateFile('order-parallel', 'conflicts.md'),
      'conflicts.md bytes',
    );
    assert.deepEqual(
      (JSON.parse(json) as { findings: Finding[] }).findings.map((f) => [f.kind, f.path]),
      [
        ['mode_change', 'run.sh'],
        ['mode_change', 'tool.sh'],
        ['submodule_write', 'libs/sub'],
        ['symlink_out', 'hosts'],
        ['symlink_out', 'up'],
      ],
    );
    assert.deepEqual(
      parallel.snapshot.findings.map((f) => f.path),
      ['run.sh', 'tool.sh', 'libs/sub', 'hosts', 'up'],
      'the state holds them too',
    );
  });
});
