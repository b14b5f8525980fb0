import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { applyResult, branchFromResult } from '../../../src/core/apply/applyResult';
import { resolveConflict } from '../../../src/core/apply/resolveConflict';
import { SymlinksOutError } from '../../../src/core/apply/symlinksOutError';
import { symlinkLeaves } from '../../../src/core/findings/symlinks';
import { openRepository } from '../../../src/core/git/repository';
import { makeAggregate } from '../../../src/core/merge/aggregate';
import { WorkflowRun } from '../../../src/core/run/workflowRun';
import { RunEventSchema, type Finding } from '../../../src/core/state/events';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { readStateFile, runWorkflow, sq } from '../helpers/workflowRun';

const findingsIn = (json: string) => (JSON.parse(json) as { findings: Finding[] }).findings;
const summary = (findings: readonly Finding[]) => findings.map((f) => `${f.kind} ${f.path} ${f.steps.join(',')}`);

describe('findings: what links leave the repository', () => {
  const cases: Array<[string, string, ReturnType<typeof symlinkLeaves>]> = [
    ['leak', '/etc/passwd', 'absolute'],
    ['a/b/link', 'C:\\Windows', 'absolute'],
    ['link', '\\\\server\\share', 'absolute'],
    ['link', '', 'absolute'],
    ['x', '../../../outside', 'leaves'],
    ['a/b/up', '../../../up', 'leaves'],
    ['a/link', 'b/../../../x', 'leaves'],
    ['a/link', '..\\..\\x', 'leaves'],
    ['here', '.', undefined],
    ['a/b/readme', '../../README.md', undefined],
    ['a/sibling', './b/../c//d', undefined],
    ['a/..dots', '..foo/bar', undefined],
    ['cfg', 'sub/.git/config', 'git-folder'],
    ['cfg', 'sub/.GIT./hooks', 'git-folder'],
  ];
  for (const [link, target, why] of cases)
    it(`${link} → ${JSON.stringify(target)}: ${why ?? 'inside'}`, () => assert.equal(symlinkLeaves(link, target), why));
});

describe('findings: submodule writes as recorded and read back', () => {
  const event = (submoduleWrites: unknown) => ({
    seq: 3,
    time: '2026-01-01T00:00:00.000Z',
    type: 'step_succeeded',
    step: 's',
    result: 'a'.repeat(40),
    tree: 'b'.repeat(40),
    changed: [],
    undeclared: [],
    submoduleWrites,
  });
  it('accepts a bounded record of paths inside the submodule', () => {
    assert.ok(RunEventSchema.safeParse(event([{ submodule: 'libs/sub', files: ['libs/sub/a.txt'], count: 3 }])).success);
  });
  for (const [what, record] of [
    ['a path that leaves the repository', [{ submodule: 'libs/sub', files: ['libs/sub/../../../etc/passwd'], count: 1 }]],
    ['an absolute submodule path', [{ submodule: '/etc', files: ['/etc/passwd'], count: 1 }]],
    ['a .git path', [{ submodule: 'libs/sub', files: ['libs/sub/.git/config'], count: 1 }]],
    ['a file outside its submodule', [{ submodule: 'libs/sub', files: ['README.md'], count: 1 }]],
    [
      'more files listed than recorded',
      [{ submodule: 'libs/sub', files: Array.from({ length: 11 }, (_, i) => `libs/sub/${i}`), count: 11 }],
    ],
    ['a count beyond the bound', [{ submodule: 'libs/sub', files: [], count: 1_000_000 }]],
    ['too many submodules', Array.from({ length: 51 }, (_, i) => ({ submodule: `s${i}`, files: [`s${i}/f`], count: 1 }))],
  ] as const)
    it(`refuses ${what}`, () => assert.equal(RunEventSchema.safeParse(event(record)).success, false));
});

