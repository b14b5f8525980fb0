import path from 'node:path';
import { openRepository } from '../core/git/repository';
import { planRun } from '../core/run/plan';
import { EXIT } from '../core/run/runReport';
import type { SetupPlan } from '../core/setup/plan';
import { resolveSetup } from '../core/setup/resolvePlan';
import type { SetupMode } from '../core/workflow/schema';
import { clean, displayPath } from './words';

/**
 * `tapps-flow setup --explain [<workflow.yaml>]`: the setup each step's worktree would get, and
 * where each part of it comes from; nothing is run or written.
 */
export async function explainSetup(options: {
  readonly workflow?: string;
  readonly repo?: string;
  readonly setup?: SetupMode;
  readonly json: boolean;
}): Promise<number> {
  let root: string;
  let plan: SetupPlan;
  if (options.workflow) {
    const planned = await planRun({ workflowFile: options.workflow, repoDir: options.repo, setup: options.setup });
    root = planned.repo.root;
    plan = planned.setup.plan;
  } else {
    const repo = await openRepository(options.repo ?? process.cwd());
    root = repo.root;
    plan = (await resolveSetup(repo, { mode: options.setup ?? 'auto' })).plan;
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ repo: root, workflow: options.workflow ?? null, ...plan }, null, 2)}\n`);
    return EXIT.succeeded;
  }
  const header = `Setup of each step's worktree in ${displayPath(root)}${options.workflow ? ` for ${displayPath(path.resolve(options.workflow))}` : ''}:`;
  process.stdout.write(`${[header, ...explanation(plan)].join('\n')}\n`);
  return EXIT.succeeded;
}

/** The plan in words, one part a line, each with the file it came from. */
export function explanation(plan: SetupPlan): string[] {
  const lines: string[] = [];
  const from = (origin: string) => `   (from ${origin})`;
  if (plan.copy.length + plan.symlink.length + plan.commands.length === 0)
    lines.push('  nothing: steps start from a plain checkout of the base.');
  if (plan.copy.length > 0) {
    lines.push('  copied from the main checkout (ignored files):');
    for (const p of plan.copy)
      lines.push(`    ${clean(p.path)}${p.secret ? ' — a secret: never in a result, its values masked in logs' : ''}${from(p.origin)}`);
  }
  if (plan.symlink.length > 0) {
    lines.push("  linked to the main checkout's own:");
    for (const p of plan.symlink) lines.push(`    ${clean(p.path)}${from(p.origin)}`);
  }
  if (plan.commands.length > 0) {
    lines.push(`  run one after another in the worktree (sh -c), within ${plan.timeoutSeconds} s:`);
    for (const c of plan.commands) lines.push(`    $ ${clean(c.command)}${from(c.origin)}`);
  }
  const env = Object.keys(plan.env).sort();
  if (env.length > 0) lines.push(`  with ${env.join(', ')} set`);
  if (plan.commands.length > 0 && plan.dependencies.folders.length > 0) {
    const keyed = plan.dependencies.keyFiles.length > 0 ? `, ${plan.dependencies.keyFiles.map(clean).join(', ')}` : '';
    lines.push(
      `  the ignored folders they install (${plan.dependencies.folders.map(clean).join(', ')}) are shared between worktrees`,
      `    whose commands, lockfiles and manifests${keyed} and platform are the same (settings.dependency_sharing)`,
    );
  }
  if (plan.notes.length > 0) {
    lines.push('Not used:');
    for (const n of plan.notes) lines.push(`  ${n.origin}: ${clean(n.message)}`);
  }
  return lines;
}
