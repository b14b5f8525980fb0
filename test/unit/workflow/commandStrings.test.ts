import { strict as assert } from 'node:assert';
import { parseWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { described, shellStep, workflowDoc } from './issuesOf';

const NUL = 'expected text without NUL characters, which no program can receive';
const ENV_NAME = 'expected an environment variable name of letters, digits and "_", not starting with a digit';

describe('workflow files: text that reaches a command line or the environment', () => {
  it('rejects NUL in run, prompt, action, command arguments and environment values, at the value', () => {
    const text = [
      'workflow:',
      '  id: w',
      '  agents:',
      '    coder: { command: [coder, "-p\\0", "{prompt}"], env: { TOKEN: "a\\0b" } }',
      '  steps:',
      '    - id: a',
      '      agent: shell',
      '      run: "echo \\0"',
      '      env: { OK: "x\\0" }',
      '    - id: b',
      '      agent: coder',
      '      prompt: "hi\\0"',
      '      action: "\\0"',
      '',
    ].join('\n');
    assert.deepEqual(described(text), [
      `4:31 workflow.agents.coder.command[1]: ${NUL} (found one at character 3)`,
      `4:66 workflow.agents.coder.env.TOKEN: ${NUL} (found one at character 2)`,
      `8:12 workflow.steps[0].run: ${NUL} (found one at character 6)`,
      `9:18 workflow.steps[0].env.OK: ${NUL} (found one at character 2)`,
      `12:15 workflow.steps[1].prompt: ${NUL} (found one at character 3)`,
      `13:15 workflow.steps[1].action: ${NUL} (found one at character 1)`,
    ]);
  });

  it('rejects environment variable names that a process environment cannot hold, at the name', () => {
    const text = workflowDoc(
      shellStep('a', '      env:\n        A-B: x\n        1X: y\n        "A=B": z\n        _ok: w\n        "": v\n'),
    );
    assert.deepEqual(described(text), [
      `8:9 workflow.steps[0].env: invalid name "A-B"; ${ENV_NAME}`,
      `9:9 workflow.steps[0].env: invalid name "1X"; ${ENV_NAME}`,
      `10:9 workflow.steps[0].env: invalid name "A=B"; ${ENV_NAME}`,
      `12:9 workflow.steps[0].env: invalid name ""; ${ENV_NAME}`,
    ]);
    assert.deepEqual(parseWorkflow(workflowDoc(shellStep('a', '      env: { _ok: w, PATH_2: v }\n')), 'wf.yaml').workflow.steps[0].env, {
      _ok: 'w',
      PATH_2: 'v',
    });
  });

  it('rejects an agent named "shell" (the built-in one) and agent names with control characters, at the name', () => {
    const text = 'workflow:\n  id: w\n  agents:\n    shell: { command: [sh] }\n    "a\\tb": { command: [x] }\n  steps:\n' + shellStep('a');
    assert.deepEqual(described(text), [
      '4:5 workflow.agents: "shell" is the built-in agent that runs "run:" commands; expected another name for an agent of your own',
      '5:5 workflow.agents: invalid agent name "a\\tb"; expected a name without control characters',
    ]);
  });

  it('rejects control characters and a ".git" folder anywhere in requires and creates', () => {
    const text = workflowDoc(
      shellStep('a', '      creates: ["a\\tb", "src/.git/config", ".GIT/x", "a/.git", "ok.git/x", "a/.gitignore"]\n'),
    );
    assert.deepEqual(described(text), [
      '7:17 workflow.steps[0].creates[0]: expected a path without control characters, got "a\\tb"',
      '7:25 workflow.steps[0].creates[1]: expected a path without a ".git" folder in it (git keeps its own files there), got "src/.git/config"',
      '7:44 workflow.steps[0].creates[2]: expected a path without a ".git" folder in it (git keeps its own files there), got ".GIT/x"',
      '7:54 workflow.steps[0].creates[3]: expected a path without a ".git" folder in it (git keeps its own files there), got "a/.git"',
    ]);
  });
});
