import { strict as assert } from 'node:assert';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readRun } from '../../../src/core/state/readRun';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow } from '../helpers/workflowRun';

describe('state recovery', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  let dir: string;

  before(async () => {
    repo = await makeTempRepo();
    const { run } = await runWorkflow(repo, {
      steps: [
        { id: 'a', run: 'echo a > a.txt' },
        { id: 'b', run: 'echo b > b.txt' },
      ],
    });
    dir = run.stateDir;
  });
  after(() => repo.cleanup());

  it('reads a run from its events, and the snapshot matches state.json', async () => {
    const loaded = await readRun(dir);
    assert.deepEqual(loaded.warnings, []);
    assert.equal(loaded.snapshot.status, 'succeeded');
    assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')), JSON.parse(JSON.stringify(loaded.snapshot)));
  });

  it('ignores a torn last line with a warning, and repairs it when asked', async () => {
    const events = path.join(dir, 'events.jsonl');
    const intact = await readFile(events, 'utf8');
    await appendFile(events, '{"seq":99,"time":"2026-01-01T00:00:0');
    const loaded = await readRun(dir);
    assert.equal(loaded.snapshot.status, 'succeeded');
    assert.equal(loaded.events.length, intact.trim().split('\n').length);
    assert.match(loaded.warnings.join('\n'), /torn line/);
    await readRun(dir, { repair: true });
    assert.equal(await readFile(events, 'utf8'), intact);
  });

  it('rebuilds a corrupt or missing state.json from the events', async () => {
    const state = path.join(dir, 'state.json');
    const good = await readFile(state, 'utf8');
    await writeFile(state, '{"version": 2, "runId": "x", "st');
    let loaded = await readRun(dir);
    assert.match(loaded.warnings.join('\n'), /state\.json was corrupt/);
    assert.equal(loaded.snapshot.steps.length, 2);
    await rm(state);
    loaded = await readRun(dir);
    assert.match(loaded.warnings.join('\n'), /state\.json was missing/);
    assert.equal(loaded.snapshot.status, 'succeeded');
    await writeFile(state, good);
  });

  it('skips a line in the middle that is not a valid event, keeping the rest', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'tapps-flow-state-'));
    // A run folder is named for its run: the copy keeps the name.
    const copy = path.join(parent, path.basename(dir));
    try {
      await mkdir(copy);
      const lines = (await readFile(path.join(dir, 'events.jsonl'), 'utf8')).trim().split('\n');
      lines.splice(2, 0, '{"seq": 1000, "type": "no_such_event"}', 'not json at all');
      await writeFile(path.join(copy, 'events.jsonl'), `${lines.join('\n')}\n`);
      const loaded = await readRun(copy);
      assert.equal(loaded.snapshot.status, 'succeeded');
      assert.equal(loaded.warnings.length, 3); // the two bad lines, and no state.json
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('refuses a folder whose events are of another run, and events that go back in sequence', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'tapps-flow-state-'));
    try {
      const lines = (await readFile(path.join(dir, 'events.jsonl'), 'utf8')).trim().split('\n');
      const renamed = path.join(parent, 'another-name');
      await mkdir(renamed);
      await writeFile(path.join(renamed, 'events.jsonl'), `${lines.join('\n')}\n`);
      await assert.rejects(readRun(renamed), /holds no run/);
      const copy = path.join(parent, path.basename(dir));
      await mkdir(copy);
      // The third event again, and a second start: both skipped, the rest kept.
      await writeFile(path.join(copy, 'events.jsonl'), `${[...lines.slice(0, 3), lines[2], lines[0], ...lines.slice(3)].join('\n')}\n`);
      const loaded = await readRun(copy);
      assert.equal(loaded.snapshot.status, 'succeeded');
      assert.equal(loaded.events.length, lines.length);
      assert.match(loaded.warnings.join('\n'), /repeats or goes back in sequence/);
      assert.match(loaded.warnings.join('\n'), /starts the run a second time/);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('loads a v1-shaped state.json through the migration', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'tapps-flow-v1-'));
    const old = path.join(parent, '20250101-120000-abcd');
    try {
      await mkdir(old, { recursive: true });
      await copyFile(path.join(__dirname, 'fixtures', 'state-v1.json'), path.join(old, 'state.json'));
      const loaded = await readRun(old);
      assert.match(loaded.warnings.join('\n'), /older version/);
      const s = loaded.snapshot;
      assert.equal(s.version, 2);
      assert.equal(s.runId, '20250101-120000-abcd');
      assert.deepEqual(s.workflow, { file: 'workflows/review.yaml', id: 'review', name: 'review' });
      assert.equal(s.base.commit, '1111111111111111111111111111111111111111');
      assert.deepEqual(
        s.steps.map((x) => [x.id, x.status, x.result, x.error, x.log]),
        [
          ['lint', 'succeeded', '2222222222222222222222222222222222222222', null, 'steps/lint/log.txt'],
          ['test', 'failed', null, 'exited with code 1', 'steps/test/log.txt'],
          ['report', 'skipped', null, null, 'steps/report/log.txt'],
        ],
      );
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
