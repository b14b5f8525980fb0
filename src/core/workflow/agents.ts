import type { AgentDefinition, Step, Workflow } from './schema';

/** The agent that runs a step's `run:` with `sh -c` in its worktree. */
export const SHELL_AGENT = 'shell';

/** Command templates of the presets. Placeholders are substituted per argument, never through a shell. */
export const PRESET_COMMANDS: Readonly<Record<NonNullable<AgentDefinition['preset']>, readonly string[]>> = {
  'claude-code': ['claude', '-p', '{prompt}', '--permission-mode', 'acceptEdits'],
  codex: ['codex', 'exec', '--full-auto', '{prompt}'],
  gemini: ['gemini', '--yolo', '-p', '{prompt}'],
  aider: ['aider', '--yes-always', '--no-auto-commits', '--message', '{prompt}'],
  'cursor-agent': ['cursor-agent', '-p', '--force', '{prompt}'],
  'tapps-agents': ['python', '-m', 'tapps_agents.cli', '{agent}', '{action}'],
};

/**
 * The agent names of TappsCodingAgents workflow files. A file that uses them without defining
 * them under `agents:` runs them through the `tapps-agents` preset, so such files load as they are.
 */
export const TAPPS_AGENT_NAMES: readonly string[] = [
  'analyst',
  'architect',
  'debugger',
  'designer',
  'documenter',
  'enhancer',
  'implementer',
  'improver',
  'ops',
  'orchestrator',
  'planner',
  'reviewer',
  'tester',
];

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
 * (settings), which take precedence over the TappsCodingAgents defaults.
 */
export function resolveInvocation(
  workflow: Workflow,
  step: Step,
  values: Readonly<Record<Placeholder, string>>,
  configured: Readonly<Record<string, readonly string[]>> = {},
): AgentInvocation {
  if (step.agent === SHELL_AGENT) {
    return { argv: ['sh', '-c', step.run ?? ''], env: step.env ?? {} };
  }
  const defined = workflow.agents[step.agent];
  const template =
    defined?.command ??
    (defined?.preset ? PRESET_COMMANDS[defined.preset] : undefined) ??
    configured[step.agent] ??
    PRESET_COMMANDS['tapps-agents'];
  const argv = template.map((arg) =>
    arg.replace(/\{([A-Za-z_]+)\}/g, (whole, name: string) => (name in values ? values[name as Placeholder] : whole)),
  );
  return { argv, env: { ...(defined?.env ?? {}), ...(step.env ?? {}) } };
}
