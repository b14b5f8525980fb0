import { strict as assert } from 'node:assert';
import type { Conflict } from '../../../src/core/state/events';
import { hasPath, makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { editStep } from '../helpers/stepFiles';
import { aggregateOf, readStateFile, resultOf, runWorkflow, type FinishedRun } from '../helpers/workflowRun';

const lines = (n: number, tag = '') => Array.from({ length: n }, (_, i) => `line ${i + 1}${tag}`).join('\n') + '\n';
const edit = (text: string, lineNo: number, replacement: string) =>
  text
    .split('\n')
    .map((l, i) => (i === lineNo - 1 ? replacement : l))
    .join('\n');
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

describe('aggregate: every kind of conflict', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  let result: FinishedRun;
  before(async () => {
    repo = await makeTempRepo({
      'text.txt': lines(10),
      'ac.txt': lines(10),
      'modified-deleted.txt': lines(5),
      'image.bin': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]),
      'config.json': json({ mode: 'base', other: 1 }),
      'doc.md': '# Doc\n\n## Status\n\nold\n',
      'locked/file.txt': 'locked\n',
      'renamed.txt': lines(20, ' of a file that gets renamed'),
    });
    const steps = [
      await editStep(repo, 'A', {
        sleep: 0.3, // finishes after B, so completion order differs from workflow order
        write: {
          'text.txt': edit(lines(10), 5, 'A5'),
          'ac.txt': edit(lines(10), 2, 'A2'),
          'both-added.txt': 'added by A\n',
          'modified-deleted.txt': edit(lines(5), 1, 'A1'),
          'image.bin': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xa, 0xa]),
          'config.json': json({ mode: 'from A', other: 1 }),
          'doc.md': '# Doc\n\n## Status\n\nA says\n',
          'locked/file.txt': 'locked by A\n',
          'renamed-by-A.txt': edit(lines(20, ' of a file that gets renamed'), 1, 'renamed and edited by A'),
        },
        move: [['renamed.txt', 'renamed-by-A.txt']],
      }),
      await editStep(repo, 'B', {
        write: {
          'text.txt': edit(lines(10), 5, 'B5'),
          'both-added.txt': 'added by B\n',
          'image.bin': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xb, 0xb]),
          'config.json': json({ mode: 'from B', other: 1 }),
          'doc.md': '# Doc\n\n## Status\n\nB says\n',
          'locked/file.txt': 'locked by B\n',
          'renamed-by-B.txt': edit(lines(20, ' of a file that gets renamed'), 20, 'renamed and edited by B'),
        },
        remove: ['modified-deleted.txt'],
        move: [['renamed.txt', 'renamed-by-B.txt']],
      }),
      await editStep(repo, 'C', { write: { 'ac.txt': edit(lines(10), 2, 'C2') } }),
    ];
    result = await runWorkflow(repo, {
      merge: [
        { paths: ['**/*.json'], policy: 'json' },
        { paths: ['**/*.md'], policy: 'markdown' },
        { paths: ['locked/**'], policy: 'fail' },
      ],
      steps,
    });
  });
  after(async () => {
    await repo.cleanup();
  });

  /** The one conflict at a path, with its blob ids checked against the base and the step results. */
  function conflictAt(
    file: string,
    kind: Conflict['kind'],
    steps: [string, string],
    sides: { ours?: string | null; theirs?: string | null; base?: string | null } = {},
  ): Conflict {
    const { snapshot } = result;
    const found = snapshot.conflicts.filter((c) => c.path === file);
    assert.equal(found.length, 1, `one conflict at ${file}: ${JSON.stringify(snapshot.conflicts.map((c) => [c.path, c.kind]))}`);
    const conflict = found[0];
    assert.equal(conflict.kind, kind, `kind at ${file}`);
    assert.deepEqual(conflict.steps, steps);
    const blobAt = (rev: string, path: string) => (hasPath(repo, rev, path) ? repo.blob(rev, path) : null);
    assert.equal(conflict.base, sides.base !== undefined ? sides.base : blobAt(snapshot.base.commit, file), `base blob of ${file}`);
    assert.equal(conflict.ours, sides.ours !== undefined ? sides.ours : blobAt(resultOf(snapshot, steps[0]), file), `ours blob of ${file}`);
    assert.equal(
      conflict.theirs,
      sides.theirs !== undefined ? sides.theirs : blobAt(resultOf(snapshot, steps[1]), file),
      `theirs blob of ${file}`,
    );
    // The aggregate keeps the earlier step's version (or its deletion).
    assert.equal(blobAt(aggregateOf(snapshot), file), conflict.ours, `the aggregate keeps ${steps[0]}'s version of ${file}`);
    return conflict;
  }

  it('ends the run conflicted', () => {
    assert.equal(result.snapshot.status, 'conflicted', JSON.stringify(result.snapshot.steps.map((s) => [s.id, s.status, s.error])));
  });

  it('content: both steps changed the same lines', () => {
    conflictAt('text.txt', 'content', ['A', 'B']);
  });

  it('content between the first and the third step, pairing the steps that clash', () => {
    conflictAt('ac.txt', 'content', ['A', 'C']);
  });

  it('add/add: both steps added the file with different contents', () => {
    conflictAt('both-added.txt', 'add/add', ['A', 'B'], { base: null });
  });

  it('modify/delete: one step changed the file, the other deleted it', () => {
    conflictAt('modified-deleted.txt', 'modify/delete', ['A', 'B'], { theirs: null });
  });

  it('binary: both steps changed a binary file', () => {
    conflictAt('image.bin', 'binary', ['A', 'B']);
  });

  it('json-key: one key set to two values', () => {
    const c = conflictAt('config.json', 'json-key', ['A', 'B']);
    assert.equal(c.location, '$.mode');
    assert.equal(c.policy, 'json');
  });

  it('markdown-section: one section edited two ways', () => {
    const c = conflictAt('doc.md', 'markdown-section', ['A', 'B']);
    assert.equal(c.location, '## Status');
  });

  it('policy-fail: two steps changed a file no two steps may touch', () => {
    assert.equal(conflictAt('locked/file.txt', 'policy-fail', ['A', 'B']).policy, 'fail');
  });

  it("rename: the steps renamed one file to two names (git's rename detection), reported once at the original path", () => {
    const { snapshot } = result;
    const renames = snapshot.conflicts.filter((c) => c.kind === 'rename');
    assert.deepEqual(
      renames.map((c) => c.path),
      ['renamed.txt'],
      JSON.stringify(snapshot.conflicts.map((c) => [c.path, c.kind, c.steps])),
    );
    const [a, b] = [resultOf(snapshot, 'A'), resultOf(snapshot, 'B')];
    assert.deepEqual(renames[0], {
      path: 'renamed.txt',
      kind: 'rename',
      steps: ['A', 'B'],
      policy: 'text',
      base: repo.blob(snapshot.base.commit, 'renamed.txt'),
      ours: repo.blob(a, 'renamed-by-A.txt'),
      theirs: repo.blob(b, 'renamed-by-B.txt'),
      detail: 'the steps renamed or moved this file in ways that clash: A has it as renamed-by-A.txt, B has it as renamed-by-B.txt',
    });
    assert.equal(new Set([renames[0].base, renames[0].ours, renames[0].theirs]).size, 3, 'both sides edited the renamed file too');
    // The aggregate keeps A's rename.
    const aggregate = aggregateOf(snapshot);
    assert.equal(repo.blob(aggregate, 'renamed-by-A.txt'), renames[0].ours);
    assert.ok(!hasPath(repo, aggregate, 'renamed.txt') && !hasPath(repo, aggregate, 'renamed-by-B.txt'));
  });

  it('records every conflict in conflicts.json and conflicts.md, sorted by path', async () => {
    const report = JSON.parse(await readStateFile(result.run, 'conflicts.json')) as { conflicts: Conflict[] };
    assert.deepEqual(report.conflicts, result.snapshot.conflicts);
    const paths = report.conflicts.map((c) => c.path);
    assert.deepEqual(paths, [...paths].sort());
    const md = await readStateFile(result.run, 'conflicts.md');
    for (const c of report.conflicts) assert.ok(md.includes(`| \`${c.path}\` | ${c.kind} |`), `${c.path} in conflicts.md`);
  });
});
