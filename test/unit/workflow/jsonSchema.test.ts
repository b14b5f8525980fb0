import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { workflowJsonSchema } from '../../../src/core/workflow/jsonSchema';

describe('the shipped JSON Schema', () => {
  it('is the one generated from the zod schema (run `npm run schema` after changing the format)', () => {
    const shipped = readFileSync(path.join(__dirname, '../../../schema/workflow.schema.json'), 'utf8');
    assert.equal(shipped, workflowJsonSchema());
  });

  it('describes steps with their keys and rejects unknown ones', () => {
    const schema = JSON.parse(workflowJsonSchema()) as {
      properties: {
        workflow: { properties: { steps: { items: { properties: Record<string, unknown>; additionalProperties: unknown } } } };
      };
    };
    const step = schema.properties.workflow.properties.steps.items;
    for (const key of ['id', 'agent', 'requires', 'creates', 'needs', 'next', 'run', 'prompt'])
      assert.ok(key in step.properties, `missing ${key}`);
    assert.equal(step.additionalProperties, false);
  });
});
