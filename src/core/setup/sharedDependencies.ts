import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { worktreeGit, type RetainedFolders, type StepWorktree } from '../git/worktrees';
import type { Repository } from '../git/repository';
import type { StepProcessContext } from '../run/stepProcess';
import { fingerprint, foldersUnchanged, removeInside } from '../util/folders';
import { listed } from '../util/words';
import { bringFolder, dependencyFolders, dependencyKey, holdsText, strategyOf } from './dependencies';
import { DependencyStore, type KeptDependencies } from './dependencyStore';
import type { DependencySharing } from '../workflow/schema';
import type { SetupPlan } from './plan';
import type { SetupOutcome } from './setUpWorktree';
import { removeRetrying } from '../util/paths';

/** How a setup's commands ended, with what the worktree keeps of its dependencies. */
export interface Shared {
  readonly outcome: SetupOutcome;
  /** Folders of the worktree's own the pool may keep for the next step with the same key. */
  readonly keep?: RetainedFolders;
  /** The key of kept folders the worktree links to (hard or symbolic links): checked after the step. */
  readonly linked?: string;
}

/**
 * Runs a setup's commands, sharing the dependency folders they install (see `dependencies.ts`):
 * - folders a pooled worktree kept from a setup with the same key are used as they are;
 * - else the store's folders for the key are brought in, and the commands skipped when the setup
 *   installs nothing else;
 * - else the commands run, the first worktree of a key alone (the others wait for what it keeps).
 * Folders a pooled worktree kept for another key are deleted first: a step starts as if fresh.
 */
export async function shareDependencies(
  ctx: StepProcessContext,
  plan: SetupPlan,
  base: { readonly tree: string },
  run: () => Promise<SetupOutcome>,
): Promise<Shared> {
  const wt = ctx.worktree;
  const spec = plan.dependencies;
  const store = new DependencyStore(ctx.settings.worktreeRoot);
  const key = await sharingKey(ctx.repo, plan, base, ctx.settings.dependencySharing);
  const strategy = key === undefined ? undefined : await strategyOf(ctx.settings.dependencySharing, store.dir);
  const retained =
    wt.retained && wt.retained.key === key && (await foldersUnchanged(wt.dir, wt.retained.folders)) ? wt.retained : undefined;
  if (wt.retained && !retained) await removeFolders(wt.dir, wt.retained);
  if (!strategy || !key) return { outcome: await run() };
  const names = (folders: readonly { readonly path: string }[]) => listed(folders.map((f) => f.path));

  if (retained) {
    ctx.log.note(`dependencies: ${names(retained.folders)} kept in this worktree from a setup of the same key`);
    if (retained.onlyDependencies && retained.folders.length > 0) {
      ctx.log.note('setup commands not run: they installed only these, for the same lockfiles, commands and platform');
      return { outcome: { status: 'done', warnings: [] }, keep: retained };
    }
    const outcome = await run();
    return { outcome, keep: outcome.status === 'done' ? await keepOf(wt, key, retained.folders, false) : undefined };
  }

  // The first worktree of a key installs, holding it; the others wait, then bring what it kept.
  type Found = { readonly kept: KeptDependencies } | Shared;
  const found = await store
    .exclusive(key, ctx.signal, async (): Promise<Found> => {
      const kept = await store.lookup(key);
      if (kept) return { kept };
      const outcome = await run();
      if (outcome.status !== 'done') return { outcome };
      const folders = await dependencyFolders(worktreeGit(wt), wt.dir, spec);
      // A folder that names its worktree (a venv's scripts) breaks anywhere else: installed per worktree.
      const movable: string[] = [];
      for (const rel of folders) if (!(await holdsText(path.join(wt.dir, ...rel.split('/')), wt.dir))) movable.push(rel);
      const fixed = folders.filter((f) => !movable.includes(f));
      const only = movable.length === folders.length && (await onlyDependencies(wt, plan, base, outcome, folders));
      // Keeping them is a saving, never a condition: the step goes on whatever happens here.
      const published = await store.publish(key, wt.dir, movable, only, strategy).then(
        () => undefined,
        (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error),
      );
      if (published) ctx.log.note(`dependencies: ${listed(movable)} could not be kept for other worktrees (${published})`);
      else if (movable.length > 0)
        ctx.log.note(`dependencies: ${listed(movable)} kept for the next worktrees of the same key (${strategy})`);
      if (fixed.length > 0) ctx.log.note(`dependencies: ${listed(fixed)} name this worktree's folder: installed in each worktree`);
      // Hard-linked into the store, the worktree's own files are the kept ones: checked after the step.
      if (strategy === 'hardlink') return { outcome, ...(movable.length > 0 ? { linked: key } : {}) };
      return {
        outcome,
        keep: await keepOf(
          wt,
          key,
          movable.map((p) => ({ path: p })),
          only,
        ),
      };
    })
    .catch((error: unknown): Shared => {
      // Cancelled while another worktree installed: the step is cancelled, not failed.
      if (ctx.signal.aborted) return { outcome: { status: 'cancelled' } };
      throw error;
    });
  if ('outcome' in found) return found;

  // Brought outside the lock, all steps at once; a folder that fails (the store trimmed meanwhile) is installed instead.
  const { kept } = found;
  const brought: string[] = [];
  for (const folder of kept.folders) {
    const target = path.join(wt.dir, ...folder.path.split('/'));
    if (!(await placeable(wt, folder.path))) continue;
    const done = await bringFolder(store.source(key, folder.path), target, strategy).then(
      () => true,
      async () => {
        await removeRetrying(target, { recursive: true, force: true });
        return false;
      },
    );
    if (done) brought.push(folder.path);
  }
  await store.touch(key);
  const linked = strategy === 'hardlink' || strategy === 'symlink' ? key : undefined;
  if (brought.length > 0) ctx.log.note(`dependencies: ${listed(brought)} brought from an install of the same key (${strategy})`);
  const own = linked ? [] : brought.map((p) => ({ path: p }));
  if (kept.onlyDependencies && kept.folders.length > 0 && brought.length === kept.folders.length) {
    ctx.log.note('setup commands not run: they installed only these, for the same lockfiles, commands and platform');
    return { outcome: { status: 'done', warnings: [] }, keep: await keepOf(wt, key, own, true), linked };
  }
  const outcome = await run();
  return { outcome, keep: outcome.status === 'done' ? await keepOf(wt, key, own, false) : undefined, linked };
}

