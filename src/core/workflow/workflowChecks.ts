import { didYouMean } from '../util/didYouMean';
import type { WorkflowIssue } from '../util/errors';
import { knownAgents, PLACEHOLDERS, SHELL_AGENT, unknownPlaceholders } from './agents';
import type { IssueAt, Position } from './issues';
import type { CheckedParts } from './lenientWorkflow';
import type { Positions } from './yamlPositions';

/** Agent lists longer than this are not searched for a likely typo (the search is quadratic). */
const SUGGESTED_FROM = 200;

/**
 * The checks of a workflow's steps and agents that the schema cannot make: every step's agent is
 * known, the shell agent has a command and only it has one, and command templates name only
 * known placeholders.
 */
export function agentProblems(
  workflow: CheckedParts,
  configured: Readonly<Record<string, readonly string[]>> | undefined,
  stepAt: (i: number, ...rest: PropertyKey[]) => Position,
  positions: Positions,
  issue: IssueAt,
): WorkflowIssue[] {
  const problems: WorkflowIssue[] = [];
  const agents = knownAgents(workflow, configured);
  const known = new Set(agents);
  workflow.steps.forEach((step, i) => {
    if (step.agent === '') return; // unreadable: the schema reported it
    if (!known.has(step.agent)) {
      const hint = agents.length <= SUGGESTED_FROM ? didYouMean(step.agent, agents) : '';
      problems.push(
        issue(
          stepAt(i, 'agent'),
          `step "${step.id}": unknown agent "${step.agent}"${hint}; expected "shell" or an agent defined under "agents:"`,
        ),
      );
    }
    if (step.agent === SHELL_AGENT && (step.run === undefined || step.run.trim() === '')) {
      problems.push(
        issue(stepAt(i, 'agent'), `step "${step.id}": the shell agent needs a command; expected a "run:" key with the command to run`),
      );
    }
    if (step.agents !== undefined && step.candidates !== undefined) {
      problems.push(
        issue(
          stepAt(i, 'candidates'),
          `step "${step.id}": "candidates" and "agents" both say how many attempts to make; expected one of them (agents: one attempt per agent)`,
        ),
      );
    }
    step.agents?.forEach((name, a) => {
      if (known.has(name)) return;
      const hint = agents.length <= SUGGESTED_FROM ? didYouMean(name, agents) : '';
      problems.push(
        issue(
          stepAt(i, 'agents', a),
          `step "${step.id}": unknown agent "${name}"${hint}; expected "shell" or an agent defined under "agents:"`,
        ),
      );
    });
    if (step.agent !== SHELL_AGENT && step.run !== undefined) {
      problems.push(
        issue(
          stepAt(i, 'run'),
          `step "${step.id}": "run:" is only for the shell agent; expected "prompt:" for agent "${step.agent}", or agent: shell`,
        ),
      );
    }
  });
  for (const [name, agent] of Object.entries(workflow.agents)) {
    agent.command?.forEach((arg, a) => {
      for (const unknown of unknownPlaceholders(arg)) {
        problems.push(
          issue(
            positions.valueAt(['workflow', 'agents', name, 'command', a]),
            `agent "${name}": unknown placeholder {${unknown}}; expected one of ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
          ),
        );
      }
    });
  }
  return problems;
}
