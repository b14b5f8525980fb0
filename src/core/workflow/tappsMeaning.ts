import * as z from 'zod/mini';
import { PRESET_COMMANDS, SHELL_AGENT, TAPPS_AGENT_NAMES, templateOf } from './agents';
import { quoted } from './describeIssue';
import type { DataPath, LayoutNote } from './fileLayout';
import { WorkflowGateSchema, type OutcomeGate, type Step, type StepSchema, type Workflow, type WorkflowSchema } from './schema';
import { tappsCommand } from './tappsCommands';

type ParsedWorkflow = z.infer<typeof WorkflowSchema>;
type ParsedStep = z.infer<typeof StepSchema>;

/** The workflow with what Tapps Flow derives from TappsCodingAgents keys, and what to tell the user about them. */
export interface Meaning {
  readonly workflow: Workflow;
  /** Errors, at paths of the canonical data (`workflow.steps[…]`). */
  readonly problems: readonly LayoutNote[];
  /** Warnings, at paths of the canonical data. */
  readonly warnings: readonly LayoutNote[];
}

/** `condition:` values: TappsCodingAgents' own three, and `mandatory`, which one of its packaged files uses for `required`. */
const REQUIRED = new Set(['required', 'mandatory']);

/** Gate keywords of TappsCodingAgents' `on_pass` / `on_fail`: the step's `next`, or the step again. */
const GATE_KEYWORDS = new Set(['next', 'retry']);

/** What a gate's status word means here. Their engine records `completed` / `failed`; their files write `success`. */
const STATUS_WORDS: Readonly<Record<string, OutcomeGate['status']>> = {
  success: 'succeeded',
  succeeded: 'succeeded',
  successful: 'succeeded',
  completed: 'succeeded',
  complete: 'succeeded',
  passed: 'succeeded',
  failed: 'failed',
  failure: 'failed',
};

