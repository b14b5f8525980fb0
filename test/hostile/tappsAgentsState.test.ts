import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCli, cli } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { runWorkflow } from '../unit/helpers/workflowRun';
import { fingerprint } from './helpers/planted';

const STATE = path.join('.tapps-agents', 'workflow-state');

/**
 * What TappsCodingAgents keeps in the same state folder, as its state manager and event store
 * write it (`tapps_agents/workflow/state_manager.py`, `durable_state.py`): a state file per save,
 * named `<workflow>-<time>.json`, its metadata, `last.json`, a copy of each save in `history/`,
 * a folder per durable workflow holding `events.jsonl` and `checkpoint.json`, the event log
 * folder `events/`, and per-workflow files of its executor (`executor.py`, `manifest.py`,
 * `execution_plan.py`).
 */
const THEIRS: Readonly<Record<string, string>> = {
  'full-sdlc-20250101-120000.json': JSON.stringify(
    { workflow_id: 'full-sdlc', started_at: '2025-01-01T12:00:00', current_step: 'planning', status: 'running', _checksum: 'ab12' },
    null,
    2,
  ),
  'full-sdlc-20250102-093000.json.gz': '\u001f\u008b\u0008\u0000 not really gzip',
  'full-sdlc.meta.json': JSON.stringify({ version: '2.0', workflow_id: 'full-sdlc', state_file: 'full-sdlc-20250101-120000.json' }),
  'last.json': JSON.stringify({ workflow_id: 'full-sdlc', state_file: 'full-sdlc-20250101-120000.json', version: '2.0' }),
  'history/full-sdlc-20250101-120000.json': '{"workflow_id": "full-sdlc", "status": "running"}\n',
  'history/fix-20241231-235959.json': '{"workflow_id": "fix", "status": "completed"}\n',
  '3f1c2a9e-1b2c-4d5e-8f90-123456789abc/events.jsonl': [
    { id: 'e1', workflow_id: '3f1c2a9e', event_type: 'workflow_started', timestamp: '2025-01-01T12:00:00', data: {}, sequence_number: 1 },
    {
      id: 'e2',
      workflow_id: '3f1c2a9e',
      event_type: 'step_started',
      timestamp: '2025-01-01T12:00:01',
      data: { step: 'a' },
      sequence_number: 2,
    },
  ]
    .map((e) => `${JSON.stringify(e)}\n`)
    .join(''),
  '3f1c2a9e-1b2c-4d5e-8f90-123456789abc/checkpoint.json': JSON.stringify({ workflow_id: '3f1c2a9e', step_index: 1, status: 'running' }),
  'events/full-sdlc.jsonl': '{"event_type": "workflow_started"}\n',
  'full-sdlc-execution-plan.json': '{"workflow_id": "full-sdlc", "steps": []}\n',
  'full-sdlc/task-manifest.md': '# Tasks\n\n- [ ] planning\n',
  'build-5e6f/.beads_issue_id': 'bd-42\n',
};

describe('hostile: TappsCodingAgents state beside the runs in .tapps-agents/workflow-state', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  const state = () => path.join(repo.dir, STATE);
  /** A fingerprint of every file and folder of theirs, together. */
  const theirs = async () => (await Promise.all(Object.keys(THEIRS).map((f) => fingerprint(path.join(state(), f))))).join('\n');

  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# tapps\n' });
    await runWorkflow(repo, { steps: [{ id: 's', run: 'echo s > s.txt', creates: ['s.txt'] }] }, { runId: 'ours' });
    for (const [file, content] of Object.entries(THEIRS)) {
      await mkdir(path.dirname(path.join(state(), file)), { recursive: true });
      await writeFile(path.join(state(), file), content, 'latin1');
    }
  });
  after(() => repo.cleanup());

  it('status lists the run and says nothing of their files, which stay as they are', async () => {
    const before = await theirs();
    for (const args of [['status'], ['status', '--json']]) {
      const result = await cli([...args, '--repo', repo.dir]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '', 'no warning');
      assert.match(result.stdout, /ours/);
    }
    assert.equal(await theirs(), before);
  });

  it('cleanup removes the run and leaves their files alone, without a warning', async () => {
    const before = await theirs();
    const result = await cli(['cleanup', '--keep', '0', '--repo', repo.dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no warning');
    assert.ok(!existsSync(path.join(state(), 'ours')), 'the run was removed');
    assert.equal(await theirs(), before, 'their files are byte for byte as they were');
    const after = await cli(['status', '--repo', repo.dir]);
    assert.equal(after.code, 0);
    assert.equal(after.stderr, '');
    assert.match(after.stdout, /^No runs in /);
  });

  it('a damaged run of Tapps Flow next to them is still reported, and kept', async () => {
    await mkdir(path.join(state(), 'damaged'), { recursive: true });
    await writeFile(path.join(state(), 'damaged', 'state.json'), '{ not json');
    const before = await theirs();
    const status = await cli(['status', '--repo', repo.dir]);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(status.stderr.trim().split('\n'), [
      `warning: unreadable run damaged: ${path.join(state(), 'damaged')}: events.jsonl is missing or empty and state.json is unusable (${jsonError('{ not json')})`,
    ]);
    const cleanup = await cli(['cleanup', '--keep', '0', '--repo', repo.dir]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.ok(existsSync(path.join(state(), 'damaged', 'state.json')), 'a damaged run is not deleted');
    assert.equal(await theirs(), before);
  });
});

/** The message JSON.parse gives for `text`, as this Node version words it. */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}
