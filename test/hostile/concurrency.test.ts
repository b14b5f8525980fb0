import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCli, cli, startCli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { waitFor } from '../unit/helpers/wait';
import { writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';

interface Report {
  status: string;
  steps: Array<{ id: string; status: string }>;
  aggregate: { tree: string } | null;
}

const TRIES = 20;

const spec = (tag: string, sleep = 0): WorkflowSpec => ({
  id: `w-${tag}`,
  steps: ['a', 'b', 'c', 'd'].map((id) => ({ id, run: `${sleep ? `sleep ${sleep} && ` : ''}echo ${tag}-${id} > ${id}.txt` })),
});

const stateDir = (repo: TempRepo, runId: string) => path.join(repo.dir, '.tapps-agents', 'workflow-state', runId);

/** Waits until the run has recorded an event of `type` (the CLI running it is another process). */
function waitForEvent(repo: TempRepo, runId: string, type: string): Promise<true> {
  return waitFor(
    `${runId} to record ${type}`,
    async () => (await readFile(path.join(stateDir(repo, runId), 'events.jsonl'), 'utf8').catch(() => '')).includes(`"${type}"`),
    30_000,
  );
}

async function sequenceNumbers(repo: TempRepo, runId: string): Promise<number[]> {
  const text = await readFile(path.join(stateDir(repo, runId), 'events.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { seq: number }).seq);
}

function strictlyIncreasing(seqs: readonly number[]): boolean {
  return seqs.every((s, i) => i === 0 || s > seqs[i - 1]);
}

/** Two processes at once on one repository, 20 tries of each case. */
describe('hostile: two processes at once', function () {
  this.timeout(600_000);
  let repo: TempRepo;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# concurrency\n' });
  });
  after(() => repo.cleanup());

  it(`two runs on one repository both succeed, ${TRIES} tries`, async () => {
    const [one, two] = [await writeWorkflow(repo, spec('one'), 'one.yaml'), await writeWorkflow(repo, spec('two'), 'two.yaml')];
    for (let i = 0; i < TRIES; i++) {
      const results = await Promise.all([
        cli(['run', one, '--repo', repo.dir, '--run-id', `one-${i}`, '--json']),
        cli(['run', two, '--repo', repo.dir, '--run-id', `two-${i}`, '--json']),
      ]);
      for (const r of results) {
        assert.equal(r.code, 0, `try ${i}: ${r.stderr}`);
        const report = JSON.parse(r.stdout) as Report;
        assert.deepEqual(
          report.steps.map((s) => s.status),
          ['succeeded', 'succeeded', 'succeeded', 'succeeded'],
          `try ${i}`,
        );
      }
    }
    await cli(['cleanup', '--keep', '0', '--repo', repo.dir]);
  });

  it(`cleanup during a run leaves the live run alone, ${TRIES} tries`, async () => {
    const file = await writeWorkflow(repo, spec('live', 0.3), 'live.yaml');
    for (let i = 0; i < TRIES; i++) {
      const runId = `live-${i}`;
      const run = startCli(['run', file, '--repo', repo.dir, '--run-id', runId, '--json']);
      await waitForEvent(repo, runId, 'step_started');
      const cleaned = await cli(['cleanup', '--keep', '0', '--repo', repo.dir, '--json']);
      assert.equal(cleaned.code, 0, cleaned.stderr);
      const report = JSON.parse(cleaned.stdout) as { runs: Array<{ runId: string }>; skipped: Array<{ runId: string; reason: string }> };
      assert.ok(!report.runs.some((r) => r.runId === runId), `try ${i}: the live run was not removed`);
      const result = await run.done;
      assert.equal(result.code, 0, `try ${i}: ${result.stderr}`);
      assert.equal((JSON.parse(result.stdout) as Report).status, 'succeeded');
    }
  });

  it(`two resumes of one run: one is accepted, the other refused (exit 2), ${TRIES} tries`, async () => {
    // The failing step takes half a second each time, so the accepted resume holds the run while the other one tries.
    const file = await writeWorkflow(
      repo,
      {
        steps: [
          { id: 'ok', run: 'echo ok > ok.txt' },
          { id: 'flaky', run: 'sleep 0.5; exit 1' },
        ],
      },
      'flaky.yaml',
    );
    for (let i = 0; i < TRIES; i++) {
      const runId = `flaky-${i}`;
      const failed = await cli(['run', file, '--repo', repo.dir, '--run-id', runId]);
      assert.equal(failed.code, 1, failed.stderr);
      const results = await Promise.all([cli(['resume', runId, '--repo', repo.dir]), cli(['resume', runId, '--repo', repo.dir])]);
      const codes = results.map((r) => r.code).sort();
      assert.deepEqual(codes, [1, 2], `try ${i}: ${results.map((r) => r.stderr).join(' | ')}`);
      const refused = results.find((r) => r.code === 2)!;
      assert.match(refused.stderr, /is in use by /);
      assert.ok(strictlyIncreasing(await sequenceNumbers(repo, runId)), `try ${i}: sequence numbers strictly increase`);
    }
  });

  it(`--run-id of a live run is refused with exit 2, and the live run goes on, ${TRIES} tries`, async () => {
    const file = await writeWorkflow(repo, spec('busy', 0.3), 'busy.yaml');
    for (let i = 0; i < TRIES; i++) {
      const runId = `busy-${i}`;
      const run = startCli(['run', file, '--repo', repo.dir, '--run-id', runId, '--json']);
      await waitForEvent(repo, runId, 'run_started');
      const second = await cli(['run', file, '--repo', repo.dir, '--run-id', runId]);
      assert.equal(second.code, 2, `try ${i}: ${second.stderr}`);
      assert.match(second.stderr, /in use by|already exists/);
      const result = await run.done;
      assert.equal(result.code, 0, `try ${i}: ${result.stderr}`);
      assert.equal((JSON.parse(result.stdout) as Report).status, 'succeeded');
      const text = await readFile(path.join(stateDir(repo, runId), 'events.jsonl'), 'utf8');
      assert.equal(text.split('"run_started"').length - 1, 1, 'one run in the log');
      assert.ok(strictlyIncreasing(await sequenceNumbers(repo, runId)));
    }
  });
});