/** `<step>.status == "<word>"`, with or without quotes; the step id may hold dots. */
const OUTCOME_CONDITION = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\.status\s*==\s*(["']?)([A-Za-z_]+)\2\s*$/;

/**
 * What TappsCodingAgents keys mean here:
 * - `condition: optional` makes the step optional (`Step.optional`); `required`/`mandatory` are
 *   the default; `conditional` and unknown values are run as required, with a warning.
 * - A workflow gate `<step>.status == "success"` (or `"failed"`) becomes a gate on that step's
 *   outcome (`Step.continueIf`); any other condition is kept and not honoured, with a warning.
 * - A step's `gate` (its agent's quality verdict, and where their engine goes next) is kept; the
 *   step passes or fails by its agent's exit code, so the parts that cannot be honoured (the
 *   condition, going back to an earlier step) are named in a warning.
 * - `repeats: true` is not honoured (each step runs once), with a warning.
 * - `optional_steps` and gate targets must name steps of the workflow, as their parser requires.
 * - A step run through the `tapps-agents` preset whose action has no command gets a warning: it
 *   would fail when it runs.
 */
export function tappsMeaning(
  parsed: ParsedWorkflow,
  stepExtras: ReadonlyMap<number, Record<string, unknown>>,
  workflowExtra: Record<string, unknown> | undefined,
  configured: Readonly<Record<string, readonly string[]>> = {},
): Meaning {
  const problems: LayoutNote[] = [];
  const warnings: LayoutNote[] = [];
  const ids = new Set(parsed.steps.map((s) => s.id));
  const gatesOf = outcomeGates(parsed.gates ?? [], ids, warnings);
  const commandless = new Map<string, { path: DataPath; step: string; problem: string; others: number }>();
  const steps = parsed.steps.map((step, i): Step => {
    const at = (...rest: PropertyKey[]): DataPath => ['workflow', 'steps', i, ...rest];
    const continueIf = gatesOf.get(step.id) ?? [];
    const optional = stepIsOptional(step, continueIf, at('condition'), warnings);
    if (step.gate) stepGate(step, ids, at('gate'), problems, warnings);
    if (step.repeats === true)
      warnings.push({
        path: at('repeats'),
        message: `step "${step.id}": "repeats: true" is not honoured: Tapps Flow runs each step once per run`,
      });
    step.optional_steps?.forEach((name, k) => {
      if (!ids.has(name)) problems.push({ path: at('optional_steps', k), message: `step "${step.id}": ${unknownStep(name, ids)}` });
    });
    const missing = missingTappsCommand(step, parsed, configured);
    if (missing) {
      // One warning per agent and action, at its first step: a file's seven steps of one action would repeat it seven times.
      const key = `${step.agent}\0${step.action ?? ''}`;
      const seen = commandless.get(key);
      if (seen) seen.others++;
      else commandless.set(key, { path: at(step.action === undefined ? 'agent' : 'action'), step: step.id, problem: missing, others: 0 });
    }
    const extra = stepExtras.get(i);
    return { ...step, optional, continueIf, ...(extra ? { extra } : {}) };
  });
  for (const { path, step, problem, others } of commandless.values()) {
    const also = others > 0 ? `, and so will ${others} more step${others > 1 ? 's' : ''} with the same agent and action` : '';
    warnings.push({ path, message: `step "${step}" will fail when it runs${also}: ${problem}` });
  }
  return { workflow: { ...parsed, steps, ...(workflowExtra ? { extra: workflowExtra } : {}) }, problems, warnings };
}

function stepIsOptional(step: ParsedStep, continueIf: readonly OutcomeGate[], at: DataPath, warnings: LayoutNote[]): boolean {
  const condition = step.condition;
  if (condition === undefined || REQUIRED.has(condition)) return false;
  if (condition === 'optional') {
    if (continueIf.length === 0) return true;
    warnings.push({
      path: at,
      message: `step "${step.id}": "condition: optional" is not honoured: gate ${quoted(continueIf[0].name)} stops the run unless the step ${continueIf[0].status === 'succeeded' ? 'succeeds' : 'fails'}`,
    });
    return false;
  }
  warnings.push({
    path: at,
    message:
      condition === 'conditional'
        ? `step "${step.id}": "condition: conditional" is not honoured: the format gives no condition to evaluate, so the step always runs, as a required step; use "optional" if its failure must not stop the steps after it`
        : `step "${step.id}": unknown condition ${quoted(condition)}; expected required, optional or conditional; the step is run as required`,
  });
  return false;
}

/**
 * Checks a step's gate: its targets must be steps (or `next`/`retry`), and what Tapps Flow cannot
 * do of it is said in one warning. Tapps Flow judges the step by its agent's exit code (the
 * `tapps-agents` CLI exits non-zero when its quality gate fails), and runs the steps after it only
 * when it succeeds: a gate whose `on_pass` is the step's `next` and that has no `on_fail` is
 * honoured as it is.
 */
function stepGate(step: ParsedStep, ids: ReadonlySet<string>, at: DataPath, problems: LayoutNote[], warnings: LayoutNote[]): void {
  const gate = step.gate!;
  let bad = false;
  for (const key of ['on_pass', 'on_fail'] as const) {
    const target = gate[key];
    if (target !== undefined && !ids.has(target) && !GATE_KEYWORDS.has(target)) {
      problems.push({
        path: [...at, key],
        message: `step "${step.id}": gate ${key}: ${unknownStep(target, ids, ' or "next" or "retry"')}`,
      });
      bad = true;
    }
  }
  if (bad) return;
  const unhonoured: string[] = [];
  if (gate.condition !== undefined && gate.condition.trim() !== '')
    unhonoured.push(`Tapps Flow does not evaluate its condition ${quoted(gate.condition)}`);
  if (gate.on_fail !== undefined)
    unhonoured.push(
      gate.on_fail === 'retry' || gate.on_fail === step.id
        ? 'it does not run the step again when the gate fails'
        : `it does not go back to step "${gate.on_fail}" when the gate fails`,
    );
  if (gate.on_pass !== undefined && gate.on_pass !== 'next' && !step.next.includes(gate.on_pass))
    unhonoured.push(`it does not go on to step "${gate.on_pass}" when the gate passes, unless "${gate.on_pass}" is in the step's "next"`);
  if (unhonoured.length === 0) return;
  warnings.push({
    path: at,
    message: `step "${step.id}": its gate is not honoured here: ${unhonoured.join('; ')}. Each step runs once: it passes or fails by its agent's exit code, and when it fails, the steps after it are skipped`,
  });
}

/**
 * The workflow gates on step outcomes, by step; a gate that cannot be honoured is kept in the
 * workflow (`gates`), with a warning.
 */
function outcomeGates(
  gates: NonNullable<ParsedWorkflow['gates']>,
  ids: ReadonlySet<string>,
  warnings: LayoutNote[],
): Map<string, OutcomeGate[]> {
  const known = new Set(Object.keys(WorkflowGateSchema.shape));
  const byStep = new Map<string, OutcomeGate[]>();
  gates.forEach((gate, g) => {
    const at = (...rest: PropertyKey[]): DataPath => ['workflow', 'gates', g, ...rest];
    const name = gate.name ?? gate.condition ?? `${g + 1}`;
    const shown = quoted(name);
    for (const key of Object.keys(gate))
      if (!known.has(key)) warnings.push({ path: at(), key, message: `gate ${shown}: ${quoted(key)} is kept but not used` });
    if (gate.condition === undefined) {
      warnings.push({ path: at(), message: `gate ${shown} has no condition; it is not honoured` });
      return;
    }
    const match = OUTCOME_CONDITION.exec(gate.condition);
    const status = match ? STATUS_WORDS[match[3].toLowerCase()] : undefined;
    if (!match || !status) {
      warnings.push({
        path: at('condition'),
        message: `gate ${shown} is not honoured: Tapps Flow can honour only a condition on a step's outcome, like: <step>.status == "success" (or "failed")`,
      });
      return;
    }
    const step = match[1];
    if (!ids.has(step)) {
      warnings.push({ path: at('condition'), message: `gate ${shown} is not honoured: ${unknownStep(step, ids)}` });
      return;
    }
    const message = gate.message ?? `gate ${shown} needs step "${step}" to ${status === 'succeeded' ? 'succeed' : 'fail'}`;
    const list = byStep.get(step) ?? [];
    list.push({ name, status, message });
    byStep.set(step, list);
  });
  return byStep;
}

/**
 * Why a step run through the `tapps-agents` preset would fail for want of a command, or undefined.
 * Only steps whose agent resolves to the preset, as `resolveInvocation` resolves it (the
 * workflow's own agents and the host's come first); an unknown agent is an error of its own.
 */
function missingTappsCommand(
  step: ParsedStep,
  workflow: ParsedWorkflow,
  configured: Readonly<Record<string, readonly string[]>>,
): string | undefined {
  if (step.agent === SHELL_AGENT || (!TAPPS_AGENT_NAMES.includes(step.agent) && !Object.hasOwn(workflow.agents, step.agent)))
    return undefined;
  const defined = Object.hasOwn(workflow.agents, step.agent) ? workflow.agents[step.agent] : undefined;
  const own = Object.hasOwn(configured, step.agent) ? configured[step.agent] : undefined;
  if (templateOf(defined, own) !== PRESET_COMMANDS['tapps-agents']) return undefined;
  const found = tappsCommand(step.agent, step.action ?? '');
  return 'problem' in found ? found.problem : undefined;
}

function unknownStep(name: string, ids: ReadonlySet<string>, or = ''): string {
  const listed = ids.size <= 30 ? `one of: ${[...ids].join(', ')}${or}` : `the id of a step of this workflow${or}`;
  return `unknown step ${quoted(name)}; expected ${listed}`;
}
