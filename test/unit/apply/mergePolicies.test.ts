// The user's edits since the run started are merged with the run's result under each path's merge
// policy, as the run recorded it; a clash refuses and changes nothing. A partial result says so.
import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { applyResult } from '../../../src/core/apply/applyResult';
import { TappsError } from '../../../src/core/util/errors';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { editStep } from '../helpers/stepFiles';
import { runWorkflow, writeWorkflow, type WorkflowSpec } from '../helpers/workflowRun';
import { workTreeState } from './workTree';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

describe('apply: merge policies and partial results', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'config.json': json({ a: 1, b: 1 }), 'gen/out.txt': 'generated\n', 'doc.txt': 'doc\n' });
  });
  afterEach(() => repo.cleanup());

  const jsonRun = async () => {
    const spec: WorkflowSpec = {
      merge: [
        { paths: ['**/*.json'], policy: 'json' },
        { paths: ['gen/**'], policy: 'last' },
      ],
      steps: [await editStep(repo, 'set-a', { write: { 'config.json': json({ a: 2, b: 1 }), 'gen/out.txt': 'from the run\n' } })],
    };
    const { snapshot } = await runWorkflow(repo, spec);
    assert.equal(snapshot.status, 'succeeded');
    // The workflow file changes after the run: apply must use the policies the run recorded.
    await writeWorkflow(repo, { ...spec, merge: [] });
    return snapshot;
  };

  it("merges the user's edit to another key of a json-policy file (the run's recorded policy, not the changed workflow)", async () => {
    const snapshot = await jsonRun();
    await repo.write('config.json', json({ a: 1, b: 3 }));
    const manifestFile = path.join(repo.dir, '.tapps-agents/workflow-state', snapshot.runId, 'manifest.json');
    const manifest = await readFile(manifestFile, 'utf8');

    // Policies that do not validate are not trusted: the text default, where adjacent lines clash.
    await writeFile(manifestFile, manifest.replace('"json"', '"no-such-policy"'));
    await assert.rejects(applyResult(repo.dir, snapshot.runId), (e: unknown) => TappsError.is(e) && e.code === 'apply-clash');

    await writeFile(manifestFile, manifest);
    const result = await applyResult(repo.dir, snapshot.runId);
    assert.deepEqual(result.changed, ['config.json', 'gen/out.txt']);
    assert.deepEqual(JSON.parse(await repo.read('config.json')), { a: 2, b: 3 });
  });

  it('refuses, changing nothing, where the user set the same key differently, naming the key', async () => {
    const snapshot = await jsonRun();
    await repo.write('config.json', json({ a: 5, b: 1 }));
    const before = await workTreeState(repo);
    await assert.rejects(applyResult(repo.dir, snapshot.runId), (e: unknown) => {
      assert.ok(TappsError.is(e));
      assert.equal(e.code, 'apply-clash');
      assert.match(e.message, /config\.json \(you and the result set \$\.a to different values\)/);
      assert.match(e.message, /Nothing was changed\.$/);
      return true;
    });
    assert.deepEqual(await workTreeState(repo), before);
  });

  it("refuses where a first/last policy would drop the user's edit instead of merging it", async () => {
    const snapshot = await jsonRun();
    await repo.write('gen/out.txt', 'edited by hand\n');
    const before = await workTreeState(repo);
    await assert.rejects(applyResult(repo.dir, snapshot.runId), /gen\/out\.txt \(its merge policy "last" would replace your edits\)/);
    assert.deepEqual(await workTreeState(repo), before);
  });

  it('says so when the result is partial: which steps are missing from it', async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'ok', run: 'echo new > new.txt' },
        { id: 'broken', run: 'exit 3' },
        { id: 'after', run: 'echo after > after.txt', needs: ['broken'] },
      ],
    });
    assert.equal(snapshot.status, 'failed');
    assert.equal(snapshot.aggregate?.partial, true);
    const result = await applyResult(repo.dir, snapshot.runId);
    assert.equal(result.partial, true);
    assert.deepEqual(result.missing, [
      { step: 'broken', status: 'failed' },
      { step: 'after', status: 'skipped' },
    ]);
    assert.match(result.message, /partial result/);
    assert.match(result.message, /broken \(failed\), after \(skipped\)/);
    assert.deepEqual(result.changed, ['new.txt']);
  });

  it('says what it applied when the result is complete', async () => {
    const { snapshot } = await runWorkflow(repo, { steps: [{ id: 'ok', run: 'echo new > new.txt' }] });
    const result = await applyResult(repo.dir, snapshot.runId);
    assert.equal(result.partial, false);
    assert.deepEqual(result.missing, []);
    assert.doesNotMatch(result.message, /partial/);
    const again = await applyResult(repo.dir, snapshot.runId);
    assert.deepEqual(again.changed, []);
    assert.match(again.message, /already match/);
  });
});
