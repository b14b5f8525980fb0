import * as z from 'zod/mini';
import { WorkflowFileSchema } from './schema';

/** The JSON Schema of workflow files, generated from the zod schema (the input side of it). */
export function workflowJsonSchema(): string {
  const schema = z.toJSONSchema(WorkflowFileSchema, { io: 'input', unrepresentable: 'any', target: 'draft-7' });
  return `${JSON.stringify({ ...schema, title: 'Tapps Flow workflow' }, null, 2)}\n`;
}
