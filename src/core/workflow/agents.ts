import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { TappsError } from '../util/errors';
import type { AgentDefinition, Step, Workflow } from './schema';
import { TAPPS_AGENT_COMMANDS, tappsCommand } from './tappsCommands';
import { shellArgv } from '../process/shell';

/** The agent that runs a step's `run:` with `sh -c` in its worktree. */
export const SHELL_AGENT = 'shell';

/**
 * A command template. Placeholders (`{prompt}`, …) are substituted per argument, never through a
 * shell, so that a value stays one argument (or the standard input) whatever it holds.
 */
export interface CommandTemplate {
  readonly argv: readonly string[];
  /** The text written to the process's standard input, e.g. `{prompt}`; none: stdin is empty. */
  readonly stdin?: string;
  /** Variables the program needs; the agent's and the step's `env:` take precedence over them. */
  readonly env?: Readonly<Record<string, string>>;
  /** Other names the program is installed under, tried in order when `argv[0]` is not on the step's PATH. */
  readonly fallbacks?: readonly string[];
  /**
   * The program's command for a step, put where the template says `{action}`: for a program whose
   * commands are not the workflow's action names. Throws a `TappsError` saying which commands
   * exist when the step's action has none.
   */
  readonly command?: (agent: string, action: string) => string;
}

/**
 * The presets. A prompt never stands where an option parser looks for options (a prompt
 * `--sandbox=danger-full-access` given to `codex exec` as an argument is read as that flag): it
 * goes on stdin where the CLI reads it there, else as the value of an `--option=value` argument or
 * after `--`.
 */
export const PRESET_COMMANDS: Readonly<Record<NonNullable<AgentDefinition['preset']>, CommandTemplate>> = {
  // `-p` without a prompt argument reads the prompt from stdin.
  'claude-code': { argv: ['claude', '-p', '--permission-mode', 'acceptEdits'], stdin: '{prompt}' },
  // `-` reads the prompt from stdin. `--full-auto` is deprecated (it still maps to workspace-write, with a warning).
  codex: { argv: ['codex', 'exec', '--sandbox', 'workspace-write', '-'], stdin: '{prompt}' },
  // yargs takes the text after `--prompt=` as the value whatever it begins with (`-p --x` fails to
  // parse). `--approval-mode=yolo` (since August 2025, google-gemini/gemini-cli#6024) replaces
  // `--yolo`, which the CLI reference now marks deprecated. Since v0.41.0 (google-gemini/gemini-cli#25814) headless gemini
  // exits in a folder it does not trust, and a step's worktree is a new folder every run. That
  // release brought both `--skip-trust` and GEMINI_CLI_TRUST_WORKSPACE=true; the variable is the
  // one that cannot break older releases, whose strict parser refuses the unknown flag and starts nothing.
  gemini: { argv: ['gemini', '--approval-mode=yolo', '--prompt={prompt}'], env: { GEMINI_CLI_TRUST_WORKSPACE: 'true' } },
  // configargparse takes the text after `--message=` as the value (`--message --x` fails to parse).
  // Without --no-gitignore aider adds `.aider*` to .gitignore, a change the step never asked for.
  aider: { argv: ['aider', '--yes-always', '--no-auto-commits', '--no-gitignore', '--message={prompt}'] },
  // The Cursor CLI parses with commander.js, which reads a prompt beginning with `--` as an unknown
  // option but stops reading options at `--` (kube-dojo/kube-dojo.github.io#1488). It has no
  // `--prompt=` option, and print mode is reported to ignore piped stdin (kprompt/kprompt#146).
  // `--force` also passes its workspace-trust check in print mode. Its installer now names it `agent`.
  'cursor-agent': { argv: ['cursor-agent', '-p', '--force', '--', '{prompt}'], fallbacks: ['agent'] },
  // The executable the package installs (`tapps_agents.cli:main`): `tapps-agents <agent> <command>`,
  // the command being the step's action where the CLI has a command of that name, else the one it
  // stands for (`review_code` -> `review`). The prompt is not passed (TAPPS_PROMPT carries it): the
  // commands take different positional arguments (a description, a file, none).
  'tapps-agents': { argv: ['tapps-agents', '{agent}', '{action}'], command: tappsAgentsCommand },
};

function tappsAgentsCommand(agent: string, action: string): string {
  const found = tappsCommand(agent, action);
  if ('command' in found) return found.command;
  throw new TappsError('agent-command-missing', found.problem);
}

