import { strict as assert } from 'node:assert';
import { buildCli, cli } from '../helpers/cli';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { writeWorkflow, type WorkflowSpec } from '../helpers/workflowRun';

/** Three steps adding a file each; `test` fails when both b's and c's files are there. */
const WORKFLOW: WorkflowSpec = {
  checks: [
    { name: 'lint', run: 'true' },
    { name: 'test', run: '! { test -e b.txt && test -e c.txt; }' },
  ],
  steps: [
    { id: 'a', run: 'echo a > a.txt' },
    { id: 'b', run: 'echo b > b.txt' },
    { id: 'c', run: 'echo c > c.txt' },
  ],
};

describe('checks: the CLI', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# cli\n' });
    const file = await writeWorkflow(repo, WORKFLOW, 'checked.yaml');
    const run = await cli(['run', file, '--repo', repo.dir, '--run-id', 'checked']);
    assert.equal(run.code, 5, `${run.stdout}\n${run.stderr}`);
  });
  after(() => repo.cleanup());

  it('status names the failing check, the steps that broke it, its log and the passing alternative, with the commands that apply it', async () => {
    const status = await cli(['status', 'checked', '--repo', repo.dir]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /checks failed in /);
    assert.match(status.stdout, /Checks: 1 of 2 checks passed/);
    assert.match(status.stdout, /passed\s+lint/);
    assert.match(
      status.stdout,
      /failed\s+test \([\d.]+s\): broken by b and c together \(\d+ check runs\); log: .*checks\/test\/[0-9a-f]{40}\.log/,
    );
    assert.match(status.stdout, /Passing alternative: [0-9a-f]{40} \(the aggregate without c\)/);
    assert.match(status.stdout, /apply checked --alternative/);
    const json = JSON.parse((await cli(['status', 'checked', '--repo', repo.dir, '--json'])).stdout) as {
      status: string;
      culprits: unknown;
      alternative: { leftOut: string[] };
      checks: Array<{ check: string; target: string; status: string }>;
    };
    assert.equal(json.status, 'checks_failed');
    assert.deepEqual(json.culprits, [
      { check: 'test', outcome: 'found', steps: ['b', 'c'], runs: (json.culprits as Array<{ runs: number }>)[0].runs },
    ]);
    assert.deepEqual(json.alternative.leftOut, ['c']);
    assert.deepEqual(
      json.checks.filter((c) => c.target === 'aggregate').map((c) => [c.check, c.status]),
      [
        ['lint', 'passed'],
        ['test', 'failed'],
      ],
    );
  });

  it('branch --alternative points at the passing alternative; apply --alternative applies it, without the steps left out', async () => {
    const failing = await cli(['branch', 'checked', 'failing', '--repo', repo.dir]);
    assert.equal(failing.code, 0, failing.stderr);
    assert.match(
      failing.stderr,
      /warning: the result fails test; the branch holds it\. The result without c passes: .*branch checked failing-passing --alternative --repo/,
    );
    const branch = await cli(['branch', 'checked', 'passing', '--alternative', '--repo', repo.dir]);
    assert.equal(branch.code, 0, branch.stderr);
    assert.equal(branch.stderr, '');
    assert.equal(repo.git(['ls-tree', '--name-only', 'passing']), 'README.md\na.txt\nb.txt');
    const apply = await cli(['apply', 'checked', '--alternative', '--repo', repo.dir]);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /Applying the result without c, which passes every check/);
    assert.equal(repo.git(['status', '--porcelain']), '?? a.txt\n?? b.txt');
  });

  it('apply without --alternative applies the failing result, after a warning that names the check and the way to the passing one', async () => {
    repo.git(['clean', '-fdq', '-e', '.tapps-agents']);
    const apply = await cli(['apply', 'checked', '--repo', repo.dir]);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(
      apply.stderr,
      /warning: the result fails test; applying it anyway\. The result without c passes: .*apply checked --alternative/,
    );
    assert.match(repo.git(['status', '--porcelain']), /c\.txt/);
  });

  it('apply --alternative of a run without one is refused with exit 2, nothing written', async () => {
    const file = await writeWorkflow(repo, { steps: [{ id: 'x', run: 'echo x > x.txt' }] }, 'plain.yaml');
    assert.equal((await cli(['run', file, '--repo', repo.dir, '--run-id', 'plain'])).code, 0);
    const before = repo.git(['status', '--porcelain']);
    const apply = await cli(['apply', 'plain', '--alternative', '--repo', repo.dir]);
    assert.equal(apply.code, 2);
    assert.match(apply.stderr, /Run plain has no passing alternative/);
    assert.equal(repo.git(['status', '--porcelain']), before);
  });
});
