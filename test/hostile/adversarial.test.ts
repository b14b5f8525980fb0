import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildCli, cli, startCli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { waitFor } from '../unit/helpers/wait';
import { sq, writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';

/**
 * A reviewer's attacks on containment: each test is a way a step got around what the README
 * promises, closed since. (Open ones are listed in the README's containment section.)
 */

interface Report {
  readonly status: string;
  readonly escaped: boolean;
  readonly escapes: ReadonlyArray<{ readonly kind: string; readonly path: string; readonly change: string }>;
  readonly findings: ReadonlyArray<{ readonly kind: string; readonly path: string }>;
  readonly steps: ReadonlyArray<{ readonly id: string; readonly status: string; readonly error: string | null }>;
}

/** Shell: the user's main checkout, from inside a step's worktree. */
const MAIN = 'main=$(cd "$(git rev-parse --path-format=absolute --git-common-dir)/.." && pwd); g="$main/.git"';

describe('hostile: adversarial review of step containment', function () {
  this.timeout(120_000);
  const repos: TempRepo[] = [];
  let counter = 0;

  before(() => buildCli());
  after(async () => {
    for (const r of repos) await r.cleanup();
  });

  async function fresh(files?: Record<string, string>): Promise<TempRepo> {
    const repo = await makeTempRepo(files ?? { 'README.md': '# adversarial\n', 'c.txt': 'the user keeps this file\n' });
    repos.push(repo);
    return repo;
  }

  async function run(repo: TempRepo, spec: WorkflowSpec, env: NodeJS.ProcessEnv = process.env, extra: readonly string[] = []) {
    const runId = `adv-${++counter}`;
    const workflow = await writeWorkflow(repo, spec, `${runId}.yaml`);
    const result = await cli(['run', workflow, '--repo', repo.dir, '--run-id', runId, '--json', ...extra], { env });
    return { runId, result, report: JSON.parse(result.stdout || 'null') as Report | null };
  }

  describe('isolation: sandbox', () => {
    it("a step that turns its index into a FIFO does not hang the engine's capture", async () => {
      const repo = await fresh();
      const workflow = await writeWorkflow(
        repo,
        {
          steps: [{ id: 'fifo', run: 'echo ok > out.txt; entry=$(git rev-parse --git-dir); rm -f "$entry/index"; mkfifo "$entry/index"' }],
        },
        'fifo.yaml',
      );
      const started = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'adv-fifo']);
      const ended = await Promise.race([started.done.then(() => true), sleep(20_000).then(() => false)]);
      if (!ended) {
        started.child.kill('SIGTERM'); // asks the run to cancel
        const cancelled = await Promise.race([started.done.then(() => true), sleep(5_000).then(() => false)]);
        if (!cancelled) {
          started.child.kill('SIGKILL');
          await started.done;
        }
      }
      assert.equal(ended, true, 'the run did not end within 20 s: capture blocks opening the FIFO the step left as its index');
    });
  });

  describe('isolation: sandbox, the object store', () => {
    it("a sandboxed step cannot replace an object of the user's history; what its own git wrote is imported, verified", async () => {
      const repo = await fresh();
      const readme = repo.git(['rev-parse', 'HEAD:README.md']);
      const loose = `objects/${readme.slice(0, 2)}/${readme.slice(2)}`;
      const { runId, result, report } = await run(repo, {
        settings: { isolation: 'sandbox', keep_worktrees: 'always' },
        steps: [
          {
            id: 'forger',
            run: [
              'common=$(git rev-parse --path-format=absolute --git-common-dir)',
              `fake=$(echo "pwned by a sandboxed step" | git hash-object -w --stdin)`,
              `if rm -f "$common/${loose}" 2>/dev/null && cp "$(git rev-parse --git-path objects)/$(echo $fake | cut -c1-2)/$(echo $fake | cut -c3-)" "$common/${loose}" 2>/dev/null; then echo replaced > outcome.txt; else echo refused > outcome.txt; fi`,
              'echo mine > mine.txt && git add -A && git -c user.name=a -c user.email=a@a commit -q -m "the step\'s own commit"',
            ].join('\n'),
          },
        ],
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(report?.status, 'succeeded');
      assert.equal(repo.git(['cat-file', '-p', `HEAD:README.md`]), '# adversarial', "the user's history is intact");
      assert.equal(repo.git(['show', `refs/tapps-flow/runs/${runId}/steps/forger:outcome.txt`]), 'refused');
      assert.equal(repo.git(['show', `refs/tapps-flow/runs/${runId}/steps/forger:mine.txt`]), 'mine');
      // The step's commit, written to its own store, is in the repository now: its kept worktree's HEAD resolves.
      const worktree = repo
        .git(['worktree', 'list', '--porcelain'])
        .split('\n')
        .find((l) => l.startsWith('worktree ') && l.includes('forger'))!
        .slice(9);
      assert.equal(execFileSync('git', ['-C', worktree, 'log', '-1', '--format=%s'], { encoding: 'utf8' }).trim(), "the step's own commit");
      assert.equal(execFileSync('git', ['-C', repo.dir, 'fsck', '--no-dangling'], { encoding: 'utf8' }), '');
    });
  });

  describe('process containment', () => {
    it("a clean filter the step set up, run by the engine's capture, carries the step's tag and is stopped with it", async () => {
      const repo = await fresh();
      const marker = path.join(repo.outside, 'filter-daemon');
      const daemon = `setsid sh -c 'sleep 2; echo escaped > ${marker}' >/dev/null 2>&1 & cat`;
      const { result } = await run(repo, {
        steps: [
          {
            id: 'filterer',
            run: [`git config filter.evil.clean ${sq(daemon)}`, "echo '*.txt filter=evil' > .gitattributes", 'echo data > data.txt'].join(
              '\n',
            ),
          },
        ],
      });
      assert.ok(result.code === 0 || result.code === 4, result.stderr); // 4: the config write is reported
      await sleep(3_000);
      assert.equal(existsSync(marker), false, 'the daemon the filter started outlived the step');
    });
  });

  describe('isolation: detect', () => {
    it("writes into the user's git directory beyond HEAD, refs, config and hooks are reported (index, *_HEAD, info/, worktrees/)", async () => {
      const repo = await fresh();
      const { result, report } = await run(repo, {
        steps: [
          {
            id: 'gitdir',
            run: [
              MAIN,
              // The user's index: their next commit deletes c.txt and adds a file that is on no disk.
              'git -C "$main" update-index --add --cacheinfo "100644,$(echo evil | git hash-object -w --stdin),staged-evil.txt"',
              'git -C "$main" rm -q --cached c.txt',
              // Their next commit becomes a merge.
              'git rev-parse HEAD > "$g/MERGE_HEAD"',
              // Ignore rules and attributes for the user's own git commands.
              'echo "hidden.txt" >> "$g/info/exclude"',
              'echo "* text eol=crlf" > "$g/info/attributes"',
              'echo ok > out.txt',
            ].join('\n'),
          },
        ],
      });
      assert.ok(report, result.stderr);
      assert.match(repo.git(['status', '--porcelain']), /staged-evil\.txt/, 'premise: the user index was written');
      const reported = report.escapes.map((e) => e.path);
      const missed = ['index', 'MERGE_HEAD', 'info/exclude', 'info/attributes'].filter((p) => !reported.some((r) => r.endsWith(p)));
      assert.deepEqual(missed, [], `not reported (run ${report.status}, exit ${result.code}); reported: ${JSON.stringify(reported)}`);
    });

    it("a submodule's git config written by a step (core.fsmonitor: runs on the user's next git status there) is reported", async () => {
      const sub = await fresh({ 'sub.txt': 'submodule\n' });
      const repo = await fresh();
      repo.git(['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub.dir, 'sub']);
      repo.commit('add a submodule');
      const marker = path.join(repo.outside, 'fsmonitor-ran');
      const { result, report } = await run(repo, {
        steps: [
          {
            id: 'subconfig',
            run: `${MAIN}; git config -f "$g/modules/sub/config" core.fsmonitor ${sq(`echo ran > ${sq(marker)}; false`)}; echo ok > out.txt`,
          },
        ],
      });
      assert.ok(report, result.stderr);
      execFileSync('git', ['status', '--porcelain'], { cwd: path.join(repo.dir, 'sub'), stdio: 'ignore' });
      assert.equal(existsSync(marker), true, "premise: the user's git status in the submodule ran the step's command");
      assert.ok(
        report.escapes.some((e) => e.path.includes('modules/sub')),
        `not reported (run ${report.status}, exit ${result.code}); reported: ${JSON.stringify(report.escapes.map((e) => e.path))}`,
      );
    });

    it('a file replaced by a folder: its deletion is reported, and restore brings it back', async () => {
      const repo = await fresh();
      const { report } = await run(repo, {
        steps: [
          { id: 'swap', run: `${MAIN}; rm "$main/c.txt"; mkdir "$main/c.txt"; echo inner > "$main/c.txt/inner.txt"; echo ok > out.txt` },
        ],
      });
      assert.ok(report?.escaped, 'premise: c.txt/inner.txt is reported');
      const restored = await cli(['restore', `adv-${counter}`, '--repo', repo.dir]);
      const back = await readFile(path.join(repo.dir, 'c.txt'), 'utf8').catch((e: NodeJS.ErrnoException) => `<${e.code}>`);
      assert.deepEqual(
        { reported: report.escapes.some((e) => e.path === 'c.txt'), back },
        { reported: true, back: 'the user keeps this file\n' },
        `escapes: ${JSON.stringify(report.escapes)}; restore said: ${restored.stdout}`,
      );
    });
  });

  describe('false positives', () => {
    it("the engine's own apply (CLI) during another run is not that run's escape, and its restore leaves the apply alone", async () => {
      const repo = await fresh();
      const first = await run(repo, { steps: [{ id: 'edit', run: 'echo applied > README.md' }] });
      assert.equal(first.report?.status, 'succeeded');
      const go = path.join(repo.outside, 'applied');
      const workflow = await writeWorkflow(
        repo,
        {
          steps: [
            { id: 'slow', run: `i=0; while [ ! -e ${sq(go)} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo ok > out.txt` },
          ],
        },
        'slow.yaml',
      );
      const started = startCli(['run', workflow, '--repo', repo.dir, '--run-id', 'adv-slow', '--json']);
      await waitFor('the slow step to start', () =>
        readFile(path.join(repo.dir, '.tapps-agents', 'workflow-state', 'adv-slow', 'events.jsonl'), 'utf8').then(
          (t) => t.includes('"step_started"'),
          () => false,
        ),
      );
      const applied = await cli(['apply', first.runId, '--repo', repo.dir]);
      assert.equal(applied.code, 0, applied.stderr);
      await mkdir(go);
      const done = await started.done;
      const report = JSON.parse(done.stdout || 'null') as Report | null;
      const restored = await cli(['restore', 'adv-slow', '--repo', repo.dir]);
      assert.deepEqual(
        { exit: done.code, escapes: report?.escapes.map((e) => e.path), readme: await repo.read('README.md') },
        { exit: 0, escapes: [], readme: 'applied\n' },
        `restore said: ${restored.stdout}`,
      );
    });
  });

  describe('findings', () => {
    it('a chain of links each inside the repository that resolves to /etc/passwd is a finding and refused by apply', async () => {
      const repo = await fresh();
      const deep = Array.from({ length: 12 }, (_, i) => `d${i}`).join('/');
      const up = Array.from({ length: 12 }, () => '..').join('/');
      const { report } = await run(repo, {
        steps: [{ id: 'links', run: `mkdir -p ${deep} && ln -s ${up} ${deep}/s && ln -s ${deep}/s/${up}/etc/passwd passwd` }],
      });
      assert.equal(report?.status, 'succeeded');
      const found = report.findings.some((f) => f.kind === 'symlink_out' && f.path === 'passwd');
      const applied = await cli(['apply', `adv-${counter}`, '--repo', repo.dir]);
      const resolved = applied.code === 0 ? realpathSync.native(path.join(repo.dir, 'passwd')) : undefined;
      assert.deepEqual(
        { found, applyExit: applied.code },
        { found: true, applyExit: 2 },
        `apply wrote a link into the checkout that resolves to ${resolved ?? '?'}`,
      );
    });
  });
});
