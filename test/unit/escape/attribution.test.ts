import { strict as assert } from 'node:assert';
import { Activity, attribute, UserWrites } from '../../../src/core/escape/attribution';
import { exitCodeOf, EXIT } from '../../../src/core/run/runReport';
import { MAX_ESCAPES_LISTED, RunEventSchema, type Escape } from '../../../src/core/state/events';
import { reduce, type RunSnapshot } from '../../../src/core/state/snapshot';

describe('escape attribution (pure)', () => {
  const order = ['a', 'b', 'c'];

  it('a write is put down to every step running at its time, in workflow order, with a grace after a step ended', () => {
    const activity = new Activity(order, 100);
    activity.begin('b', 1000);
    activity.begin('a', 1500);
    activity.end('b', 2000);
    assert.deepEqual(activity.at(900), []);
    assert.deepEqual(activity.at(1600), ['a', 'b']);
    assert.deepEqual(activity.at(2050), ['a', 'b'], 'b ended 50 ms before: within the grace');
    assert.deepEqual(activity.at(2200), ['a']);
    assert.deepEqual(activity.during(0, 1200), ['b']);
    assert.equal(activity.running, true);
    activity.end('a', 3000);
    assert.equal(activity.running, false);
  });

  it('a step run twice (resumed) counts in both windows, not between them', () => {
    const activity = new Activity(order, 0);
    activity.begin('c', 10);
    activity.end('c', 20);
    activity.begin('c', 50);
    assert.deepEqual(activity.at(15), ['c']);
    assert.deepEqual(activity.at(30), []);
    assert.deepEqual(activity.at(60), ['c']);
  });

  it("the editor's report of a save makes a write around its time the user's, and only that path's", () => {
    const activity = new Activity(order, 0);
    const user = new UserWrites(1000);
    activity.begin('a', 0);
    user.note('notes.md', 5000);
    assert.deepEqual(attribute([4800], activity, user, 'notes.md'), [], 'the save, seen just before its report');
    assert.deepEqual(attribute([4800], activity, user, 'other.md'), ['a']);
    assert.deepEqual(attribute([4800, 9000], activity, user, 'notes.md'), ['a'], 'a later write of the same path is not covered');
    assert.deepEqual(attribute([4800], activity, user), ['a'], 'refs and config are never the editor’s');
  });

  it('the memory of user writes is bounded', () => {
    const user = new UserWrites(1000, 3);
    for (const p of ['1', '2', '3', '4']) user.note(p, 100);
    assert.equal(user.covers('1', 100), false, 'the oldest is forgotten');
    assert.equal(user.covers('4', 100), true);
  });
});

describe('escape events, snapshot and exit code', () => {
  const escape = (p: string, kind: Escape['kind'] = 'file'): Escape => ({ kind, path: p, change: 'added', steps: ['a'], detail: 'x' });
  const started = RunEventSchema.parse({
    seq: 0,
    time: 't',
    type: 'run_started',
    runId: 'r1',
    workflow: { file: 'w.yaml', id: 'w', name: 'w' },
    repo: '/r',
    base: { commit: 'a'.repeat(40), tree: 'b'.repeat(40), head: 'a'.repeat(40), time: 0 },
    settings: { maxParallel: 1, sequential: true },
    steps: [{ id: 'a', dependencies: [] }],
    owner: { pid: 1, host: 'h', startedAt: 't' },
  });

  it('escape_detected is bounded and its paths have the shape of their kind', () => {
    const event = (escapes: Escape[], count = escapes.length) =>
      RunEventSchema.safeParse({ seq: 1, time: 't', type: 'escape_detected', escapes, count, check: 'step' }).success;
    assert.equal(event([escape('a.txt'), escape('refs/heads/x', 'ref'), escape('HEAD', 'ref'), escape('.git/config', 'config')]), true);
    assert.equal(event(Array.from({ length: MAX_ESCAPES_LISTED + 1 }, (_, i) => escape(`f${i}`))), false, 'too many listed');
    assert.equal(event([]), false, 'an empty check records nothing');
    assert.equal(event([escape('../outside')]), false);
    assert.equal(event([escape('/etc/passwd')]), false);
    assert.equal(event([escape('sub/.git/config')]), false, 'a file escape is never a path into .git');
    assert.equal(event([escape('refs/../x', 'ref')]), false);
    assert.equal(event([escape('not-a-ref', 'ref')]), false);
    assert.equal(event([{ ...escape('a'), steps: ['../x'] }]), false, 'step ids as in a workflow');
  });

  it('the snapshot keeps one record per path, its first "before", and counts what was not listed', () => {
    let s: RunSnapshot = reduce(undefined, started);
    const detected = (escapes: Escape[], count: number, seq: number) =>
      RunEventSchema.parse({ seq, time: 't', type: 'escape_detected', escapes, count, check: 'step' });
    s = reduce(s, detected([{ ...escape('f'), change: 'modified', before: { mode: '100644', oid: '1'.repeat(40) } }], 3, 1));
    s = reduce(s, detected([{ ...escape('f'), change: 'modified', before: { mode: '100644', oid: '2'.repeat(40) }, steps: ['a'] }], 1, 2));
    assert.equal(s.escaped, true);
    assert.equal(s.escapes.length, 1);
    assert.equal(s.escapes[0].before?.oid, '1'.repeat(40), 'restore puts back what was there before the first escape');
    assert.equal(s.escapesUnlisted, 2);
    s = reduce(s, RunEventSchema.parse({ seq: 3, time: 't', type: 'escape_restored', paths: ['f'], count: 1 }));
    assert.equal(s.escapes[0].restored, true);
    s = reduce(s, RunEventSchema.parse({ seq: 4, time: 't', type: 'run_resumed', owner: { pid: 1, host: 'h', startedAt: 't' } }));
    assert.equal(s.escaped, true, 'a resume keeps the mark');
  });

  it('exit code 4 wins over 0, 1 and 3; a cancelled run keeps 130', () => {
    assert.equal(exitCodeOf({ status: 'succeeded', escaped: true }), EXIT.escaped);
    assert.equal(exitCodeOf({ status: 'failed', escaped: true }), EXIT.escaped);
    assert.equal(exitCodeOf({ status: 'conflicted', escaped: true }), EXIT.escaped);
    assert.equal(exitCodeOf({ status: 'cancelled', escaped: true }), EXIT.cancelled);
    assert.equal(exitCodeOf({ status: 'succeeded', escaped: false }), EXIT.succeeded);
    assert.equal(exitCodeOf({ status: 'conflicted', escaped: false }), EXIT.conflicted);
    assert.equal(EXIT.escaped, 4);
  });
});
