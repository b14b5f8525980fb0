import { strict as assert } from 'node:assert';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { resolveInvocation } from '../../../src/core/workflow/agents';
import { parseWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { tappsCommand } from '../../../src/core/workflow/tappsCommands';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow, statuses, stepOf } from '../helpers/workflowRun';

/** Prompts an option parser would take for options: each must reach the agent as text, exactly. */
const PROMPTS: Readonly<Record<string, string>> = {
  sandbox: '--sandbox=danger-full-access',
  print: '-p',
  list: `- [ ] fix it\n--yolo 'quoted' "twice" $HOME \`id\`\n`,
};

/** What a fake agent recorded about how it was started. */
interface Call {
  /** The name it was started under (its file name). */
  readonly name: string;
  /** Its arguments, without the program. */
  readonly argv: string[];
  /** Everything it read from standard input. */
  readonly stdin: string;
  readonly trustEnv: string | null;
}

/**
 * Writes a fake agent named `name` into `bin`: it records its argv, its standard input and its
 * environment to `<record>/<step>.json` (outside the worktree, so that the capture stays empty).
 * The interpreter is named by absolute path, so the fake runs with PATH holding `bin` alone.
 */
async function fakeAgent(bin: string, name: string, record: string): Promise<void> {
  await mkdir(bin, { recursive: true });
  await mkdir(record, { recursive: true });
  const script = [
    `#!${process.execPath}`,
    `const fs = require('node:fs');`,
    `const path = require('node:path');`,
    `const call = {`,
    `  name: path.basename(process.argv[1]),`,
    `  argv: process.argv.slice(2),`,
    `  stdin: fs.readFileSync(0, 'utf8'),`,
    `  trustEnv: process.env.GEMINI_CLI_TRUST_WORKSPACE ?? null,`,
    `};`,
    `fs.writeFileSync(path.join(${JSON.stringify(record)}, process.env.TAPPS_STEP_ID + '.json'), JSON.stringify(call));`,
    '',
  ].join('\n');
  const file = path.join(bin, name);
  await writeFile(file, script);
  await chmod(file, 0o755);
}

interface PresetRun {
  readonly calls: Readonly<Record<string, Call>>;
  readonly statuses: Record<string, string>;
  readonly errors: Record<string, string | null | undefined>;
}

/**
 * Runs a real workflow with one step per prompt, all through agent `coder` of the given preset,
 * whose `env:` puts `bins` (and nothing else) on the step's PATH.
 */
async function runPreset(repo: TempRepo, preset: string, bins: readonly string[], prompts = PROMPTS): Promise<PresetRun> {
  const record = path.join(repo.outside, 'calls');
  const yaml = stringify(
    {
      workflow: {
        id: 'presets',
        agents: { coder: { preset, env: { PATH: bins.join(path.delimiter) } } },
        steps: Object.entries(prompts).map(([id, prompt]) => ({ id, agent: 'coder', prompt, action: 'review' })),
      },
    },
    { lineWidth: 0 },
  );
  const { snapshot } = await runWorkflow(repo, yaml);
  const calls: Record<string, Call> = {};
  for (const id of Object.keys(prompts)) {
    const text = await readFile(path.join(record, `${id}.json`), 'utf8').catch(() => undefined);
    if (text !== undefined) calls[id] = JSON.parse(text) as Call;
  }
  const errors = Object.fromEntries(Object.keys(prompts).map((id) => [id, stepOf(snapshot, id).error]));
  return { calls, statuses: statuses(snapshot), errors };
}

/** The call of a step; fails with the step's status and error when the fake never ran. */
function callOf(run: PresetRun, id: string): Call {
  const call = run.calls[id];
  if (!call) throw new Error(`the fake agent of step "${id}" did not run: status ${run.statuses[id]}, error ${run.errors[id] ?? 'none'}`);
  return call;
}

/** The arguments an option parser reads as options or their values: everything before a `--`. */
function optionPart(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end < 0 ? argv : argv.slice(0, end);
}

