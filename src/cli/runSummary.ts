import { runElapsedMs, type RunSnapshot, type StepSnapshot } from '../core/state/snapshot';
import { commandName } from './commandName';
import { stepCounts, stepRows, statusWord } from './stepRows';
import { clean, displayPath, localTime, shellArg } from './words';
import { formatDuration, listed, plural } from '../core/util/words';
import { checkLines } from './checkLines';
import { relativeInside } from '../core/util/paths';

/** The run's state and how long it ran: "succeeded in 9.8s", "failed after 2.1s", "running for 12.0s". */
export function statusPhrase(snapshot: RunSnapshot, now: number): string {
  const took = formatDuration(runElapsedMs(snapshot, now));
  if (snapshot.status === 'running') return `running for ${took}`;
  return `${statusWord(snapshot.status)} ${['succeeded', 'conflicted', 'checks_failed'].includes(snapshot.status) ? 'in' : 'after'} ${took}`;
}

/** `Run <id> of "<workflow>", started <local time>: <state and time> (<steps by state>)`. */
export function runHeader(snapshot: RunSnapshot, now: number): string {
  return `Run ${snapshot.runId} of "${clean(snapshot.workflow.name)}", started ${localTime(snapshot.startedAt)}: ${statusPhrase(snapshot, now)} (${stepCounts(snapshot.steps)})`;
}

/** The steps whose results the aggregate lacks (as the JSON report's `missing`), in workflow order. */
export function missingSteps(snapshot: RunSnapshot): StepSnapshot[] {
  return snapshot.aggregate ? snapshot.steps.filter((s) => s.status !== 'succeeded') : [];
}

/** "the step a (failed)", "the steps a (cancelled), b (skipped)". */
export function describeSteps(steps: readonly StepSnapshot[]): string {
  return `the ${steps.length === 1 ? 'step' : 'steps'} ${steps.map((s) => `${s.id} (${statusWord(s.status)})`).join(', ')}`;
}

/** A recorded resolution in words: `take auth-rename` → "took auth-rename's version". */
export function resolutionWords(resolution: string): string {
  const take = /^take (\S+)$/.exec(resolution);
  return take ? `took ${take[1]}'s version` : clean(resolution);
}

export interface SummaryOptions {
  /** The run's state folder: step logs are shown under it. */
  readonly stateDir: string;
  readonly now: number;
  /** Whether to list the steps (a terminal's live view already shows them). */
  readonly steps: boolean;
  /** The `--repo` of the commands printed (see `repoOption`); none when undefined. */
  readonly repo: string | undefined;
  /**
   * Whether to say what the user can do next.
   * @default true
   */
  readonly hints?: boolean;
}

/**
 * The `--repo` the commands printed need: the one the user gave, as they gave it; else, when the
 * current folder is outside the run's repository (a workflow file of another repository was
 * run), that repository's path. Undefined when the current folder's repository is the run's.
 */
export function repoOption(given: string | undefined, root: string, cwd = process.cwd()): string | undefined {
  if (given !== undefined) return given;
  return relativeInside(root, cwd) === undefined ? displayPath(root, cwd) : undefined;
}

/** What `run`, `resume` and `status <run-id>` print about a run: its state, steps, result and what to do next. */
export function summaryLines(snapshot: RunSnapshot, options: SummaryOptions): string[] {
  const lines = [runHeader(snapshot, options.now)];
  if (options.steps) lines.push(...stepRows(snapshot, options.stateDir, options.now));
  const missing = missingSteps(snapshot);
  if (snapshot.aggregate) {
    const partial = missing.length > 0 ? ` (partial: it lacks ${describeSteps(missing)})` : snapshot.aggregate.partial ? ' (partial)' : '';
    lines.push(`Aggregate: ${snapshot.aggregate.commit}${partial}`);
  }
  lines.push(...checkLines(snapshot, options.stateDir));
  if (snapshot.conflicts.length > 0) {
    lines.push(`${plural(snapshot.conflicts.length, 'conflict')} to resolve:`);
    for (const c of snapshot.conflicts) lines.push(`  ${clean(c.path)} (${c.kind}): ${c.steps.join(' ↔ ')}`);
  }
  if (snapshot.resolutions.length > 0) {
    lines.push(`${plural(snapshot.resolutions.length, 'conflict')} resolved:`);
    for (const r of snapshot.resolutions) lines.push(`  ${clean(r.path)}: ${resolutionWords(r.resolution)}`);
  }
  for (const f of snapshot.findings)
    lines.push(`  needs your eye, ${f.kind}: ${clean(f.path)} (${f.steps.join(', ')}): ${clean(f.detail)}`);
  const files = snapshot.escapes.filter((e) => e.kind === 'file');
  const left = files.filter((e) => !e.restored).length;
  if (snapshot.escaped) {
    const writes = snapshot.escapes.length + snapshot.escapesUnlisted;
    lines.push(
      `Escaped: the steps wrote outside their worktrees (${plural(writes, 'write')}, listed in conflicts.md; ${files.length - left} of ${plural(files.length, 'file write')} restored).`,
    );
  }
  lines.push(`State: ${displayPath(options.stateDir)}`);
  if (options.hints !== false) lines.push(...nextSteps(snapshot, options.repo, left));
  return lines;
}

/** What the user can do next, each a command that works as printed from where they stand. */
function nextSteps(snapshot: RunSnapshot, repo: string | undefined, unrestored: number): string[] {
  const cli = commandName();
  const id = snapshot.runId;
  const repoFlag = repo === undefined ? '' : ` --repo ${shellArg(repo)}`;
  const lines: string[] = [];
  if (snapshot.escaped && unrestored > 0) lines.push(`Put back the files with: ${cli} restore ${id}${repoFlag}`);
  const { status, conflicts, aggregate } = snapshot;
  if (status === 'running') return lines;
  if (conflicts.length > 0) {
    const first = conflicts[0];
    lines.push(
      `Resolve each conflict with --take STEP (that step's version) or --file FILE (your merge), e.g.: ${cli} resolve ${id} ${shellArg(first.path)} --take ${first.steps[0]}${repoFlag}`,
    );
    return lines;
  }
  if (status === 'failed' || status === 'cancelled' || status === 'interrupted')
    lines.push(`Run the steps that did not succeed again with: ${cli} resume ${id}${repoFlag}`);
  if (status === 'checks_failed' && snapshot.alternative) {
    lines.push(
      `Apply the result without ${listed(snapshot.alternative.leftOut)} (it passes every check) with: ${cli} apply ${id} --alternative${repoFlag}`,
    );
    lines.push(`Or apply the result as it is, failing checks and all, with: ${cli} apply ${id}${repoFlag}`);
    return lines;
  }
  // As the editor offers Apply: only when a step succeeded, so that the result holds some work.
  if (aggregate && status !== 'interrupted' && snapshot.steps.some((s) => s.status === 'succeeded'))
    lines.push(`${missingSteps(snapshot).length > 0 ? 'Apply what the other steps did' : 'Apply it'} with: ${cli} apply ${id}${repoFlag}`);
  return lines;
}
