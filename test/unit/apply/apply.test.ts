import { strict as assert } from 'node:assert';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { applyResult, branchFromResult } from '../../../src/core/apply/applyResult';
import { resolveConflict } from '../../../src/core/apply/resolveConflict';
import { loadRun } from '../../../src/core/state/runs';
import { TappsError } from '../../../src/core/util/errors';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow } from '../helpers/workflowRun';

/** Every file of the work tree (outside .git and the state folder) with its bytes, plus the index. */
async function snapshotFiles(repo: TempRepo): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const full = path.join(dir, name);
      const rel = path.relative(repo.dir, full);
      if (rel === '.git' || rel === '.tapps-agents') continue;
      if ((await stat(full)).isDirectory()) await walk(full);
      else files.set(rel, (await readFile(full)).toString('base64'));
    }
  };
  await walk(repo.dir);
  files.set('.git/index', (await readFile(path.join(repo.dir, '.git/index'))).toString('base64'));
  return files;
}

const LINES = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

describe('apply and branch', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'doc.txt': LINES, 'other.txt': 'other\n' });
  });
  afterEach(() => repo.cleanup());

  // Not `sed -i`: BSD sed (macOS) reads its next argument as a backup suffix.
  const editLine = (n: number, text: string) => `sed 's/^line ${n}$/${text}/' doc.txt > doc.txt.tmp && mv doc.txt.tmp doc.txt`;

  it("brings the result into a dirty working tree: the user's disjoint edits survive, the index is untouched", async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'top', run: editLine(2, 'TOP') },
        { id: 'new', run: 'echo new > new.txt' },
      ],
    });
    assert.equal(snapshot.status, 'succeeded');
    // The user goes on working meanwhile: a far-away line of the same file, and another file.
    await repo.write('doc.txt', LINES.replace('line 28\n', 'line 28 (mine)\n'));
    await repo.write('other.txt', 'other, edited\n');
    const index = await readFile(path.join(repo.dir, '.git/index'));
    const result = await applyResult(repo.dir, snapshot.runId);
    assert.deepEqual(result.changed, ['doc.txt', 'new.txt']);
    const doc = await repo.read('doc.txt');
    assert.match(doc, /^TOP$/m);
    assert.match(doc, /^line 28 \(mine\)$/m);
    assert.equal(await repo.read('other.txt'), 'other, edited\n');
    assert.equal(await repo.read('new.txt'), 'new\n');
    assert.deepEqual(await readFile(path.join(repo.dir, '.git/index')), index);
  });

  it('refuses, changing nothing, when the user edited the same lines', async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'top', run: editLine(2, 'TOP') },
        { id: 'new', run: 'echo new > new.txt' },
      ],
    });
    await repo.write('doc.txt', LINES.replace('line 2\n', 'line 2 (mine)\n'));
    const before = await snapshotFiles(repo);
    await assert.rejects(
      applyResult(repo.dir, snapshot.runId),
      (e: unknown) => TappsError.is(e) && e.code === 'apply-clash' && /doc\.txt/.test(e.message) && /Nothing was changed/.test(e.message),
    );
    assert.deepEqual(await snapshotFiles(repo), before);
  });

  it('refuses with unresolved conflicts and says how to resolve; a resolution makes a new aggregate that applies', async () => {
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'one', run: editLine(5, 'FIVE-A') },
        { id: 'two', run: editLine(5, 'FIVE-B') },
      ],
    });
    assert.equal(snapshot.status, 'conflicted');
    const before = await snapshotFiles(repo);
    await assert.rejects(applyResult(repo.dir, snapshot.runId), /unresolved conflict.*doc\.txt.*tapps-flow resolve/s);
    assert.deepEqual(await snapshotFiles(repo), before);

    const resolved = await resolveConflict(repo.dir, snapshot.runId, 'doc.txt', { take: 'two' });
    assert.equal(resolved.remaining, 0);
    // The last conflict resolved: the run is no longer conflicted, and lists how it was resolved.
    const after = (await loadRun({ root: repo.dir, commonDir: path.join(repo.dir, '.git') }, snapshot.runId)).snapshot;
    assert.equal(after.status, 'succeeded');
    assert.deepEqual(after.resolutions, [{ path: 'doc.txt', resolution: 'take two' }]);
    assert.match(repo.show(resolved.commit, 'doc.txt'), /^FIVE-B$/m);
    assert.equal(repo.git(['rev-parse', `refs/tapps-flow/runs/${snapshot.runId}/aggregate`]), resolved.commit);
    const report = JSON.parse(
      await readFile(path.join(repo.dir, '.tapps-agents/workflow-state', snapshot.runId, 'conflicts.json'), 'utf8'),
    ) as { conflicts: unknown[] };
    assert.deepEqual(report.conflicts, []);
    await applyResult(repo.dir, snapshot.runId);
    assert.match(await repo.read('doc.txt'), /^FIVE-B$/m);
  });

  it('resolves the same way twice to the same commit (deterministic)', async () => {
    const a = await runWorkflow(
      repo,
      {
        steps: [
          { id: 'one', run: editLine(5, 'X') },
          { id: 'two', run: editLine(5, 'Y') },
        ],
      },
      { runId: 'r-a' },
    );
    const b = await runWorkflow(
      repo,
      {
        steps: [
          { id: 'one', run: editLine(5, 'X') },
          { id: 'two', run: editLine(5, 'Y') },
        ],
      },
      { runId: 'r-b' },
    );
    const ra = await resolveConflict(repo.dir, a.snapshot.runId, 'doc.txt', { content: 'merged by hand\n' });
    const rb = await resolveConflict(repo.dir, b.snapshot.runId, 'doc.txt', { content: 'merged by hand\n' });
    assert.equal(ra.commit, rb.commit);
  });

  it('points a new branch at the aggregate, and refuses an existing name', async () => {
    const { snapshot } = await runWorkflow(repo, { steps: [{ id: 'new', run: 'echo new > new.txt' }] });
    const result = await branchFromResult(repo.dir, snapshot.runId, 'tapps/result');
    assert.equal(repo.git(['rev-parse', 'refs/heads/tapps/result']), snapshot.aggregate!.commit);
    assert.equal(result.commit, snapshot.aggregate!.commit);
    await assert.rejects(branchFromResult(repo.dir, snapshot.runId, 'tapps/result'), /already exists/);
    await assert.rejects(branchFromResult(repo.dir, snapshot.runId, 'bad..name'), /not a valid branch name/);
  });
});
