import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { workflowJsonSchema } from '../../../src/core/workflow/jsonSchema';

describe('the shipped JSON Schema', () => {
  it('is the one generated from the zod schema (run `npm run schema` after changing the format)', () => {
    const shipped = readFileSync(path.join(__dirname, '../../../schema/workflow.schema.json'), 'utf8');
    assert.equal(shipped, workflowJsonSchema());
  });

  it('describes steps with their keys and rejects unknown ones, in both layouts', () => {
    interface Steps {
      properties: { steps: { items: { properties: Record<string, unknown>; additionalProperties: unknown } } };
      additionalProperties: unknown;
    }
    const schema = JSON.parse(workflowJsonSchema()) as {
      anyOf: [{ properties: { workflow: Steps; sequence: unknown; gates: unknown }; required: string[] }, Steps & { required: string[] }];
    };
    const [wrapped, older] = schema.anyOf;
    assert.deepEqual(wrapped.required, ['workflow']);
    assert.ok('sequence' in wrapped.properties && 'gates' in wrapped.properties);
    assert.deepEqual(older.required, ['id', 'steps']);
    assert.equal(older.additionalProperties, false);
    for (const step of [wrapped.properties.workflow.properties.steps.items, older.properties.steps.items]) {
      for (const key of ['id', 'agent', 'requires', 'creates', 'needs', 'next', 'run', 'prompt', 'consults', 'metadata', 'gate'])
        assert.ok(key in step.properties, `missing ${key}`);
      assert.equal(step.additionalProperties, false);
    }
  });
});