/**
 * The agent names of TappsCodingAgents workflow files. A file that uses them without defining
 * them under `agents:` runs them through the `tapps-agents` preset, so such files load as they are.
 */
export const TAPPS_AGENT_NAMES: readonly string[] = Object.keys(TAPPS_AGENT_COMMANDS).sort();

export const PLACEHOLDERS = ['prompt', 'step', 'worktree', 'run', 'action', 'agent'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** The agent names a workflow may use: its own, the host's configured ones, `shell`, and the TappsCodingAgents names. */
export function knownAgents(workflow: Pick<Workflow, 'agents'>, configured: Readonly<Record<string, readonly string[]>> = {}): string[] {
  return [...new Set([SHELL_AGENT, ...Object.keys(workflow.agents), ...Object.keys(configured), ...TAPPS_AGENT_NAMES])].sort();
}

/** The placeholders of a template argument that are not known, e.g. `{promt}`. */
export function unknownPlaceholders(arg: string): string[] {
  return [...arg.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => m[1]).filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
}

/** The text given to an agent: the step's prompt, or one made from its action and paths. */
export function stepPrompt(step: Step): string {
  if (step.prompt !== undefined) return step.prompt;
  const parts = [step.action ?? step.id];
  if (step.requires.length > 0) parts.push(`Inputs: ${step.requires.join(', ')}.`);
  if (step.creates.length > 0) parts.push(`Create: ${step.creates.join(', ')}.`);
  return parts.join('. ').replace(/\.\./g, '.');
}

export interface AgentInvocation {
  /** The argv to spawn: no shell involved except for the `shell` agent's own `sh -c`. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Text for the process's standard input (a prompt an agent reads there); none: empty. */
  readonly stdin?: string;
}

/**
 * How a step is executed. Workflow agents take precedence over the host's configured agents
 * (settings), which take precedence over the TappsCodingAgents defaults. Throws a `TappsError`
 * when the agent's program has no command for the step's action (see `CommandTemplate.command`):
 * the step fails with that message in its log.
 */
export function resolveInvocation(
  workflow: Workflow,
  step: Step,
  values: Readonly<Record<Placeholder, string>>,
  configured: Readonly<Record<string, readonly string[]>> = {},
): AgentInvocation {
  if (step.agent === SHELL_AGENT) {
    return { argv: shellArgv(step.run ?? ''), env: step.env ?? {} };
  }
  const defined = workflow.agents[step.agent];
  const template = templateOf(defined, configured[step.agent]);
  const given = template.command ? { ...values, action: template.command(step.agent, values.action) } : values;
  const substitute = (text: string) =>
    text.replace(/\{([A-Za-z_]+)\}/g, (whole, name: string) => (name in given ? given[name as Placeholder] : whole));
  const env = { ...(template.env ?? {}), ...(defined?.env ?? {}), ...(step.env ?? {}) };
  const [program, ...args] = template.argv.map(substitute);
  return {
    argv: [installedName(program, template.fallbacks ?? [], env.PATH ?? process.env.PATH ?? '', values.worktree), ...args],
    env,
    ...(template.stdin === undefined ? {} : { stdin: substitute(template.stdin) }),
  };
}

/** The template of an agent: its own `command:` or preset, else the host's, else the TappsCodingAgents preset. */
export function templateOf(defined: AgentDefinition | undefined, configured: readonly string[] | undefined): CommandTemplate {
  if (defined?.command) return { argv: defined.command };
  if (defined?.preset) return PRESET_COMMANDS[defined.preset];
  return configured ? { argv: configured } : PRESET_COMMANDS['tapps-agents'];
}

/**
 * The first of `program` and its `fallbacks` that is an executable file on `searchPath` (the
 * PATH the step gets), looked up when the step starts so that an install made since counts. None
 * found: `program`, so that the "command not found" the step fails with names the usual name.
 */
function installedName(program: string, fallbacks: readonly string[], searchPath: string, cwd: string): string {
  if (fallbacks.length === 0) return program;
  // A relative folder on PATH is found from the step's working folder, as the spawned process finds it.
  const dirs = searchPath
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => path.resolve(cwd, dir));
  // Windows finds `agent.cmd` for `agent`; elsewhere the name is the file name.
  const extensions = process.platform === 'win32' ? ['', ...(process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  const installed = (name: string) => dirs.some((dir) => extensions.some((ext) => isExecutableFile(path.join(dir, name + ext))));
  return [program, ...fallbacks].find(installed) ?? program;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false; // missing, not executable, or unreadable: not one the step could start
  }
}