/** The key of a plan's dependencies at a tree, or undefined when they are not shared (see `dependencyKey`). */
export async function sharingKey(
  repo: Repository,
  plan: SetupPlan,
  base: { readonly tree: string },
  sharing: DependencySharing,
): Promise<string | undefined> {
  if (sharing === 'none' || plan.commands.length === 0 || plan.dependencies.folders.length === 0) return undefined;
  return dependencyKey(repo.git, base.tree, { commands: plan.commands.map((c) => c.command), env: plan.env, spec: plan.dependencies });
}

async function removeFolders(dir: string, retained: RetainedFolders): Promise<void> {
  for (const folder of retained.folders) await removeInside(dir, folder.path);
}

/** What the pool may keep: the folders as they are now (a later change of them, by the step, drops them). */
async function keepOf(
  wt: StepWorktree,
  key: string,
  folders: readonly { readonly path: string }[],
  onlyDependencies: boolean,
): Promise<RetainedFolders | undefined> {
  const recorded = [];
  for (const folder of folders) {
    const digest = await fingerprint(path.join(wt.dir, ...folder.path.split('/')), { ctime: true });
    if (digest) recorded.push({ path: folder.path, fingerprint: digest });
  }
  return recorded.length > 0 ? { key, folders: recorded, onlyDependencies } : undefined;
}

/**
 * Whether a kept folder can be brought into the worktree at its path: nothing there yet, no link
 * or file on the way, and the path ignored and untracked at this worktree's commit.
 */
async function placeable(wt: StepWorktree, rel: string): Promise<boolean> {
  const parts = rel.split('/');
  let folder = wt.dir;
  for (const [i, part] of parts.entries()) {
    folder = path.join(folder, part);
    const stat = await lstat(folder).catch(() => undefined);
    if (i === parts.length - 1 ? stat : stat && (stat.isSymbolicLink() || !stat.isDirectory())) return false;
  }
  const git = worktreeGit(wt);
  if ((await git.run(['ls-files', '-z', '--', rel])) !== '') return false;
  return (await git.exec(['check-ignore', '-q', '--no-index', '--', `${rel}/`], { okExitCodes: [1] })).exitCode === 0;
}

/**
 * Whether the commands' only effect was the dependency folders: no tracked file changed or added,
 * and nothing ignored beside them and the files the setup brought.
 */
async function onlyDependencies(
  wt: StepWorktree,
  plan: SetupPlan,
  base: { readonly tree: string },
  outcome: SetupOutcome,
  folders: readonly string[],
): Promise<boolean> {
  if (outcome.status !== 'done' || (outcome.setupTree !== undefined && outcome.setupTree !== base.tree)) return false;
  const allowed = new Set([...folders, ...plan.copy.map((p) => p.path), ...plan.symlink.map((p) => p.path)]);
  const listing = await worktreeGit(wt).run(['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory']);
  return listing
    .split('\0')
    .filter(Boolean)
    .every((entry) => allowed.has(entry.replace(/\/$/, '')));
}
