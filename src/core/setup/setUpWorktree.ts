import { constants as fsConstants } from 'node:fs';
import { cp, lstat, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { writeWorktreeTree } from '../git/capture';
import type { RetainedFolders } from '../git/worktrees';
import { shellArgv } from '../process/shell';
import { tagEnvironment } from '../process/stepProcesses';
import { runStepProcess, type Started, type StepProcessContext } from '../run/stepProcess';
import { removeInside } from '../util/folders';
import type { SetupCommand, SetupPath, SetupPlan } from './plan';
import { shareDependencies } from './sharedDependencies';

/** How a worktree's setup ended. */
export type SetupOutcome =
  | {
      readonly status: 'done';
      /** The worktree's tree after the setup commands: what they changed is not the step's work. */
      readonly setupTree?: string;
      /** Copies and links that could not be made (the step still runs). */
      readonly warnings: readonly string[];
      /** Dependency folders of the worktree's own the pool may keep (see sharedDependencies.ts). */
      readonly keep?: RetainedFolders;
      /** The key of shared folders the worktree links to: checked when the step ends. */
      readonly linked?: string;
    }
  | { readonly status: 'failed' | 'timed_out'; readonly error: string }
  | { readonly status: 'cancelled' };

export interface SetupHooks {
  /** The phase starts (before anything is copied). */
  readonly onPhase: () => void;
  /** A setup command's process has started. */
  readonly onCommand: (command: SetupCommand, started: Started) => void;
}

/** Whether a plan does anything at all. */
export function plansAnything(plan: SetupPlan): boolean {
  return plan.commands.length > 0 || plan.copy.length > 0 || plan.symlink.length > 0;
}

/**
 * Sets up a step's fresh worktree: copies and links the ignored files the plan names from the main
 * checkout, then runs the setup commands one after another (in the step's confinement, with its
 * tag, in its log), within the setup's own time limit.
 */
export async function setUpWorktree(
  ctx: StepProcessContext,
  plan: SetupPlan,
  base: { readonly tree: string },
  hooks: SetupHooks,
): Promise<SetupOutcome> {
  if (!plansAnything(plan)) {
    // Folders a pooled worktree kept are not this run's: it starts as a fresh checkout would.
    for (const folder of ctx.worktree.retained?.folders ?? []) await removeInside(ctx.worktree.dir, folder.path);
    return { status: 'done', warnings: [] };
  }
  hooks.onPhase();
  ctx.log.note('── setup ──');
  const warnings: string[] = [];
  for (const entry of plan.copy) {
    const problem = await bring(ctx.repo.root, ctx.worktree.dir, entry, 'copy');
    if (problem) warnings.push(problem);
    ctx.log.note(
      problem ??
        `copied ${entry.path}${entry.secret ? ' (a secret: never captured, its values masked here)' : ''}   (from ${entry.origin})`,
    );
  }
  for (const entry of plan.symlink) {
    const problem = await bring(ctx.repo.root, ctx.worktree.dir, entry, 'link');
    if (problem) warnings.push(problem);
    ctx.log.note(problem ?? `linked ${entry.path} to the main checkout's   (from ${entry.origin})`);
  }
  const shared = await shareDependencies(ctx, plan, base, () => runCommands(ctx, plan, base, hooks));
  if (shared.outcome.status !== 'done') return shared.outcome;
  ctx.log.note('── agent ──');
  return {
    ...shared.outcome,
    warnings,
    ...(shared.keep ? { keep: shared.keep } : {}),
    ...(shared.linked ? { linked: shared.linked } : {}),
  };
}

/** Runs the setup commands one after another within the setup's time limit. */
async function runCommands(
  ctx: StepProcessContext,
  plan: SetupPlan,
  base: { readonly tree: string },
  hooks: SetupHooks,
): Promise<SetupOutcome> {
  const deadline = Date.now() + plan.timeoutSeconds * 1000;
  for (const command of plan.commands) {
    ctx.log.note(`$ ${command.command}   (from ${command.origin})`);
    const finished = await runStepProcess({ ...ctx, env: { ...ctx.env, ...plan.env } }, shellArgv(command.command), {
      timeoutMs: Math.max(1, deadline - Date.now()),
      onStarted: (started) => hooks.onCommand(command, started),
    });
    const { end } = finished;
    const what = `the setup command ${JSON.stringify(oneLine(command.command))} (from ${command.origin})`;
    if (end.kind === 'cancelled') return { status: 'cancelled' };
    if (end.kind === 'timed_out')
      return {
        status: 'timed_out',
        error: `setup timed out after ${plan.timeoutSeconds} s, in ${what}; raise setup.timeout_seconds, or fix the command`,
      };
    if (end.kind === 'not_started') return { status: 'failed', error: `setup failed: ${what} could not start (${end.reason})` };
    if (end.code !== 0) return { status: 'failed', error: `setup failed: ${what} ${end.how}; see the step's log` };
  }
  if (plan.commands.length === 0) return { status: 'done', warnings: [] };
  // What the commands changed in tracked files (a lockfile rewritten, generated files) is the
  // step's starting point, not its work: its capture leaves it out (see `keepOut`).
  const setupTree = await writeWorktreeTree(
    ctx.repo,
    ctx.worktree.dir,
    { index: path.join(ctx.worktree.entry, 'index'), tree: base.tree },
    tagEnvironment(ctx.tag),
  );
  return { status: 'done', setupTree, warnings: [] };
}

/**
 * Copies (reflinked where the file system can) or links one ignored path of the main checkout into
 * the worktree. Never through a link: a tracked symlink in the worktree (`config -> /etc`) must
 * not carry the copy out of it. Returns why it was not brought, or undefined.
 */
async function bring(root: string, worktree: string, entry: SetupPath, how: 'copy' | 'link'): Promise<string | undefined> {
  const source = path.join(root, ...entry.path.split('/'));
  const target = path.join(worktree, ...entry.path.split('/'));
  const parts = entry.path.split('/');
  let folder = worktree;
  for (const part of parts.slice(0, -1)) {
    folder = path.join(folder, part);
    const stat = await lstat(folder).catch(() => undefined);
    if (stat?.isSymbolicLink()) return `${entry.path} was not brought into the worktree: ${part} is a symbolic link there`;
    if (stat && !stat.isDirectory()) return `${entry.path} was not brought into the worktree: ${part} is a file there`;
    if (!stat) await mkdir(folder);
  }
  if (await lstat(target).catch(() => undefined)) return `${entry.path} was not brought into the worktree: the worktree has it already`;
  if (!(await lstat(source).catch(() => undefined)))
    return `${entry.path} was not brought into the worktree: it is gone from the main checkout`;
  try {
    if (how === 'link') await symlink(source, target);
    else
      await cp(source, target, {
        recursive: true,
        verbatimSymlinks: true,
        errorOnExist: true,
        force: false,
        mode: fsConstants.COPYFILE_FICLONE,
      });
    return undefined;
  } catch (error) {
    return `${entry.path} was not brought into the worktree: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
}

function oneLine(text: string): string {
  const first = text.trim().split('\n')[0];
  return first.length > 120 || text.trim().includes('\n') ? `${first.slice(0, 120)}…` : first;
}
