import { strict as assert } from 'node:assert';
import { GitError, TappsError, WorkflowError } from '../../../src/core/util/errors';

describe('typed errors', () => {
  it('are recognised across bundles: by their brand, not only by instanceof', () => {
    // What an error thrown by another copy of these classes (dist/engine.js) looks like here.
    const foreign = Object.defineProperty(
      Object.assign(new Error('The workflow file has 1 problem'), { name: 'WorkflowError', code: 'workflow-invalid', issues: [] }),
      Symbol.for('tapps-flow.error'),
      { value: true },
    );
    assert.ok(WorkflowError.is(foreign));
    assert.ok(TappsError.is(foreign));
    assert.ok(!GitError.is(foreign));
    assert.ok(!TappsError.is(new Error('plain')));
    assert.ok(WorkflowError.is(new WorkflowError([{ file: 'w.yaml', line: 1, column: 1, message: 'x' }])));
  });
});
