import * as vscode from 'vscode';
import type { Conflict } from '../core/state/events';
import { comparablePath } from '../core/util/paths';
import { mergeFilePath } from './mergedFile';
import type { RunEntry, RunsModel } from './runsModel';

/** A conflict of a run known to the model. */
export interface Found {
  readonly entry: RunEntry;
  readonly conflict: Conflict;
}

/** The conflict of a tree node (`{ runId, index }`), of a merged file's URI, or a conflict already found. */
export function conflictOf(model: RunsModel, arg: unknown): Found | undefined {
  if (isFound(arg)) return arg;
  if (arg instanceof vscode.Uri) return arg.scheme === 'file' ? conflictOfMergeFile(model, arg.fsPath) : undefined;
  const node = arg as { runId?: unknown; index?: unknown } | undefined;
  if (typeof node?.runId !== 'string' || typeof node.index !== 'number') return undefined;
  const entry = model.get(node.runId);
  const conflict = entry?.snapshot.conflicts[node.index];
  return entry && conflict ? { entry, conflict } : undefined;
}

/** The first conflict whose merged file this is (a path resolves all of its conflicts at once). */
export function conflictOfMergeFile(model: RunsModel, file: string): Found | undefined {
  const wanted = comparablePath(file);
  for (const entry of model.list()) {
    const conflict = entry.snapshot.conflicts.find((c) => comparablePath(mergeFilePath(entry, c)) === wanted);
    if (conflict) return { entry, conflict };
  }
  return undefined;
}

export function isFound(arg: unknown): arg is Found {
  return typeof arg === 'object' && arg !== null && 'entry' in arg && 'conflict' in arg;
}
