import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Files, TempRepo } from './tempRepo';
import { sq, type StepSpec } from './workflowRun';

export interface FileEdits {
  /** Files the step writes (whole contents). */
  readonly write?: Files;
  /** Files the step deletes. */
  readonly remove?: readonly string[];
  /** Files the step moves: [from, to]. */
  readonly move?: ReadonlyArray<readonly [string, string]>;
  /** Seconds to sleep first, to vary completion order. */
  readonly sleep?: number;
}

/**
 * A shell step that makes exactly the given edits: the contents come from a folder outside the
 * repository (so that the workflow file stays small and any bytes, binary included, are exact).
 */
export async function editStep(repo: TempRepo, id: string, edits: FileEdits, extra: Partial<StepSpec> = {}): Promise<StepSpec> {
  const source = path.join(repo.outside, 'edits', id);
  await mkdir(source, { recursive: true });
  for (const [file, content] of Object.entries(edits.write ?? {})) {
    await mkdir(path.dirname(path.join(source, file)), { recursive: true });
    await writeFile(path.join(source, file), content);
  }
  const commands = [
    ...(edits.sleep ? [`sleep ${edits.sleep}`] : []),
    ...(edits.move ?? []).map(([from, to]) => `mkdir -p ${sq(path.posix.dirname(to))} && mv ${sq(from)} ${sq(to)}`),
    ...(edits.remove ?? []).map((file) => `rm ${sq(file)}`),
    `cp -R ${sq(`${source}/.`)} .`,
  ];
  return { id, run: commands.join(' && '), ...extra };
}
