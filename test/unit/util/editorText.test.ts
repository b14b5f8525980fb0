import { strict as assert } from 'node:assert';
import { TappsError } from '../../../src/core/util/errors';
import { editorMessage, outcomeMessage } from '../../../src/host/editorText';
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
