import { strict as assert } from 'node:assert';
import type { Conflict } from '../../../src/core/state/events';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { editStep } from '../helpers/stepFiles';
import { aggregateOf, readStateFile, resultOf, runWorkflow, type FinishedRun } from '../helpers/workflowRun';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const numbered = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);
const withLine = (n: number, at: number, text: string) =>
  `${numbered(n)
    .map((l, i) => (i === at - 1 ? text : l))
    .join('\n')}\n`;

/**
 * One run folds two steps, A then B in workflow order, over files that each exercise one policy.
 * A sleeps, so it finishes after B: the outcome must follow workflow order, not completion order.
 */
describe('aggregate: merge policies through a real run', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  let result: FinishedRun;
  before(async () => {
    repo = await makeTempRepo({
      'json/disjoint.json': json({ name: 'x', version: 1 }),
      'json/same-key.json': json({ mode: 'base', keep: true }),
      'md/added.md': '# Report\n\nIntro.\n',
      'md/edited.md': '# Doc\n\n## Status\n\nold\n\n## Other\n\nsame\n',
      'logs/events.log': 'start\n',
      'gen/first/out.txt': 'v0\n',
      'gen/last/out.txt': 'v0\n',
      'locked/both.txt': 'x\n',
      'locked/solo.txt': 'x\n',
      'text/clean.txt': `${numbered(10).join('\n')}\n`,
      'text/overlap.txt': `${numbered(10).join('\n')}\n`,
    });
    const steps = [
      await editStep(repo, 'A', {
        sleep: 0.6,
        write: {
          'json/disjoint.json': json({ name: 'x', version: 2 }),
          'json/same-key.json': json({ mode: 'from A', keep: true }),
          'md/added.md': '# Report\n\nIntro.\n\n## Zulu findings\n\nfrom A\n',
          'md/edited.md': '# Doc\n\n## Status\n\nA says\n\n## Other\n\nsame\n',
          'logs/events.log': 'start\na1\na2\n',
          'gen/first/out.txt': 'vA\n',
          'gen/last/out.txt': 'vA\n',
          'locked/both.txt': 'xa\n',
          'locked/solo.txt': 'only A\n',
          'text/clean.txt': withLine(10, 2, 'A changed line 2'),
          'text/overlap.txt': withLine(10, 5, 'A5'),
        },
      }),
      await editStep(repo, 'B', {
        write: {
          'json/disjoint.json': json({ name: 'x', version: 1, license: 'MIT' }),
          'json/same-key.json': json({ mode: 'from B', keep: true }),
          'md/added.md': '# Report\n\nIntro.\n\n## Alpha findings\n\nfrom B\n',
          'md/edited.md': '# Doc\n\n## Status\n\nB says\n\n## Other\n\nsame\n',
          'logs/events.log': 'start\nb1\n',
          'gen/first/out.txt': 'vB\n',
          'gen/last/out.txt': 'vB\n',
          'locked/both.txt': 'xb\n',
          'text/clean.txt': withLine(10, 9, 'B changed line 9'),
          'text/overlap.txt': withLine(10, 5, 'B5'),
        },
      }),
    ];
    result = await runWorkflow(repo, {
      merge: [
        { paths: ['**/*.json'], policy: 'json' },
        { paths: ['**/*.md'], policy: 'markdown' },
        { paths: ['logs/**'], policy: 'union' },
        { paths: ['gen/first/**'], policy: 'first' },
        { paths: ['gen/last/**'], policy: 'last' },
        { paths: ['locked/**'], policy: 'fail' },
      ],
      steps,
    });
  });
  after(async () => {
    await repo.cleanup();
  });

  const merged = (file: string) => repo.show(aggregateOf(result.snapshot), file);
  const conflictsAt = (file: string) => result.snapshot.conflicts.filter((c) => c.path === file);
  const only = (file: string): Conflict => {
    const found = conflictsAt(file);
    assert.equal(found.length, 1, `one conflict at ${file}: ${JSON.stringify(result.snapshot.conflicts)}`);
    return found[0];
  };

  it('ran B to its end before A, so that workflow order and completion order differ', () => {
    assert.deepEqual(
      result.events.flatMap((e) => (e.type === 'step_succeeded' ? [e.step] : [])),
      ['B', 'A'],
    );
  });

  it('json: changes to different keys combine, in a stable key order', () => {
    assert.equal(merged('json/disjoint.json'), json({ name: 'x', version: 2, license: 'MIT' }));
    assert.deepEqual(conflictsAt('json/disjoint.json'), []);
  });

  it("json: one key set to two values is a json-key conflict at $.key, keeping A's file", () => {
    const c = only('json/same-key.json');
    assert.deepEqual([c.kind, c.location, c.steps, c.policy], ['json-key', '$.mode', ['A', 'B'], 'json']);
    assert.match(c.detail, /"from A".*"from B"/);
    assert.equal(merged('json/same-key.json'), json({ mode: 'from A', keep: true }));
  });

  it('markdown: sections added by two steps are both kept, in step order', () => {
    assert.equal(merged('md/added.md'), '# Report\n\nIntro.\n\n## Zulu findings\n\nfrom A\n\n## Alpha findings\n\nfrom B\n');
    assert.deepEqual(conflictsAt('md/added.md'), []);
  });

  it('markdown: one section edited two ways is a markdown-section conflict', () => {
    const c = only('md/edited.md');
    assert.deepEqual([c.kind, c.location, c.steps], ['markdown-section', '## Status', ['A', 'B']]);
    assert.equal(merged('md/edited.md'), '# Doc\n\n## Status\n\nA says\n\n## Other\n\nsame\n');
  });

  it("union: both steps' added lines are kept, in step order", () => {
    assert.equal(merged('logs/events.log'), 'start\na1\na2\nb1\n');
    assert.deepEqual(conflictsAt('logs/events.log'), []);
  });

  it("first and last keep the right step's version and record the decision in conflicts.json", async () => {
    assert.equal(merged('gen/first/out.txt'), 'vA\n');
    assert.equal(merged('gen/last/out.txt'), 'vB\n');
    assert.deepEqual(conflictsAt('gen/first/out.txt').concat(conflictsAt('gen/last/out.txt')), []);
    const report = JSON.parse(await readStateFile(result.run, 'conflicts.json')) as { decisions: unknown[] };
    assert.deepEqual(report.decisions, [
      { path: 'gen/first/out.txt', policy: 'first', steps: ['A', 'B'], kept: 'A' },
      { path: 'gen/last/out.txt', policy: 'last', steps: ['A', 'B'], kept: 'B' },
    ]);
    const md = await readStateFile(result.run, 'conflicts.md');
    assert.match(md, /`gen\/first\/out.txt`: policy `first` kept A's version/);
    assert.match(md, /`gen\/last\/out.txt`: policy `last` kept B's version/);
  });

  it('fail: two steps changing the file is a policy-fail conflict; one step alone is fine', () => {
    const c = only('locked/both.txt');
    assert.deepEqual([c.kind, c.steps, c.policy], ['policy-fail', ['A', 'B'], 'fail']);
    assert.equal(merged('locked/both.txt'), 'xa\n');
    assert.deepEqual(conflictsAt('locked/solo.txt'), []);
    assert.equal(merged('locked/solo.txt'), 'only A\n');
  });

  it('text: hunks that do not overlap merge cleanly; overlapping ones are a content conflict', () => {
    assert.equal(
      merged('text/clean.txt'),
      numbered(10)
        .map((l, i) => (i === 1 ? 'A changed line 2' : i === 8 ? 'B changed line 9' : l))
        .join('\n') + '\n',
    );
    assert.deepEqual(conflictsAt('text/clean.txt'), []);
    const c = only('text/overlap.txt');
    assert.deepEqual([c.kind, c.steps, c.policy], ['content', ['A', 'B'], 'text']);
    assert.equal(c.ours, repo.blob(resultOf(result.snapshot, 'A'), 'text/overlap.txt'));
    assert.equal(merged('text/overlap.txt'), withLine(10, 5, 'A5'));
  });

  it('reports exactly these conflicts, and the run as conflicted', () => {
    assert.deepEqual(
      result.snapshot.conflicts.map((c) => `${c.path} ${c.kind}`),
      ['json/same-key.json json-key', 'locked/both.txt policy-fail', 'md/edited.md markdown-section', 'text/overlap.txt content'],
    );
    assert.equal(result.snapshot.status, 'conflicted');
  });
});
