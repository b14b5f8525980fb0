import { strict as assert } from 'node:assert';
import { hasPath, makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { resultOf, runWorkflow, stepOf } from '../helpers/workflowRun';

const WRITE_FILES =
  'echo one > tracked.txt && mkdir -p new && echo fresh > new/untracked.txt && echo noise > debug.log && mkdir -p build && echo out > build/out.bin';

describe('engine: capture of step results', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'tracked.txt': 'zero\n', '.gitignore': '*.log\nbuild/\n' });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('captures untracked files, leaves ignored ones out, and captures a step that committed by itself the same way', async () => {
    const commit =
      'git add -A && git -c user.name=agent -c user.email=agent@example.com commit -qm "agent commit" && echo after-commit > late.txt';
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'plain', run: `${WRITE_FILES} && echo after-commit > late.txt` },
        { id: 'committer', run: `${WRITE_FILES} && ${commit}` },
        {
          id: 'two-commits',
          run: `${WRITE_FILES} && git add -A && git -c user.name=a -c user.email=a@a commit -qm one && git rm -q --cached tracked.txt && git -c user.name=a -c user.email=a@a commit -qm two && git add tracked.txt && echo after-commit > late.txt`,
        },
      ],
    });
    assert.equal(snapshot.status, 'succeeded', JSON.stringify(snapshot.steps.map((s) => [s.id, s.status, s.error])));
    const plain = resultOf(snapshot, 'plain');
    assert.equal(repo.show(plain, 'tracked.txt'), 'one\n');
    assert.equal(repo.show(plain, 'new/untracked.txt'), 'fresh\n');
    assert.ok(!hasPath(repo, plain, 'debug.log'), 'an ignored file is not captured');
    assert.ok(!hasPath(repo, plain, 'build/out.bin'), 'an ignored folder is not captured');
    assert.deepEqual(stepOf(snapshot, 'plain').changed, ['late.txt', 'new/untracked.txt', 'tracked.txt']);
    for (const id of ['committer', 'two-commits']) {
      const step = stepOf(snapshot, id);
      assert.equal(step.tree, stepOf(snapshot, 'plain').tree, `${id}: the same tree as the step that did not commit`);
      // One commit whose only parent is the step's base, whatever the step committed itself.
      assert.equal(repo.git(['rev-list', '--parents', '-n', '1', step.result!]), `${step.result!} ${snapshot.base.commit}`);
      assert.equal(repo.git(['rev-list', '--count', `${snapshot.base.commit}..${step.result!}`]), '1');
      assert.deepEqual(step.changed, stepOf(snapshot, 'plain').changed);
    }
  });

  it('fails a step whose declared creates are missing, naming them', async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [{ id: 'forgetful', run: 'echo a > a.txt', creates: ['a.txt', 'b.txt', 'reports/'] }],
    });
    const step = stepOf(snapshot, 'forgetful');
    assert.equal(step.status, 'failed');
    assert.equal(step.error, 'the step did not create what it declares: b.txt, reports/');
    assert.equal(step.result, null);
    assert.equal(snapshot.status, 'failed');
  });

  it('records changes outside creates as undeclared, and fails them when the workflow asks', async () => {
    const steps = [
      {
        id: 'sprawl',
        run: 'echo a > a.txt && mkdir -p out && echo x > out/x.txt && echo y > elsewhere.txt && echo t > tracked.txt',
        creates: ['a.txt', 'out/'],
      },
    ];
    const lenient = await runWorkflow(repo, { steps }, { runId: 'lenient' });
    const step = stepOf(lenient.snapshot, 'sprawl');
    assert.equal(step.status, 'succeeded');
    assert.deepEqual(step.undeclared, ['elsewhere.txt', 'tracked.txt']);
    assert.deepEqual(step.changed, ['a.txt', 'elsewhere.txt', 'out/x.txt', 'tracked.txt']);

    const strict = await runWorkflow(repo, { settings: { fail_on_undeclared_changes: true }, steps }, { runId: 'strict' });
    assert.equal(stepOf(strict.snapshot, 'sprawl').status, 'failed');
    assert.equal(stepOf(strict.snapshot, 'sprawl').error, 'the step changed paths outside its "creates": elsewhere.txt, tracked.txt');
  });
});
