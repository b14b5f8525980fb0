// What the CLI prints for people, from real runs of shell steps in real repositories: a failed
// step's log and last lines, plurals, local times, counts by state, resolutions, partial results.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCli, cli, startCli, type CliResult } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { waitFor } from '../unit/helpers/wait';
import { sq, writeWorkflow, type WorkflowSpec } from '../unit/helpers/workflowRun';

const VERSION = (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d/;

/** Human output has proper plurals, no ISO times and nothing a terminal would act on. */
function assertWords(result: CliResult, what: string): void {
  const out = `${result.stdout}${result.stderr}`;
  assert.doesNotMatch(out, /\(s\)/, `${what}: a "(s)" plural:\n${out}`);
  assert.doesNotMatch(out, ISO_TIME, `${what}: an ISO time:\n${out}`);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(out, /[\x00-\x08\x0b-\x1f\x7f]/, `${what}: a control character:\n${JSON.stringify(out)}`);
  assert.doesNotMatch(out, /^\s+at \S/m, `${what}: a stack trace:\n${out}`);
}

function sh(command: string, cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, signal: null, stdout, stderr }),
    );
  });
}

/** The lines from the one matching `first` on, `count` of them. */
function linesFrom(output: string, first: RegExp, count: number): string[] {
  const lines = output.split('\n');
  const at = lines.findIndex((l) => first.test(l));
  assert.ok(at >= 0, `no line matching ${String(first)} in:\n${output}`);
  return lines.slice(at, at + count);
}

