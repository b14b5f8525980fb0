/**
 * Observes the engine from the outside while a WorkflowRun runs. `RunOptions` has no hook for a
 * Git observer (the one in src/core/git/git.ts is only reachable through `openRepository`, which
 * `WorkflowRun.prepare` calls itself, and `Worktrees.add` makes its worktree's `Git` without one),
 * so for whole runs the bench wraps the prototypes of `Git` and `Worktrees` for the duration of a
 * measurement and restores them afterwards. Nothing in src/ is changed; the wrappers only read
 * the clock.
 */
import { Git, type GitCall, type GitResult } from '../../src/core/git/git';
import { Worktrees, type StepWorktree } from '../../src/core/git/worktrees';
import { now } from './util';

export interface GitRecord {
  readonly args: readonly string[];
  readonly start: number;
  readonly end: number;
}

export interface WorktreeAddRecord {
  readonly step: string;
  /** When the step asked for its worktree. */
  readonly requested: number;
  /** When the worktree was ready (after waiting for its turn). */
  readonly ready: number;
}

export interface Recording {
  readonly git: GitRecord[];
  readonly adds: WorktreeAddRecord[];
}

let active: Recording | undefined;
let restore: (() => void) | undefined;

/** Starts recording every git call and worktree add the engine makes, until `stopRecording`. */
export function startRecording(): Recording {
  if (restore) throw new Error('already recording');
  const rec: Recording = { git: [], adds: [] };
  active = rec;
  /* eslint-disable @typescript-eslint/unbound-method -- the originals are called with .call(this) and restored as they were */
  const exec = Git.prototype.exec;
  const runBuffer = Git.prototype.runBuffer;
  const add = Worktrees.prototype.add;
  /* eslint-enable @typescript-eslint/unbound-method */
  Git.prototype.exec = async function (this: Git, args: readonly string[], call: GitCall = {}): Promise<GitResult> {
    const start = now();
    try {
      return await exec.call(this, args, call);
    } finally {
      active?.git.push({ args: [...args], start, end: now() });
    }
  };
  Git.prototype.runBuffer = async function (this: Git, args: readonly string[], call: GitCall = {}): Promise<Buffer> {
    const start = now();
    try {
      return await runBuffer.call(this, args, call);
    } finally {
      active?.git.push({ args: [...args], start, end: now() });
    }
  };
  Worktrees.prototype.add = async function (this: Worktrees, stepId: string, commit: string, signal?: AbortSignal): Promise<StepWorktree> {
    const requested = now();
    const result = await add.call(this, stepId, commit, signal);
    active?.adds.push({ step: stepId, requested, ready: now() });
    return result;
  };
  restore = () => {
    Git.prototype.exec = exec;
    Git.prototype.runBuffer = runBuffer;
    Worktrees.prototype.add = add;
  };
  return rec;
}

export function stopRecording(): void {
  restore?.();
  restore = undefined;
  active = undefined;
}

/** Git calls grouped by their subcommand (e.g. `worktree add`, `update-ref`): count and total ms. */
export function summarizeGit(records: readonly GitRecord[]): Record<string, { count: number; totalMs: number }> {
  const out: Record<string, { count: number; totalMs: number }> = {};
  for (const r of records) {
    const key = r.args[0] === 'worktree' ? `worktree ${r.args[1]}` : r.args[0];
    const e = (out[key] ??= { count: 0, totalMs: 0 });
    e.count += 1;
    e.totalMs += r.end - r.start;
  }
  for (const e of Object.values(out)) e.totalMs = Math.round(e.totalMs);
  return out;
}
