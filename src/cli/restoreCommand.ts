import { restoreEscapes, type RestoreOptions } from '../core/escape/restore';
import { EXIT } from '../core/run/runReport';
import { commandName } from './commandName';
import { shellArg } from './words';
import { plural } from '../core/util/words';
import { samePath } from '../core/util/paths';

const print = (text: string) => process.stdout.write(`${text}\n`);

/**
 * `tapps-flow restore <run-id> [--path P]... [--force] [--dry-run]`: puts back the files the run's
 * steps wrote outside their worktrees, and says how to undo what it does not touch (config, refs,
 * hooks). Exits 1 when a file was left alone because it changed again since the escape.
 */
export async function restoreCommand(repoDir: string, runId: string, options: RestoreOptions): Promise<number> {
  const result = await restoreEscapes(repoDir, runId, options);
  const would = options.dryRun ? 'Would ' : '';
  const list = (title: string, paths: readonly string[]) => {
    if (paths.length === 0) return;
    print(title);
    for (const p of paths) print(`  ${p}`);
  };
  list(
    `${would}${would ? 'restore' : 'Restored'} ${plural(result.restored.length, 'file')} as they were before the escape:`,
    result.restored,
  );
  list(`${would}${would ? 'delete' : 'Deleted'} ${plural(result.removed.length, 'file')} the escape created:`, result.removed);
  const repoFlag = samePath(repoDir, process.cwd()) ? '' : ` --repo ${shellArg(repoDir)}`;
  list(
    `Left alone: changed again since the escape (restore them anyway with: ${commandName()} restore ${runId} --force${repoFlag}):`,
    result.changedSince,
  );
  if (result.notRestorable.length > 0) {
    print('Not restorable:');
    for (const n of result.notRestorable) print(`  ${n.path}: ${n.why}`);
  }
  if (result.undo.length > 0) {
    print('Not undone (git config, refs and hooks are never changed by restore; undo them yourself if they are not yours):');
    for (const u of result.undo) print(`  ${u.kind} ${u.path}: ${u.detail}`);
  }
  const nothing =
    result.restored.length + result.removed.length + result.changedSince.length + result.notRestorable.length + result.undo.length;
  if (nothing === 0) print(`Run ${runId} has no escaped file to restore.`);
  return result.changedSince.length > 0 ? EXIT.failed : EXIT.succeeded;
}
