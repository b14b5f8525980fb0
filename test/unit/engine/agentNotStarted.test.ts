import { strict as assert } from 'node:assert';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { readStateFile, runWorkflow, stepOf } from '../helpers/workflowRun';

describe('an agent that cannot start', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  before(async () => {
    repo = await makeTempRepo({ 'doc.txt': 'one\n' });
  });
  after(() => repo.cleanup());

  it("says why in the step's log, as in the step's error", async () => {
    const { run, snapshot } = await runWorkflow(
      repo,
      { steps: [{ id: 'ghost', agent: 'ghost', creates: [] }] },
      { defaults: { agents: { ghost: ['tapps-flow-no-such-program-xyz', '{prompt}'] } } },
    );
    const step = stepOf(snapshot, 'ghost');
    assert.equal(step.status, 'failed');
    assert.match(step.error ?? '', /^could not start the agent: command not found: "tapps-flow-no-such-program-xyz"\. Install it/);
    const log = await readStateFile(run, step.log);
    assert.ok(log.includes(step.error!), `the log does not say: ${step.error}\n--- log ---\n${log}`);
  });
});
