import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCli, cli, startCli } from '../helpers/cli';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { waitFor } from '../helpers/wait';
import { writeWorkflow, type WorkflowSpec } from '../helpers/workflowRun';

interface Report {
  runId: string;
  workflow: string;
  status: string;
  base: string;
  steps: Array<Record<string, unknown>>;
  aggregate: Record<string, unknown> | null;
  conflicts: Array<Record<string, unknown>>;
}

const SHA = /^[0-9a-f]{40}$/;

describe('engine: the CLI contract', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'notes.txt': 'one\ntwo\nthree\n' });
  });
  after(async () => {
    await repo.cleanup();
  });

  const runJson = async (spec: WorkflowSpec | string, runId: string, extra: readonly string[] = []) => {
    const file = await writeWorkflow(repo, spec, `${runId}.yaml`);
    return cli(['run', file, '--repo', repo.dir, '--json', '--run-id', runId, ...extra]);
  };

  it('exits 0 on success and prints the JSON report', async () => {
    const result = await runJson(
      {
        steps: [
          { id: 'a', run: 'echo a > a.txt', creates: ['a.txt'] },
          { id: 'b', run: 'echo b > b.txt', creates: ['b.txt'] },
        ],
      },
      'ok',
    );
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    assert.deepEqual(Object.keys(report), [
      'runId',
      'workflow',
      'status',
      'base',
      'steps',
      'aggregate',
      'conflicts',
      'resolutions',
      'missing',
      'elapsedMs',
      'findings',
      'escaped',
      'escapes',
      'checks',
      'culprits',
      'alternative',
      'candidates',
    ]);
    assert.equal(report.runId, 'ok');
    // A workflow file outside the repository is named by its absolute path (inside, by its repository path).
    assert.equal(report.workflow, path.join(repo.root, 'workflows', 'ok.yaml'));
    assert.equal(report.status, 'succeeded');
    assert.match(report.base, SHA);
    assert.deepEqual(
      report.steps.map((s) => s.id),
      ['a', 'b'],
    );
    for (const step of report.steps) {
      assert.deepEqual(Object.keys(step), ['id', 'status', 'result', 'error', 'startedAt', 'finishedAt', 'log', 'port', 'worker']);
      assert.equal(step.status, 'succeeded');
      assert.equal(step.port, null, 'a step that ended holds no port');
      assert.equal(step.worker, null, 'a step run here names no worker');
      assert.match(String(step.result), SHA);
      assert.equal(step.error, null);
      assert.ok(Date.parse(String(step.startedAt)) <= Date.parse(String(step.finishedAt)));
      assert.equal(step.log, path.join(repo.dir, '.tapps-agents', 'workflow-state', 'ok', 'steps', String(step.id), 'log.txt'));
      assert.match(await readFile(String(step.log), 'utf8'), /succeeded/);
    }
    assert.deepEqual(Object.keys(report.aggregate!), ['commit', 'tree', 'partial']);
    assert.equal(report.aggregate!.partial, false);
    assert.equal(repo.git(['rev-parse', `${String(report.aggregate!.commit)}^{tree}`]), report.aggregate!.tree);
    assert.deepEqual(report.conflicts, []);
  });

  it('exits 1 when a step fails', async () => {
    const result = await runJson(
      {
        steps: [
          { id: 'bad', run: 'echo oops >&2; exit 4' },
          { id: 'good', run: 'echo g > g.txt' },
        ],
      },
      'failing',
    );
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.status, 'failed');
    assert.deepEqual(
      report.steps.map((s) => [s.id, s.status, s.error]),
      [
        ['bad', 'failed', "the agent exited with code 4; see the step's log"],
        ['good', 'succeeded', null],
      ],
    );
    assert.equal(report.aggregate!.partial, true);
  });

  it('exits 2 for an invalid workflow, naming the file, line and column', async () => {
    const text =
      'workflow:\n  id: w\n  steps:\n    - id: a\n      agent: shell\n      run: echo\n    - id: a\n      agent: shell\n      run: echo\n';
    const file = await writeWorkflow(repo, text, 'invalid.yaml');
    const result = await cli(['run', file, '--repo', repo.dir, '--json']);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.ok(result.stderr.includes(`${file}:7:11: step "a": duplicate step id "a"`), result.stderr);
  });

  it('exits 2 for a bad flag or flag value', async () => {
    const file = await writeWorkflow(repo, { steps: [{ id: 'a', run: 'true' }] }, 'flags.yaml');
    const unknown = await cli(['run', file, '--repo', repo.dir, '--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--bogus/);
    assert.match(unknown.stderr, /Usage:/);
    const tooMany = await cli(['run', file, '--repo', repo.dir, '--max-parallel', '9']);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /--max-parallel expects a whole number from 1 to 8, got "9"/);
    assert.equal((await cli(['frobnicate'])).code, 2);
  });

  it('exits 3 when the run is conflicted, listing the conflicts', async () => {
    const result = await runJson(
      {
        steps: [
          { id: 'first', run: 'printf "one\\nTWO\\nthree\\n" > notes.txt' },
          { id: 'second', run: 'printf "one\\n2\\nthree\\n" > notes.txt' },
        ],
      },
      'conflicted',
    );
    assert.equal(result.code, 3, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.status, 'conflicted');
    assert.deepEqual(report.conflicts, [{ path: 'notes.txt', kind: 'content', steps: ['first', 'second'] }]);
  });

  it('exits 130 on SIGINT, with the steps stopped and the run recorded as cancelled', async function () {
    // POSIX signals: on Windows `child.kill('SIGINT')` terminates the process outright, it receives no signal.
    if (process.platform === 'win32') this.skip();
    const file = await writeWorkflow(
      repo,
      {
        settings: { kill_grace_seconds: 1 },
        steps: [
          { id: 'long', run: 'sleep 30' },
          { id: 'later', run: 'true', needs: ['long'] },
        ],
      },
      'interrupted.yaml',
    );
    const { child, done } = startCli(['run', file, '--repo', repo.dir, '--json', '--run-id', 'interrupted']);
    const stateDir = path.join(repo.dir, '.tapps-agents', 'workflow-state', 'interrupted');
    await waitFor('the step to start', async () =>
      (await readFile(path.join(stateDir, 'events.jsonl'), 'utf8').catch(() => '')).includes('"step_started"'),
    );
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    const state = JSON.parse(await readFile(path.join(stateDir, 'state.json'), 'utf8')) as {
      status: string;
      steps: Array<{ id: string; status: string }>;
    };
    assert.equal(state.status, 'cancelled');
    assert.deepEqual(
      state.steps.map((s) => [s.id, s.status]),
      [
        ['long', 'cancelled'],
        ['later', 'cancelled'],
      ],
    );
    assert.equal((JSON.parse(result.stdout) as Report).status, 'cancelled');
  });
});
