import { strict as assert } from 'node:assert';
import { WorkflowError } from '../../../src/core/util/errors';
import { parseWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { described, textAt, workflowDoc } from './issuesOf';

const step = (line: string) => workflowDoc(`    - id: a\n      agent: shell\n${line}`);

describe('workflow files: a plain value holding ": "', () => {
  it('says where, and to quote the value or write it as a block scalar', () => {
    const text = step('      run: echo "::progress:: 10 x"\n');
    assert.deepEqual(described(text), [
      '6:12 invalid YAML: Nested mappings are not allowed in compact mappings; the value of "run" holds ": ", which YAML reads as the start of another key; put the value in quotes, or write it as a block scalar ("run: |" with the text on the lines below, indented)',
    ]);
    assert.equal(textAt(text, 6, 12), 'echo "::progress:: 10 x"');
  });

  it('names the key in a list item and in a prompt', () => {
    const text = workflowDoc('    - prompt: Fix this: now\n      id: a\n      agent: coder\n');
    const [issue] = described(text);
    assert.match(
      issue,
      /^4:15 invalid YAML: .*; the value of "prompt" holds ": ", which YAML reads as the start of another key; put the value in quotes, or write it as a block scalar \("prompt: \|"/,
    );
  });

  it('inside a flow mapping, says to quote the value', () => {
    assert.deepEqual(described(workflowDoc('    - { id: a, agent: coder, prompt: Fix this: now }\n')), [
      '4:38 invalid YAML: Block collections are not allowed within flow collections; a value holds ": ", which YAML reads as the start of another key; put the value in quotes',
    ]);
  });

  it('the error message names the file, line and column', () => {
    try {
      parseWorkflow(step('      run: echo a: b\n'), 'flows/wf.yaml');
      assert.fail('loaded');
    } catch (error) {
      assert.ok(WorkflowError.is(error));
      assert.match(
        error.message,
        /^The workflow file has 1 problem:\n {2}flows\/wf\.yaml:6:12: invalid YAML: .* put the value in quotes, or write it as a block scalar/,
      );
    }
  });

  it('the value quoted, or as a block scalar, loads as the text it is', () => {
    for (const line of ['      run: \'echo "::progress:: 10 x"\'\n', '      run: |\n        echo "::progress:: 10 x"\n']) {
      assert.equal(parseWorkflow(step(line), 'wf.yaml').workflow.steps[0].run?.trim(), 'echo "::progress:: 10 x"');
    }
  });
});
