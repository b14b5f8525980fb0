import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { effectiveSettings } from '../../../src/core/run/settings';
import { TappsError } from '../../../src/core/util/errors';
import { CLI_OPTIONS, editorMessage, outcomeMessage } from '../../../src/host/editorText';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow } from '../helpers/workflowRun';

describe("the editor's words for engine errors", () => {
  it('replaces command-line advice with where to do it in the editor', () => {
    const error = new TappsError(
      'unresolved-conflicts',
      'Run r1 has 2 unresolved conflicts in: a.txt, b.txt. Resolve each with: tapps-flow resolve r1 <path> --take <step> (or --file FILE), then apply again. Nothing was changed.',
    );
    assert.equal(
      editorMessage(error),
      "Run r1 has 2 unresolved conflicts in: a.txt, b.txt. Resolve each conflict from the run's Conflicts in the Runs view (right-click it), then apply again. Nothing was changed.",
    );
  });

  it('drops a flag the editor has no use for, and leaves other messages as they are', () => {
    assert.equal(
      editorMessage(
        new TappsError('not-a-repository', '/x is not inside a git repository. Run Tapps Flow in a git repository (or pass --repo DIR).'),
      ),
      '/x is not inside a git repository. Open a folder that is inside a git repository.',
    );
    assert.equal(editorMessage(new Error('git failed: bad object. Nothing was changed.')), 'git failed: bad object. Nothing was changed.');
    for (const m of [
      editorMessage(new TappsError('no-aggregate', 'Run r has no result yet (status failed). Resume it with: tapps-flow resume r')),
    ])
      assert.doesNotMatch(m, /tapps-flow|--/);
  });

  it('an invalid setting keeps what is wrong and where, and says where to change it in the editor', () => {
    const error = (() => {
      try {
        effectiveSettings({}, { maxParallel: 9 }, {}, '/tmp/worktrees');
      } catch (e) {
        return e;
      }
      assert.fail('a max parallel of 9 was accepted');
    })();
    // The command line's message names the option.
    assert.match((error as Error).message, /^The setting max parallel \(max_parallel, tappsFlow\.maxParallel\) is 9: .*--max-parallel/);
    const shown = editorMessage(error);
    assert.match(shown, /^The setting max parallel \(max_parallel, tappsFlow\.maxParallel\) is 9: expected /);
    assert.match(shown, /Change it in the workflow's settings or in the editor's Tapps Flow settings, then try again\.$/);
    assert.doesNotMatch(shown, /--/);
  });

  it('takes out only the option of a sentence, and keeps the first sentence', () => {
    assert.equal(
      editorMessage(new TappsError('x', 'The setting a (a, tappsFlow.a, --max-parallel) is 9: too big. Change it and try again.')),
      'The setting a (a, tappsFlow.a) is 9: too big. Change it and try again.',
    );
    // Why cleanup kept a run on workers: the remote named the editor's way.
    assert.equal(
      editorMessage(
        'its steps went through the team remote origin, not up: name that one (--remote, tappsFlow.queueRemote) to delete its refs there',
      ),
      'its steps went through the team remote origin, not up: name that one (tappsFlow.queueRemote) to delete its refs there',
    );
    assert.equal(
      editorMessage(new TappsError('x', 'Pick a mode. Set it with tappsFlow.isolation or --isolation.')),
      'Pick a mode. Set it with tappsFlow.isolation.',
    );
    assert.equal(editorMessage(new TappsError('x', 'Stopped (pass --repo DIR to choose). Try again.')), 'Stopped. Try again.');
    // A first sentence of command-line syntax stays: it says what happened.
    assert.equal(
      editorMessage(new TappsError('x', 'Run it with tapps-flow run x. Then wait.')),
      'Run it with tapps-flow run x. Then wait.',
    );
    // Without advice, a sentence is cut before its command, or left out when nothing is left of it.
    assert.equal(
      editorMessage(
        new TappsError('run-in-use', 'Run r is in use by process 12. Wait for it to finish, or cancel it with: tapps-flow cancel r'),
      ),
      'Run r is in use by process 12. Wait for it to finish.',
    );
    assert.equal(
      editorMessage(new TappsError('run-not-found', 'No run "r" in /r. List runs with: tapps-flow status')),
      'No run "r" in /r.',
    );
  });

  it("keeps other programs' options: git's advice is the user's next step", () => {
    for (const message of [
      'git refuses to work in /x: it is owned by another user. If you trust it, run: git config --global --add safe.directory /x',
      'Tapps Flow needs git 2.38 or newer (for merge-tree --write-tree); "git" is "2.30". Update git, or point TAPPS_GIT at a newer one.',
      'the index changed. Check it with git status and git diff --cached; git restore --staged <path> unstages a path.',
    ])
      assert.equal(editorMessage(new TappsError('unsafe-repository', message)), message);
  });

  it('knows every option of the command line', () => {
    const usage = readFileSync(path.join(__dirname, '../../../src/cli.ts'), 'utf8');
    const start = usage.indexOf('const USAGE');
    const options = new Set([...usage.slice(start, usage.indexOf('`;', start)).matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]));
    assert.ok(options.size > 10, `only ${options.size} options found in the usage text`);
    for (const option of options) assert.ok(CLI_OPTIONS.includes(option), `--${option} is missing from CLI_OPTIONS`);
  });
});

