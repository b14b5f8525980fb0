import { strict as assert } from 'node:assert';
import { JobResultSchema, StepJobSchema } from '../../../src/core/remote/stepJob';

/** A job as a run queues it (see RemoteSteps.jobOf), for the cases to change one thing of. */
function job(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    runId: 'run-1',
    key: 'build',
    attempt: 1,
    workflow: { id: 'wf', agents: {} },
    step: { id: 'build', agent: 'shell', run: 'make', creates: ['out/'], requires: [], optional: false, continueIf: [] },
    base: { commit: 'a'.repeat(40), tree: 'b'.repeat(40), time: 1700000000, ref: 'refs/tapps-flow/runs/run-1/base' },
    setup: {
      commands: [{ command: 'npm ci', origin: 'workflow setup' }],
      copy: [{ path: '.env', origin: 'workflow setup', secret: true }],
      symlink: [],
      env: {},
      timeoutSeconds: 900,
      dependencies: { folders: ['node_modules'], keyFiles: [] },
      notes: [],
    },
    settings: { timeoutSeconds: 900 },
    configuredAgents: {},
    ...patch,
  };
}

describe('what travels through the queue, as a worker reads it', () => {
  it('takes a job as a run queues it', () => {
    assert.ok(StepJobSchema.safeParse(job()).success);
  });

  it("refuses a job that names a file out of the worker's checkout, another remote ref, or a run id that is a path", () => {
    const setup = job().setup as Record<string, unknown>;
    const cases: Array<[string, Record<string, unknown>]> = [
      [
        'a copied file above the checkout',
        { setup: { ...setup, copy: [{ path: '../../root/.ssh/id_rsa', origin: 'workflow setup', secret: false }] } },
      ],
      ['an absolute copied file', { setup: { ...setup, symlink: [{ path: '/etc/passwd', origin: 'workflow setup', secret: false }] } }],
      ['a ref outside the run namespace', { base: { ...(job().base as object), ref: 'refs/heads/main' } }],
      ["another run's base", { base: { ...(job().base as object), ref: 'refs/tapps-flow/runs/other/../run-1/base' } }],
      ['a run id that is a path', { runId: '../../etc' }],
      ['a key with a slash', { key: 'a/b' }],
      ['another version', { version: 2 }],
    ];
    for (const [what, patch] of cases) assert.equal(StepJobSchema.safeParse(job(patch)).success, false, what);
  });

  it('refuses an answer that is not one: a result without a commit id, a worker name that is not a name', () => {
    const ok = {
      worker: 'w1',
      outcome: { status: 'succeeded', commit: 'c'.repeat(40), tree: 'd'.repeat(40), warnings: [], submoduleWrites: [] },
    };
    assert.ok(JobResultSchema.safeParse(ok).success);
    assert.equal(JobResultSchema.safeParse({ ...ok, outcome: { ...ok.outcome, commit: 'HEAD' } }).success, false);
    assert.equal(JobResultSchema.safeParse({ ...ok, worker: 'w1\u001b[2J' }).success, false);
    assert.equal(JobResultSchema.safeParse(null).success, false);
  });
});
