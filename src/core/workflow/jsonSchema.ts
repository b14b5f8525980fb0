import * as z from 'zod/mini';
import { StepIdSchema, StepSchema, WorkflowSchema } from './schema';

const { id: stepId, ...stepKeys } = StepSchema.shape;

/** A step of `sequence:` (TappsCodingAgents' brownfield layout): named by `step:`; keys it does not use are kept. */
const SequenceStepSchema = z.looseObject({ step: z.optional(StepIdSchema), id: z.optional(stepId), ...stepKeys });

/**
 * A workflow file as it is written, in either layout `fileLayout.ts` reads: `workflow:` (with,
 * beside it, TappsCodingAgents' `sequence:` and `gates:`, and keys kept but not used), or the
 * older layout with the workflow's keys at the top. The loader checks the file through the
 * canonical schema; this one is for editors.
 */
const WorkflowDocumentSchema = z.union([
  z.looseObject({
    workflow: z.extend(WorkflowSchema, { steps: z.optional(WorkflowSchema.shape.steps) }),
    sequence: z.optional(z.array(SequenceStepSchema)),
    gates: WorkflowSchema.shape.gates,
  }),
  WorkflowSchema,
]);

/** The JSON Schema of workflow files, generated from the zod schema (the input side of it). */
export function workflowJsonSchema(): string {
  const schema = z.toJSONSchema(WorkflowDocumentSchema, { io: 'input', unrepresentable: 'any', target: 'draft-7' });
  return `${JSON.stringify({ ...schema, title: 'Tapps Flow workflow' }, null, 2)}\n`;
}