describe("a finished run's notification", function () {
  this.timeout(60_000);
  let repo: TempRepo;
  before(async () => {
    repo = await makeTempRepo({ 'doc.txt': 'one\n' });
  });
  after(() => repo.cleanup());

  it('states the real outcome and offers the next actions', async () => {
    const ok = await runWorkflow(repo, { steps: [{ id: 'a', run: 'echo a > a.txt' }] });
    assert.deepEqual(outcomeMessage(ok.snapshot), {
      text: `Tapps Flow: ${ok.snapshot.workflow.name} succeeded. Nothing in your files has changed yet.`,
      actions: ['Apply', 'Create Branch'],
      severity: 'info',
      failedStep: undefined,
    });

    const conflicted = await runWorkflow(repo, {
      steps: [
        { id: 'left', run: 'echo left > doc.txt' },
        { id: 'right', run: 'echo right > doc.txt' },
      ],
    });
    const c = outcomeMessage(conflicted.snapshot);
    assert.match(c.text, /finished with 1 conflict in doc\.txt\. Resolve them, then apply\.$/);
    assert.deepEqual(c.actions, ['Show Conflicts', 'Create Branch']);

    const failed = await runWorkflow(repo, {
      steps: [
        { id: 'good', run: 'echo g > g.txt' },
        { id: 'bad', run: 'echo oops >&2; exit 3' },
        { id: 'after-bad', run: 'true', needs: ['bad'] },
      ],
    });
    const f = outcomeMessage(failed.snapshot);
    assert.match(f.text, /failed: step bad failed \(.*3.*\)\. The results of 1 step that succeeded are kept\.$/);
    assert.deepEqual(f.actions, ['Show Log', 'Apply', 'Create Branch', 'Resume']);
    assert.equal(f.failedStep, 'bad');
    assert.equal(f.severity, 'error');
    for (const m of [ok, conflicted, failed].map((r) => outcomeMessage(r.snapshot).text)) assert.doesNotMatch(m, /\(s\)|tapps-flow |--/);
  });

  it('a run a gate stopped names the gate, and offers no log of a step that did not fail', async () => {
    const gated = await runWorkflow(
      repo,
      `workflow:
  id: gated
  name: Gated
  settings:
    max_parallel: 1
  steps:
    - id: first
      agent: shell
      run: echo ok
    - id: second
      agent: shell
      run: echo two > two.txt
gates:
  - name: only-on-failure
    condition: first.status == "failed"
    message: the second step is for when the first fails
`,
    );
    const m = outcomeMessage(gated.snapshot);
    assert.match(
      m.text,
      /Gated failed: gate "only-on-failure" stopped the run after "first": the second step is for when the first fails\./,
    );
    assert.ok(!m.actions.includes('Show Log'), m.actions.join(', '));
    assert.equal(m.failedStep, undefined);
  });
});
