import { quoted } from './describeIssue';

/**
 * The commands of the `tapps-agents` executable (TappsCodingAgents), by agent: the subcommands
 * its argument parser defines (`tapps_agents/cli/parsers/<agent>.py`), `help` left out. A step run
 * through the `tapps-agents` preset becomes `tapps-agents <agent> <command>`.
 */
export const TAPPS_AGENT_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  analyst: ['gather-requirements', 'stakeholder-analysis', 'tech-research', 'estimate-effort', 'assess-risk', 'competitive-analysis'],
  architect: ['design-system', 'architecture-diagram', 'tech-selection', 'design-security', 'define-boundaries', 'detect-patterns'],
  'cleanup-agent': ['analyze', 'plan', 'execute', 'run'],
  debugger: ['debug', 'analyze-error', 'trace'],
  designer: ['api-design', 'data-model-design', 'ui-ux-design', 'wireframes', 'design-system'],
  documenter: ['document', 'generate-docs', 'update-readme', 'update-docstrings'],
  enhancer: ['enhance', 'enhance-quick', 'enhance-stage'],
  evaluator: ['evaluate', 'evaluate-workflow', 'submit-feedback', 'get-feedback', 'list-feedback'],
  implementer: ['implement', 'generate-code', 'refactor'],
  improver: ['refactor', 'optimize', 'improve-quality'],
  ops: ['security-scan', 'compliance-check', 'deploy', 'infrastructure-setup', 'audit-dependencies', 'audit-bundle'],
  orchestrator: [
    'workflow-list',
    'workflow-start',
    'workflow-status',
    'workflow-next',
    'workflow-skip',
    'workflow-resume',
    'workflow',
    'gate',
  ],
  planner: ['plan', 'create-story', 'list-stories'],
  reviewer: ['review', 'score', 'lint', 'type-check', 'report', 'duplication', 'analyze-project', 'analyze-services', 'docs'],
  tester: ['test', 'generate-tests', 'run-tests'],
};

/**
 * Workflow action names that are not the name of a command, and the command they stand for: the
 * parser's own aliases (`design`, `document-api`), and the actions of TappsCodingAgents workflow
 * files as its own workflow engine maps them (`tapps_agents/workflow/skill_invoker.py`,
 * `COMMAND_MAPPING`), where the command it maps to exists in the CLI. Keys are normalized as
 * `normalizedAction` does.
 */
const ACTION_COMMANDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  architect: { design: 'design-system' },
  designer: { 'design-api': 'api-design' },
  documenter: { 'document-api': 'generate-docs' },
  enhancer: { 'enhance-prompt': 'enhance' },
  implementer: { 'write-code': 'implement', fix: 'implement' },
  improver: { improve: 'improve-quality' },
  planner: { 'create-stories': 'plan' },
  reviewer: { 'review-code': 'review' },
  tester: { 'write-tests': 'test' },
};

/** An action as the CLI spells commands: lower case, `-` between words, no `*` in front (`*review`, `Review_Code`). */
function normalizedAction(action: string): string {
  return action.trim().toLowerCase().replace(/^\*/, '').replace(/_/g, '-');
}

/** The answer of `tappsCommand`: the command, or why there is none, in a user's words. */
export type TappsCommand = { readonly command: string } | { readonly problem: string };

/** The `tapps-agents` command that runs `action` of `agent`, or why there is none. */
export function tappsCommand(agent: string, action: string): TappsCommand {
  const commands = Object.hasOwn(TAPPS_AGENT_COMMANDS, agent) ? TAPPS_AGENT_COMMANDS[agent] : undefined;
  if (!commands) {
    return {
      problem: `tapps-agents has no agent "${agent}"; its agents are: ${Object.keys(TAPPS_AGENT_COMMANDS).join(', ')}. Name one of them as the step's agent, or give agent "${agent}" a command of its own under "agents:"`,
    };
  }
  const wanted = normalizedAction(action);
  // Own keys only: an action named "constructor" must not find Object's.
  const aliases = Object.hasOwn(ACTION_COMMANDS, agent) ? ACTION_COMMANDS[agent] : {};
  const command = commands.includes(wanted) ? wanted : Object.hasOwn(aliases, wanted) ? aliases[wanted] : undefined;
  if (command) return { command };
  const what = action.trim() === '' ? 'the step has no action' : `it has no command for action ${quoted(action)}`;
  return {
    problem: `agent "${agent}" of tapps-agents cannot run this step: ${what}; the commands of "${agent}" are: ${commands.join(', ')}. Use one of them as the step's "action", or give agent "${agent}" a command of its own under "agents:"`,
  };
}
