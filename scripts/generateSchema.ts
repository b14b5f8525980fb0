// Writes schema/workflow.schema.json from the zod schema of the workflow format, so that editors
// (the YAML extension, through the manifest's yamlValidation) validate workflow files as users type.
import { writeFileSync, mkdirSync } from 'node:fs';
import { workflowJsonSchema } from '../src/core/workflow/jsonSchema';

mkdirSync('schema', { recursive: true });
writeFileSync('schema/workflow.schema.json', workflowJsonSchema());
console.log('wrote schema/workflow.schema.json');