describe('hostile: what the CLI prints for people', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  before(() => buildCli());
  beforeEach(async () => {
    repo = await makeTempRepo({ 'notes.txt': 'one\ntwo\nthree\n' });
  });
  afterEach(() => repo.cleanup());

  /** Runs a workflow through the CLI, from inside the repository. */
  const run = async (spec: WorkflowSpec, runId: string, env?: NodeJS.ProcessEnv) => {
    const file = await writeWorkflow(repo, spec, `${runId}.yaml`);
    return cli(['run', file, '--repo', repo.dir, '--run-id', runId], { cwd: repo.dir, env });
  };
  const flow = (args: readonly string[], env?: NodeJS.ProcessEnv) => cli(args, { cwd: repo.dir, env });

  const failing: WorkflowSpec = {
    name: 'Failing',
    steps: [
      {
        id: 'bad',
        // Seven lines, then what a crashing Node program prints, and an escape sequence.
        run: `for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; printf 'Error: boom\\n    at f (/x.js:1:2)\\n    at g (/y.js:3:4)\\n\\033[2Jcleared\\n' >&2; exit 3`,
      },
      { id: 'good', run: 'echo g > g.txt' },
      { id: 'after', run: 'echo h > h.txt', needs: ['bad'] },
    ],
  };
  const lastLines = ['line 5', 'line 6', 'line 7', 'Error: boom', '\\x1b[2Jcleared'];

  /** The failed step's lines: its reason, its log (which exists and holds its output), its last lines. */
  function assertFailureShown(output: string, first: RegExp, indent: string): void {
    const [, log, title, ...shown] = linesFrom(output, first, 8);
    const logPath = new RegExp(`^${indent}log: (.+)$`).exec(log)?.[1];
    assert.ok(logPath, `the log's path under the step's line:\n${output}`);
    assert.ok(path.isAbsolute(logPath) ? existsSync(logPath) : existsSync(path.join(repo.dir, logPath)), logPath);
    assert.equal(title, `${indent}last 5 lines of its output:`);
    assert.deepEqual(
      shown,
      lastLines.map((l) => `${indent}  │ ${l}`),
    );
  }

  it('a failed step: its log and the last lines of its output, live and in the summaries of run, status and resume', async () => {
    const result = await run(failing, 'failing');
    assert.equal(result.code, 1, result.stderr);
    assertWords(result, 'run');
    // Live, as the event comes (not a TTY: one line per event).
    assertFailureShown(result.stdout, /^✖ bad failed: the agent exited with code 3; see the step's log$/, '    ');
    // The summary when the run ends.
    assertFailureShown(result.stdout, /^ {2}✖ bad +failed +\d+\.\ds {2}the agent exited with code 3/, '      ');
    assert.match(await readFile(path.join(repo.dir, '.tapps-agents/workflow-state/failing/steps/bad/log.txt'), 'utf8'), /line 7/);
    // A skipped step says "skipped" once, then why.
    assert.match(result.stdout, /^↷ after skipped: it depends on "bad", which failed$/m);
    assert.match(result.stdout, /^ {2}↷ after +skipped +it depends on "bad", which failed$/m);
    assert.doesNotMatch(result.stdout, /skipped.*skipped/);
    assert.match(result.stdout, /^Aggregate: [0-9a-f]{40} \(partial: it lacks the steps bad \(failed\), after \(skipped\)\)$/m);

    const status = await flow(['status', 'failing']);
    assert.equal(status.code, 0, status.stderr);
    assertWords(status, 'status');
    assert.match(
      status.stdout,
      /^Run failing of "Failing", started .+: failed after \d+\.\ds \(3 steps: 1 succeeded, 1 failed, 1 skipped\)$/m,
    );
    assertFailureShown(status.stdout, /^ {2}✖ bad +failed/, '      ');

    const resumed = await flow(['resume', 'failing', '--repo', repo.dir]);
    assert.equal(resumed.code, 1, resumed.stderr);
    assertWords(resumed, 'resume');
    assert.match(resumed.stdout, /^Run failing of "Failing", started .+: 2 steps to run \(1 succeeded before\)/m);
    assertFailureShown(resumed.stdout, /^ {2}✖ bad +failed/, '      ');
  });

  it('plurals, counts and times in the user’s time zone and locale', async () => {
    const env = { ...process.env, TZ: 'Asia/Kolkata', LANG: 'de_DE.UTF-8', LC_ALL: '', LC_TIME: '' };
    const result = await run(
      {
        name: 'Words',
        steps: [
          { id: 'one', run: 'echo 1 > one.txt' },
          { id: 'two', run: 'echo 2 > two-a.txt; echo 2 > two-b.txt' },
        ],
      },
      'words',
      env,
    );
    assert.equal(result.code, 0, result.stderr);
    assertWords(result, 'run');
    assert.match(result.stdout, /: 2 steps to run, /);
    assert.match(result.stdout, /^✔ one succeeded: 1 file changed/m);
    assert.match(result.stdout, /^✔ two succeeded: 2 files changed/m);
    assert.match(result.stdout, /^aggregate [0-9a-f]{10}: 0 conflicts$/m);
    assert.match(result.stdout, /: succeeded in \d+\.\ds \(2 steps succeeded\)$/m);

    const state = JSON.parse(await readFile(path.join(repo.dir, '.tapps-agents/workflow-state/words/state.json'), 'utf8')) as {
      startedAt: string;
    };
    const local = new Intl.DateTimeFormat('de-DE', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'Asia/Kolkata' }).format(
      Date.parse(state.startedAt),
    );
    assert.ok(result.stdout.includes(`started ${local}:`), `the start in Kolkata, in German (${local}):\n${result.stdout}`);
    const list = await flow(['status'], env);
    assertWords(list, 'status');
    // A run list tells runs apart: id, start time, state and time taken, workflow, steps by state.
    assert.match(
      list.stdout,
      new RegExp(
        `^words {2}${local.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} {2}succeeded in \\d+\\.\\ds {2}"Words" {2}2 steps succeeded$`,
        'm',
      ),
    );
    const json = await flow(['status', 'words', '--json'], env);
    const report = JSON.parse(json.stdout) as { steps: Array<{ startedAt: string }>; elapsedMs: number };
    assert.match(report.steps[0].startedAt, ISO_TIME, 'JSON keeps ISO times');
    assert.equal(typeof report.elapsedMs, 'number');

    const cleaned = await flow(['cleanup', '--keep', '0', '--dry-run']);
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assertWords(cleaned, 'cleanup');
    assert.match(cleaned.stdout, /^Would remove run words \(succeeded\): \d+ worktrees?, \d+ refs?, its state folder$/m);
  });

  it('the header counts what the rows show: running, queued and pending apart', async () => {
    const gate = path.join(repo.outside, 'go');
    const file = await writeWorkflow(
      repo,
      {
        name: 'Counts',
        settings: { max_parallel: 1 },
        steps: [
          { id: 'a', run: `while [ ! -e ${sq(gate)} ]; do sleep 0.05; done; echo a > a.txt` },
          { id: 'b', run: 'echo b > b.txt' },
          { id: 'c', run: 'echo c > c.txt', needs: ['a'] },
        ],
      },
      'counts.yaml',
    );
    const running = startCli(['run', file, '--repo', repo.dir, '--run-id', 'counts'], { cwd: repo.dir });
    try {
      const events = path.join(repo.dir, '.tapps-agents/workflow-state/counts/events.jsonl');
      await waitFor('step a to start', async () => (await readFile(events, 'utf8').catch(() => '')).includes('"step_started"'));
      let last: CliResult | undefined;
      const status = await waitFor(
        'the state on disk to show step a running',
        async () => {
          last = await flow(['status', 'counts']);
          return /^ {2}▶ a +running/m.test(last.stdout) ? last : undefined;
        },
        60_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; status said:\n${last?.stdout ?? ''}${last?.stderr ?? ''}`);
      });
      assertWords(status, 'status of a running run');
      assert.match(
        status.stdout,
        /^Run counts of "Counts", started .+: running for \d+\.\ds \(3 steps: 1 running, 1 queued, 1 pending\)$/m,
      );
      assert.match(status.stdout, /^ {2}… b +queued$/m);
      assert.match(status.stdout, /^ {2}· c +pending$/m);
      const list = await flow(['status']);
      assert.match(list.stdout, /^counts .+ running for \d+\.\ds {2}"Counts" {2}3 steps: 1 running, 1 queued, 1 pending$/m);
    } finally {
      await writeFile(gate, '');
    }
    const result = await running.done;
    assert.equal(result.code, 0, result.stderr);
  });

  it('resolve: the run becomes succeeded, and status lists the resolutions', async () => {
    const result = await run(
      {
        name: 'Conflicts',
        steps: [
          { id: 'first', run: `printf 'one\\nTWO\\nthree\\n' > notes.txt; echo a > other.txt` },
          { id: 'second', run: `printf 'one\\n2\\nthree\\n' > notes.txt; echo b > other.txt` },
        ],
      },
      'conflicts',
    );
    assert.equal(result.code, 3, result.stderr);
    assertWords(result, 'run');
    assert.match(result.stdout, /^aggregate [0-9a-f]{10}: 2 conflicts$/m);
    assert.match(result.stdout, /^2 conflicts to resolve:$/m);
    // The printed hint works as printed.
    const hint = /e\.g\.: (.+)$/m.exec(result.stdout)?.[1];
    assert.ok(hint?.endsWith(`resolve conflicts notes.txt --take first --repo ${repo.dir}`), result.stdout);
    const first = await sh(hint!, repo.dir);
    assert.equal(first.code, 0, first.stderr);
    assertWords(first, 'resolve');
    assert.match(first.stdout, /^Resolved notes\.txt \(took first's version\); new aggregate [0-9a-f]{40}\.\n1 conflict remains\.$/m);

    const midway = await flow(['status', 'conflicts']);
    assert.match(
      midway.stdout,
      /: conflicted in .*\n(?:.*\n)*1 conflict to resolve:\n {2}other\.txt \(add\/add\): first ↔ second\n1 conflict resolved:\n {2}notes\.txt: took first's version\n/,
    );

    await writeFile(path.join(repo.outside, 'merged.txt'), 'a and b\n');
    const second = await flow(['resolve', 'conflicts', 'other.txt', '--file', path.join(repo.outside, 'merged.txt')]);
    assert.equal(second.code, 0, second.stderr);
    assertWords(second, 'resolve');
    assert.match(second.stdout, /^No conflicts remain \(run conflicts: succeeded\)\. Apply it with: .+ apply conflicts$/m);

    const status = await flow(['status', 'conflicts']);
    assertWords(status, 'status');
    assert.match(status.stdout, /^Run conflicts of "Conflicts", started .+: succeeded in \d+\.\ds \(2 steps succeeded\)$/m);
    assert.deepEqual(linesFrom(status.stdout, /^2 conflicts resolved:$/, 3), [
      '2 conflicts resolved:',
      "  notes.txt: took first's version",
      '  other.txt: merged by hand',
    ]);
    assert.doesNotMatch(status.stdout, /to resolve/);
    const list = await flow(['status']);
    assert.match(list.stdout, /^conflicts .+ {2}succeeded in /m);
    const json = JSON.parse((await flow(['status', 'conflicts', '--json'])).stdout) as { status: string; resolutions: unknown };
    assert.equal(json.status, 'succeeded');
    assert.deepEqual(json.resolutions, [
      { path: 'notes.txt', resolution: 'take first' },
      { path: 'other.txt', resolution: 'merged by hand' },
    ]);
    const applied = await flow(['apply', 'conflicts']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(await repo.read('other.txt'), 'a and b\n');
  });

  it('apply of a partial result says which steps it lacks, then applies without asking', async () => {
    const file = await writeWorkflow(
      repo,
      {
        name: 'Partial',
        settings: { kill_grace_seconds: 1 },
        steps: [
          { id: 'slow', run: 'echo s > s.txt; sleep 30' },
          { id: 'quick', run: 'echo q > q.txt' },
          { id: 'later', run: 'echo l > l.txt', needs: ['slow'] },
        ],
      },
      'partial.yaml',
    );
    const running = startCli(['run', file, '--repo', repo.dir, '--run-id', 'partial'], { cwd: repo.dir });
    const events = path.join(repo.dir, '.tapps-agents/workflow-state/partial/events.jsonl');
    await waitFor('step slow to start', async () =>
      (await readFile(events, 'utf8').catch(() => '')).split('\n').some((l) => l.includes('"step":"slow"') && l.includes('"step_started"')),
    );
    const cancel = await flow(['cancel', 'partial', '--step', 'slow']);
    assert.equal(cancel.code, 0, cancel.stderr);
    const result = await running.done;
    // Cancelling one step does not cancel the run: it ends as its other steps decide.
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
    assertWords(result, 'run');
    assert.match(result.stdout, /^■ slow cancelled by the user$/m);
    assert.match(result.stdout, /^↷ later skipped: it depends on "slow", which was cancelled$/m);
    assert.match(result.stdout, /: succeeded in .* \(3 steps: 1 succeeded, 1 cancelled, 1 skipped\)$/m);
    assert.match(result.stdout, /^Aggregate: [0-9a-f]{40} \(partial: it lacks the steps slow \(cancelled\), later \(skipped\)\)$/m);
    assert.match(result.stdout, /^Apply what the other steps did with: .+ apply partial --repo /m);

    const applied = await flow(['apply', 'partial']);
    assert.equal(applied.code, 0, applied.stderr);
    assertWords(applied, 'apply');
    assert.deepEqual(applied.stdout.split('\n'), [
      'The result lacks the steps slow (cancelled), later (skipped); applying what the other steps did.',
      'Applied the partial result of run partial: 1 path changed in your working tree (your index is untouched):',
      '  q.txt',
      '',
    ]);
    assert.equal(await repo.read('q.txt'), 'q\n');
    assert.equal(existsSync(path.join(repo.dir, 's.txt')), false);
  });

  it('a failed step’s result: one line names the steps apply leaves out', async () => {
    assert.equal((await run(failing, 'failed')).code, 1);
    const applied = await flow(['apply', 'failed']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(
      applied.stdout.split('\n')[0],
      'The result lacks the steps bad (failed), after (skipped); applying what the other steps did.',
    );
    // A result without conflicts that lacks nothing says nothing of the kind.
    assert.equal((await run({ steps: [{ id: 'whole', run: 'echo w > w.txt' }] }, 'whole')).code, 0);
    const whole = await flow(['apply', 'whole']);
    assert.equal(
      whole.stdout.split('\n')[0],
      'Applied the result of run whole: 1 path changed in your working tree (your index is untouched):',
    );
  });

  it('escape sequences a step prints (output, progress) reach the terminal as text', async () => {
    const result = await run(
      {
        name: 'Escapes',
        steps: [{ id: 's', run: `printf '::progress:: 50 \\033[2Jhalf\\n'; printf '\\033]0;owned\\007\\n' >&2; exit 1` }],
      },
      'escapes',
    );
    assert.equal(result.code, 1, result.stderr);
    assertWords(result, 'run');
    assert.match(result.stdout, /^ {2}s 50% \\x1b\[2Jhalf$/m);
    assert.match(result.stdout, /│ \\x1b\]0;owned\\x07$/m);
    assertWords(await flow(['status']), 'status');
    assertWords(await flow(['status', 'escapes']), 'status <run-id>');
  });

  it('--version and -V print the version, and the usage lists them', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${VERSION}\n`);
      assert.equal(r.stderr, '');
    }
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^ {2}tapps-flow --version \| -V \| --help \| -h$/m);
    const wrong = await cli(['--bogus']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--version/);
  });
});
