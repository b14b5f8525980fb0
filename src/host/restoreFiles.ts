import * as vscode from 'vscode';
import { engine } from './lazyEngine';
import type { HostLog } from './log';
import type { RunEntry, RunsModel } from './runsModel';
import { plural } from '../core/util/words';

const shownList = (paths: readonly string[]) =>
  `${paths.slice(0, 8).join(', ')}${paths.length > 8 ? `, and ${paths.length - 8} more` : ''}`;

/**
 * "Restore My Files": puts back the files a run's steps wrote outside their worktrees (see the
 * engine's `restoreEscapes`), after the user confirmed what will be written and deleted. Files the
 * user changed again since are restored only when they say so; config, refs and hooks are never
 * changed: how to undo each goes to the log.
 */
export async function restoreMyFiles(model: RunsModel, log: HostLog, entry: RunEntry): Promise<readonly string[]> {
  const { runId } = entry.snapshot;
  const preview = await engine().restoreEscapes(entry.repoRoot, runId, { dryRun: true });
  for (const u of preview.undo) log.info(`run ${runId}: not undone by restore: ${u.kind} ${u.path}: ${u.detail}`);
  for (const n of preview.notRestorable) log.info(`run ${runId}: cannot restore ${n.path}: ${n.why}`);
  const count = preview.restored.length + preview.removed.length;
  if (count + preview.changedSince.length === 0) {
    const why = preview.undo.length > 0 ? ' The git config, refs or hooks it changed are listed in the log, with how to undo each.' : '';
    void vscode.window
      .showInformationMessage(`Tapps Flow: run ${runId} has no escaped file to restore.${why}`, ...(why ? ['Show Log'] : []))
      .then((choice) => choice === 'Show Log' && log.channel.show(true));
    return [];
  }
  const parts = [
    preview.restored.length > 0
      ? `put back ${plural(preview.restored.length, 'file as it was', 'files as they were')} before (${shownList(preview.restored)})`
      : '',
    preview.removed.length > 0 ? `delete ${plural(preview.removed.length, 'file')} the steps created (${shownList(preview.removed)})` : '',
  ].filter(Boolean);
  const changed =
    preview.changedSince.length > 0
      ? ` ${plural(preview.changedSince.length, 'file')} changed again since (${shownList(preview.changedSince)}): they are left alone unless you choose to include them.`
      : '';
  const RESTORE = 'Restore';
  const EVERYTHING = 'Restore, Including Files Changed Since';
  const choice = await vscode.window.showWarningMessage(
    `Tapps Flow: ${parts.join(' and ') || 'restore nothing'}?${changed}`,
    { modal: true },
    ...(count > 0 ? [RESTORE] : []),
    ...(preview.changedSince.length > 0 ? [EVERYTHING] : []),
  );
  if (choice !== RESTORE && choice !== EVERYTHING) return [];
  const result = await engine().restoreEscapes(entry.repoRoot, runId, { force: choice === EVERYTHING });
  await model.reload(runId);
  const done = [...result.restored, ...result.removed];
  log.info(`run ${runId}: restored ${result.restored.join(', ') || 'nothing'}; deleted ${result.removed.join(', ') || 'nothing'}`);
  const left = result.changedSince.length > 0 ? ` Left alone (changed since): ${shownList(result.changedSince)}.` : '';
  const undo = result.undo.length > 0 ? ' The git config, refs or hooks it changed are in the log, with how to undo each.' : '';
  void vscode.window
    .showInformationMessage(
      `Tapps Flow: restored ${plural(done.length, 'file')} of run ${runId}.${left}${undo}`,
      ...(undo ? ['Show Log'] : []),
    )
    .then((choice) => choice === 'Show Log' && log.channel.show(true));
  return done;
}