describe('agent presets: a prompt is never parsed as an option', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  let bin: string;
  beforeEach(async () => {
    repo = await makeTempRepo();
    bin = path.join(repo.outside, 'bin');
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  /**
   * Every prompt step succeeded through the fake, and the options it was given do not depend on
   * the prompt: a prompt that stood as an argument of its own where options are parsed (before
   * any `--`) would make them differ, while a prompt inside an `--option=<prompt>` value does not.
   */
  function assertSafe(run: PresetRun, binary: string): void {
    assert.deepEqual(run.statuses, Object.fromEntries(Object.keys(PROMPTS).map((id) => [id, 'succeeded'])), JSON.stringify(run.errors));
    const shapes = Object.entries(PROMPTS).map(([id, prompt]) => {
      const call = callOf(run, id);
      assert.equal(call.name, binary);
      const options = optionPart(call.argv).map((a) => (a.endsWith(`=${prompt}`) ? `${a.slice(0, a.length - prompt.length)}<prompt>` : a));
      return JSON.stringify(options);
    });
    assert.equal(new Set(shapes).size, 1, `the options an agent parses depend on its prompt:\n${shapes.join('\n')}`);
  }

  it('claude-code: `claude -p --permission-mode acceptEdits`, the prompt on stdin only', async () => {
    await fakeAgent(bin, 'claude', path.join(repo.outside, 'calls'));
    const run = await runPreset(repo, 'claude-code', [bin]);
    assertSafe(run, 'claude');
    for (const [id, prompt] of Object.entries(PROMPTS)) {
      const call = callOf(run, id);
      assert.deepEqual(call.argv, ['-p', '--permission-mode', 'acceptEdits'], `step ${id}`);
      assert.equal(call.stdin, prompt, `step ${id}`);
    }
  });

  it('codex: `codex exec --sandbox workspace-write -`, the prompt on stdin only, no --full-auto', async () => {
    await fakeAgent(bin, 'codex', path.join(repo.outside, 'calls'));
    const run = await runPreset(repo, 'codex', [bin]);
    assertSafe(run, 'codex');
    for (const [id, prompt] of Object.entries(PROMPTS)) {
      const call = callOf(run, id);
      assert.deepEqual(call.argv, ['exec', '--sandbox', 'workspace-write', '-'], `step ${id}`);
      assert.ok(!call.argv.includes('--full-auto'));
      assert.ok(!call.argv.some((a) => a.includes('danger-full-access')), `step ${id}: ${JSON.stringify(call.argv)}`);
      assert.equal(call.stdin, prompt, `step ${id}`);
    }
  });

  it('gemini: the prompt as one `--prompt=<text>` argument, in a trusted workspace', async () => {
    await fakeAgent(bin, 'gemini', path.join(repo.outside, 'calls'));
    const run = await runPreset(repo, 'gemini', [bin]);
    assertSafe(run, 'gemini');
    for (const [id, prompt] of Object.entries(PROMPTS)) {
      const call = callOf(run, id);
      assert.deepEqual(call.argv, ['--approval-mode=yolo', `--prompt=${prompt}`], `step ${id}`);
      assert.equal(call.trustEnv, 'true', `step ${id}: headless gemini exits in an untrusted folder`);
      assert.equal(call.stdin, '', `step ${id}`);
    }
  });

  it("gemini: an agent's own env can still decide the workspace trust", async () => {
    await fakeAgent(bin, 'gemini', path.join(repo.outside, 'calls'));
    const yaml = stringify({
      workflow: {
        id: 'presets',
        agents: { coder: { preset: 'gemini', env: { PATH: bin, GEMINI_CLI_TRUST_WORKSPACE: 'false' } } },
        steps: [{ id: 'one', agent: 'coder', prompt: 'hello' }],
      },
    });
    await runWorkflow(repo, yaml);
    const call = JSON.parse(await readFile(path.join(repo.outside, 'calls', 'one.json'), 'utf8')) as Call;
    assert.equal(call.trustEnv, 'false');
  });

  it('aider: the prompt as one `--message=<text>` argument, without touching .gitignore', async () => {
    await fakeAgent(bin, 'aider', path.join(repo.outside, 'calls'));
    const run = await runPreset(repo, 'aider', [bin]);
    assertSafe(run, 'aider');
    for (const [id, prompt] of Object.entries(PROMPTS)) {
      const call = callOf(run, id);
      assert.deepEqual(call.argv, ['--yes-always', '--no-auto-commits', '--no-gitignore', `--message=${prompt}`], `step ${id}`);
      assert.ok(call.argv.includes('--no-gitignore'));
      assert.equal(call.stdin, '', `step ${id}`);
    }
  });

  it('cursor-agent: `cursor-agent -p --force -- <prompt>`', async () => {
    await fakeAgent(bin, 'cursor-agent', path.join(repo.outside, 'calls'));
    await fakeAgent(bin, 'agent', path.join(repo.outside, 'calls'));
    const run = await runPreset(repo, 'cursor-agent', [bin]);
    assertSafe(run, 'cursor-agent'); // both are installed: the documented name wins
    for (const [id, prompt] of Object.entries(PROMPTS)) {
      const call = callOf(run, id);
      assert.deepEqual(call.argv, ['-p', '--force', '--', prompt], `step ${id}`);
      assert.equal(call.stdin, '', `step ${id}`);
    }
  });

  it("cursor-agent: runs `agent` when only `agent` is on the step's PATH", async () => {
    await fakeAgent(bin, 'agent', path.join(repo.outside, 'calls'));
    // The folder is only on the PATH of the agent's env, never on the engine's own.
    assert.ok(!(process.env.PATH ?? '').split(path.delimiter).includes(bin));
    const run = await runPreset(repo, 'cursor-agent', [bin]);
    assertSafe(run, 'agent');
    for (const [id, prompt] of Object.entries(PROMPTS)) assert.deepEqual(callOf(run, id).argv, ['-p', '--force', '--', prompt]);
  });

  it('cursor-agent: with neither installed, the failure names cursor-agent', async () => {
    await mkdir(bin, { recursive: true });
    const run = await runPreset(repo, 'cursor-agent', [bin], { one: 'hello' });
    assert.deepEqual(run.statuses, { one: 'failed' });
    assert.match(run.errors.one ?? '', /command not found: "cursor-agent"/);
  });

  it('tapps-agents: `tapps-agents <agent> <command>`, the action as the command it stands for, no prompt anywhere', async () => {
    await fakeAgent(bin, 'tapps-agents', path.join(repo.outside, 'calls'));
    const actions: Readonly<Record<string, string>> = {
      exact: 'review',
      workflow: 'review_code',
      star: '*Score',
      underscores: 'type_check',
    };
    const yaml = stringify(
      {
        workflow: {
          id: 'tapps',
          agents: { reviewer: { preset: 'tapps-agents', env: { PATH: bin } } },
          steps: Object.entries(actions).map(([id, action]) => ({ id, agent: 'reviewer', action, prompt: PROMPTS.sandbox })),
        },
      },
      { lineWidth: 0 },
    );
    const { snapshot } = await runWorkflow(repo, yaml);
    assert.deepEqual(statuses(snapshot), { exact: 'succeeded', workflow: 'succeeded', star: 'succeeded', underscores: 'succeeded' });
    const argv = async (id: string) => {
      const call = JSON.parse(await readFile(path.join(repo.outside, 'calls', `${id}.json`), 'utf8')) as Call;
      assert.equal(call.name, 'tapps-agents');
      assert.equal(call.stdin, '', `step ${id}`);
      return call.argv;
    };
    assert.deepEqual(await argv('exact'), ['reviewer', 'review']);
    assert.deepEqual(await argv('workflow'), ['reviewer', 'review']);
    assert.deepEqual(await argv('star'), ['reviewer', 'score']);
    assert.deepEqual(await argv('underscores'), ['reviewer', 'type-check']);
  });

  it('tapps-agents: an action without a command fails its step, saying so in its log, and starts nothing', async () => {
    await fakeAgent(bin, 'tapps-agents', path.join(repo.outside, 'calls'));
    const yaml = stringify({
      workflow: {
        id: 'tapps',
        agents: { orchestrator: { preset: 'tapps-agents', env: { PATH: bin } } },
        steps: [
          { id: 'finish', agent: 'orchestrator', action: 'finalize' },
          { id: 'after', agent: 'shell', run: 'echo after > after.txt', needs: ['finish'] },
        ],
      },
    });
    const { snapshot } = await runWorkflow(repo, yaml);
    assert.deepEqual(statuses(snapshot), { finish: 'failed', after: 'skipped' });
    const expected =
      'agent "orchestrator" of tapps-agents cannot run this step: it has no command for action "finalize"; the commands of "orchestrator" are: workflow-list, workflow-start, workflow-status, workflow-next, workflow-skip, workflow-resume, workflow, gate.';
    assert.ok(stepOf(snapshot, 'finish').error?.startsWith(expected), stepOf(snapshot, 'finish').error ?? 'no error');
    const log = await readFile(
      path.join(repo.dir, '.tapps-agents', 'workflow-state', snapshot.runId, 'steps', 'finish', 'log.txt'),
      'utf8',
    );
    assert.ok(log.includes(expected), log);
    await assert.rejects(readFile(path.join(repo.outside, 'calls', 'finish.json')), /ENOENT/, 'the program was not started');
  });
});

describe('the tapps-agents preset: workflow actions and the commands of its CLI', () => {
  it('maps the actions of TappsCodingAgents workflow files to the commands their CLI has', () => {
    const cases: Array<[string, string, string]> = [
      ['analyst', 'gather_requirements', 'gather-requirements'],
      ['planner', 'create_stories', 'plan'],
      ['architect', 'design_system', 'design-system'],
      ['architect', 'design', 'design-system'],
      ['designer', 'api_design', 'api-design'],
      ['implementer', 'write_code', 'implement'],
      ['reviewer', 'review_code', 'review'],
      ['reviewer', 'analyze-project', 'analyze-project'],
      ['tester', 'write_tests', 'test'],
      ['ops', 'security_scan', 'security-scan'],
      ['documenter', 'generate_docs', 'generate-docs'],
      ['improver', 'refactor', 'refactor'],
      ['improver', 'improve', 'improve-quality'],
      ['enhancer', 'enhance_prompt', 'enhance'],
      ['enhancer', 'enhance-quick', 'enhance-quick'],
      ['debugger', 'analyze_error', 'analyze-error'],
    ];
    for (const [agent, action, command] of cases) assert.deepEqual(tappsCommand(agent, action), { command }, `${agent} ${action}`);
  });

  it('names the agent, the action and the commands that exist when there is none', () => {
    assert.deepEqual(tappsCommand('enhancer', 'polish'), {
      problem:
        'agent "enhancer" of tapps-agents cannot run this step: it has no command for action "polish"; the commands of "enhancer" are: enhance, enhance-quick, enhance-stage. Use one of them as the step\'s "action", or give agent "enhancer" a command of its own under "agents:"',
    });
    assert.match(
      problemOf(tappsCommand('reviewer', '')),
      /the step has no action; the commands of "reviewer" are: review, score, lint, type-check, report,/,
    );
    assert.match(problemOf(tappsCommand('coder', 'review')), /^tapps-agents has no agent "coder"; its agents are: analyst, architect, /);
    assert.match(problemOf(tappsCommand('reviewer', 'constructor')), /no command for action "constructor"/);
  });

  it('warns when a file is loaded, at the action, once per agent and action', () => {
    const text = [
      'workflow:',
      '  id: w',
      '  steps:',
      '    - { id: a, agent: orchestrator, action: finalize }',
      '    - { id: b, agent: orchestrator, action: finalize }',
      '    - { id: c, agent: reviewer, action: review_code }',
      '    - { id: d, agent: documenter }',
      '',
    ].join('\n');
    const { warnings } = parseWorkflow(text, 'w.yaml');
    assert.deepEqual(
      warnings.map((w) => `${w.file}:${w.line}:${w.column}`),
      ['w.yaml:4:45', 'w.yaml:7:23'],
    );
    assert.match(
      warnings[0].message,
      /^step "a" will fail when it runs, and so will 1 more step with the same agent and action: agent "orchestrator" of tapps-agents cannot run this step: it has no command for action "finalize"; the commands of "orchestrator" are: workflow-list, /,
    );
    assert.match(
      warnings[1].message,
      /^step "d" will fail when it runs: agent "documenter" of tapps-agents cannot run this step: the step has no action; /,
    );
    // An agent of the workflow's own, or of the editor's settings, is not the preset's.
    const own = text.replace(
      '  steps:',
      '  agents: { orchestrator: { command: [orchestrate] }, documenter: { command: [doc] } }\n  steps:',
    );
    assert.deepEqual(parseWorkflow(own, 'w.yaml').warnings, []);
    assert.deepEqual(parseWorkflow(text, 'w.yaml', { configuredAgents: { orchestrator: ['o'], documenter: ['d'] } }).warnings, []);
  });
});

function problemOf(found: ReturnType<typeof tappsCommand>): string {
  return 'problem' in found ? found.problem : `a command: ${found.command}`;
}

describe('agent commands of a workflow', () => {
  it('keep a `command:` template as it is: per-argument substitution, nothing on stdin', () => {
    const { workflow } = parseWorkflow(
      [
        'workflow:',
        '  id: w',
        '  agents:',
        '    coder: { command: [coder, --ask, "{prompt}", "--in={worktree}"], env: { A: b } }',
        '  steps:',
        '    - { id: one, agent: coder, prompt: "--sandbox=danger-full-access $HOME" }',
        '',
      ].join('\n'),
      'w.yaml',
    );
    const step = workflow.steps[0];
    const invocation = resolveInvocation(workflow, step, {
      prompt: step.prompt ?? '',
      step: step.id,
      worktree: '/w t',
      run: 'r',
      action: '',
      agent: step.agent,
    });
    assert.deepEqual(invocation.argv, ['coder', '--ask', '--sandbox=danger-full-access $HOME', '--in=/w t']);
    assert.equal(invocation.stdin, undefined);
    assert.deepEqual(invocation.env, { A: 'b' });
  });
});