describe('findings: in the aggregate, through resolve, resume, apply and branch', function () {
  this.timeout(120_000);
  // Every test here makes symbolic links (and one an executable): on Windows `ln -s` makes a copy
  // (MSYS), and git runs with core.symlinks=false and core.filemode=false; neither finding can arise.
  before(function () {
    if (process.platform === 'win32') this.skip();
  });
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'doc.txt': 'one\ntwo\nthree\n', 'tool.sh': 'echo tool\n' });
  });
  afterEach(() => repo.cleanup());

  it("merges the run's own findings (escapes) with the results', sorted, and a dependent step is not blamed for what it inherited", async () => {
    const { run, snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'maker', run: 'ln -s /etc/hosts hosts && chmod +x tool.sh', creates: ['hosts'] },
        { id: 'user', run: 'cat hosts > /dev/null && echo used > used.txt', needs: ['maker'] },
      ],
    });
    assert.equal(snapshot.status, 'succeeded');
    assert.deepEqual(summary(snapshot.findings), ['mode_change tool.sh maker', 'symlink_out hosts maker']);
    const escape: Finding = { kind: 'escape', escape: 'config', path: '.git/config', steps: ['user'], detail: 'core.editor was set' };
    const stateDir = path.join(repo.outside, 'extra');
    const aggregate = await makeAggregate({
      repo: await openRepository(repo.dir),
      runId: 'extra',
      base: snapshot.base,
      workflow: snapshot.workflow,
      rules: [],
      steps: snapshot.steps,
      stateDir,
      findings: [escape],
    });
    assert.deepEqual(summary(aggregate.findings), ['escape .git/config user', 'mode_change tool.sh maker', 'symlink_out hosts maker']);
    assert.equal(aggregate.tree, snapshot.aggregate!.tree, 'findings change nothing of the result');
    assert.deepEqual(findingsIn(await readFile(path.join(stateDir, 'conflicts.json'), 'utf8')), aggregate.findings);
    assert.deepEqual(findingsIn(await readStateFile(run, 'conflicts.json')), snapshot.findings);
  });

  it('a link the step replaced by a folder turns a link it left alone into one that leaves: reported, and apply refuses it', async () => {
    // In the base, `a → b/../../x` resolves through the link `b → c/d` to `x`, inside. The step
    // replaces `b` with a folder: `a` now climbs above the root.
    await repo.write('c/d/keep.txt', 'keep\n');
    execFileSync('ln', ['-s', 'c/d', 'b'], { cwd: repo.dir });
    execFileSync('ln', ['-s', 'b/../../x', 'a'], { cwd: repo.dir });
    repo.commit('links inside');
    const { snapshot } = await runWorkflow(repo, { steps: [{ id: 'unlinker', run: 'rm b && mkdir b && echo f > b/f.txt' }] });
    assert.equal(snapshot.status, 'succeeded');
    assert.deepEqual(summary(snapshot.findings), ['symlink_out a unlinker']);
    await assert.rejects(applyResult(repo.dir, snapshot.runId), SymlinksOutError);
  });

  it('keeps the findings through a resolve, and apply refuses the link whatever the report says', async () => {
    const { run, snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'left', run: "sed 's/two/LEFT/' doc.txt > doc.txt.tmp && mv doc.txt.tmp doc.txt && ln -s ../../outside out" },
        { id: 'right', run: "sed 's/two/RIGHT/' doc.txt > doc.txt.tmp && mv doc.txt.tmp doc.txt" },
      ],
    });
    assert.equal(snapshot.status, 'conflicted', 'the conflict, not the finding, makes it conflicted');
    const before = await readStateFile(run, 'conflicts.json');
    assert.deepEqual(summary(findingsIn(before)), ['symlink_out out left']);
    await resolveConflict(repo.dir, snapshot.runId, 'doc.txt', { take: 'right' });
    const after = await readStateFile(run, 'conflicts.json');
    assert.deepEqual(findingsIn(after), findingsIn(before), 'the findings survive the rewrite');
    assert.match(await readStateFile(run, 'conflicts.md'), /## Needs your eye[\s\S]*`out`/);
    // A report edited to hide the link changes nothing: apply looks at what it would write.
    await writeFile(path.join(run.stateDir, 'conflicts.json'), after.replace(/"findings": \[[\s\S]*\]/, '"findings": []'));
    await assert.rejects(applyResult(repo.dir, snapshot.runId), (e: unknown) => {
      assert.ok(SymlinksOutError.is(e), String(e));
      assert.deepEqual(
        e.links.map((l) => [l.path, l.target]),
        [['out', '../../outside']],
      );
      assert.match(e.message, /out → \.\.\/\.\.\/outside.*--allow-symlinks-out.*Nothing was changed/);
      return true;
    });
    assert.equal(repo.git(['status', '--porcelain']), '', 'nothing written');
    const branch = await branchFromResult(repo.dir, snapshot.runId, 'tapps/links');
    assert.deepEqual(
      branch.symlinksOut.map((l) => l.path),
      ['out'],
    );
    const applied = await applyResult(repo.dir, snapshot.runId, { allowSymlinksOut: true });
    assert.deepEqual(applied.changed, ['doc.txt', 'out']);
  });

  it('records the findings once after a resume', async () => {
    const flag = path.join(repo.outside, 'go');
    const spec = {
      steps: [
        { id: 'linker', run: 'ln -s /tmp tmp-link' },
        { id: 'flaky', run: `test -f ${sq(flag)} && echo ok > ok.txt` },
      ],
    };
    const first = await runWorkflow(repo, spec, { runId: 'flaky' });
    assert.equal(first.snapshot.status, 'failed');
    assert.deepEqual(summary(first.snapshot.findings), ['symlink_out tmp-link linker'], 'a partial aggregate has its findings too');
    await writeFile(flag, '');
    const resumed = await WorkflowRun.resume({ repoDir: repo.dir, runId: 'flaky' });
    try {
      const snapshot = await resumed.execute();
      assert.equal(snapshot.status, 'succeeded');
      assert.deepEqual(summary(snapshot.findings), ['symlink_out tmp-link linker']);
    } finally {
      await resumed.settled();
      resumed.store.dispose();
    }
  });
});
