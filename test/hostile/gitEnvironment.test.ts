import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCli, cli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';

interface Report {
  status: string;
  steps: Array<{ id: string; status: string; result: string | null }>;
  aggregate: { commit: string; tree: string } | null;
  conflicts: unknown[];
}

/** What of the user's repository a run must never change: the index file's bytes, what is staged, HEAD, refs, config. */
function userState(repo: TempRepo): Promise<string> {
  return (async () =>
    JSON.stringify({
      index: (await readFile(path.join(repo.dir, '.git', 'index'))).toString('base64'),
      staged: repo.git(['diff', '--cached', '--name-status']),
      head: repo.git(['rev-parse', 'HEAD']),
      branches: repo.git(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads']),
      config: await readFile(path.join(repo.dir, '.git', 'config'), 'utf8'),
    }))();
}

describe('hostile: git redirected by a step, by the environment, by the configuration', function () {
  this.timeout(180_000);
  let repo: TempRepo;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'shared.txt': 'one\ntwo\nthree\n', 'old/name.txt': 'moved\n' });
    // The user has a staged edit and an unstaged one when the run starts.
    await repo.write('staged.txt', 'staged by the user\n');
    repo.git(['add', 'staged.txt']);
    await repo.write('shared.txt', 'one\ntwo\nthree\nunstaged\n');
  });
  after(() => repo.cleanup());

  const run = async (spec: WorkflowSpec, runId: string, env: NodeJS.ProcessEnv = process.env): Promise<Report> => {
    const file = await writeWorkflow(repo, spec, `${runId}.yaml`);
    const result = await cli(['run', file, '--repo', repo.dir, '--run-id', runId, '--json'], { env });
    assert.ok(result.code === 0 || result.code === 3, `${runId}: exit ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as Report;
  };

  it("a step that points its worktree's .git at the user's repository cannot touch the user's index", async () => {
    const before = await userState(repo);
    const report = await run(
      {
        steps: [
          {
            id: 'redirect',
            // (The step's own git commands against that folder are for the containment of steps to stop.)
            run: `echo "gitdir: ${path.join(repo.dir, '.git')}" > .git && echo new > new.txt`,
          },
        ],
      },
      'redirect',
    );
    assert.equal(report.status, 'succeeded');
    assert.equal(await userState(repo), before, "the user's index, staged edit, HEAD and config are unchanged");
    const result = report.steps[0].result!;
    assert.equal(repo.show(result, 'new.txt'), 'new\n', "the step's file is in its result");
    assert.equal(repo.show(result, 'staged.txt'), 'staged by the user\n', 'the base held the staged edit');
  });

  it("variables a git hook passes on (GIT_DIR, GIT_INDEX_FILE, GIT_WORK_TREE, every local one) change nothing of the user's and nothing of the result", async () => {
    const spec: WorkflowSpec = { steps: [{ id: 'w', run: 'echo w > w.txt && git status --porcelain > /dev/null' }] };
    const clean = await run(spec, 'env-clean');
    const before = await userState(repo);
    const other = await makeTempRepo({ 'elsewhere.txt': 'x\n' });
    try {
      const hostile: NodeJS.ProcessEnv = { ...process.env };
      const local = execFileSync('git', ['rev-parse', '--local-env-vars'], { encoding: 'utf8' }).trim().split('\n');
      for (const name of local) hostile[name] = path.join(other.dir, '.git', 'bogus');
      Object.assign(hostile, {
        GIT_DIR: path.join(other.dir, '.git'),
        GIT_WORK_TREE: other.dir,
        GIT_INDEX_FILE: path.join(repo.dir, '.git', 'index'),
        GIT_OBJECT_DIRECTORY: path.join(other.dir, '.git', 'objects'),
        GIT_CONFIG_PARAMETERS: "'merge.conflictstyle'='diff3' 'core.autocrlf'='true'",
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'core.hooksPath',
        GIT_CONFIG_VALUE_0: path.join(other.dir, 'hooks'),
        GIT_AUTHOR_DATE: '@1 +0000',
        GIT_COMMITTER_DATE: '@1 +0000',
      });
      const otherBefore = { index: await readFile(path.join(other.dir, '.git', 'index')), refs: other.git(['for-each-ref']) };
      const report = await run(spec, 'env-hostile', hostile);
      assert.equal(report.status, 'succeeded');
      assert.equal(report.aggregate!.tree, clean.aggregate!.tree, 'the same result as with a clean environment');
      assert.equal(await userState(repo), before, "the user's repository is unchanged");
      assert.deepEqual(
        await readFile(path.join(other.dir, '.git', 'index')),
        otherBefore.index,
        'the repository the variables named is unchanged',
      );
      assert.equal(other.git(['for-each-ref']), otherBefore.refs);
    } finally {
      await other.cleanup();
    }
  });

  it("the same inputs give the same aggregate tree and report bytes whatever the user's git configuration", async () => {
    const spec: WorkflowSpec = {
      steps: [
        // Both change one line (a content conflict, whose blob the conflict style would shape), and
        // one renames a file the other changes (merged only with rename detection).
        {
          id: 'left',
          run: "sed -i 's/two/LEFT/' shared.txt && echo more >> old/name.txt && printf 'a\\r\\nb\\r\\n' > crlf.txt && echo log > build.log",
        },
        { id: 'right', run: "sed -i 's/two/RIGHT/' shared.txt && mkdir -p new && mv old/name.txt new/name.txt" },
      ],
    };
    const plain = await run(spec, 'config-plain');
    const globalConfig = path.join(repo.outside, 'hostile-gitconfig');
    const ignore = path.join(repo.outside, 'global-ignore');
    await writeFile(ignore, '*.log\n');
    await writeFile(
      globalConfig,
      [
        '[merge]',
        '  conflictStyle = zdiff3',
        '  renames = false',
        '  directoryRenames = true',
        '  renameLimit = 1',
        '[diff]',
        '  renames = false',
        '[core]',
        '  autocrlf = true',
        `  excludesFile = ${ignore}`,
        '[commit]',
        '  gpgSign = true',
        '[gpg]',
        '  program = false',
        '[gc]',
        '  auto = 1',
        '',
      ].join('\n'),
    );
    const configured = await run(spec, 'config-hostile', { ...process.env, GIT_CONFIG_GLOBAL: globalConfig });
    assert.equal(configured.status, plain.status);
    assert.equal(configured.aggregate!.tree, plain.aggregate!.tree, 'same aggregate tree id');
    assert.equal(configured.aggregate!.commit, plain.aggregate!.commit, 'same aggregate commit id');
    const stateOf = (runId: string, file: string) => readFile(path.join(repo.dir, '.tapps-agents', 'workflow-state', runId, file), 'utf8');
    assert.equal(
      await stateOf('config-hostile', 'conflicts.json'),
      await stateOf('config-plain', 'conflicts.json'),
      'same conflict report bytes',
    );
    assert.equal(await stateOf('config-hostile', 'conflicts.md'), await stateOf('config-plain', 'conflicts.md'));
    assert.equal(repo.show(configured.aggregate!.commit, 'crlf.txt'), 'a\r\nb\r\n', 'CRLF kept as the step wrote it');
    assert.equal(
      repo.show(configured.aggregate!.commit, 'build.log'),
      'log\n',
      "the user's global ignore file does not drop a step's file",
    );
    assert.equal(repo.show(configured.aggregate!.commit, 'new/name.txt'), 'moved\nmore\n', 'the rename and the change merged');
    assert.equal(plain.status, 'conflicted', 'shared.txt: both changed line two');
  });
});
