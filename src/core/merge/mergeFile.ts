import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Repository } from '../git/repository';
import { scratchPath } from '../git/scratch';
import { removeRetrying } from '../util/paths';

/** The three versions of a conflicted file, as blob ids; null where the file is absent in that version. */
export interface ConflictVersions {
  readonly base: string | null;
  readonly ours: string | null;
  readonly theirs: string | null;
}

/** How `mergeFileText` writes its conflicts. */
export interface MergeFileOptions {
  /** The labels of the two sides' markers, ours first: the names of the two steps. */
  readonly labels: readonly [string, string];
  /** Also write the base's lines of each conflict, between `|||||||` and `=======`. @default false */
  readonly diff3?: boolean;
  readonly signal?: AbortSignal;
}

/** A conflicted file merged as far as git can. */
export interface MergedText {
  /** The changes that combine, combined; each conflicting hunk alone between markers. */
  readonly text: string;
  /** How many conflicting hunks it has (git counts at most 127). */
  readonly conflicts: number;
}

// `git merge-file` exits with the number of conflicts, capped at 127; an error is a negative
// status (255): anything from 1 to 127 is an answer.
const CONFLICT_COUNTS = Array.from({ length: 127 }, (_, i) => i + 1);

/**
 * The merged text of a conflicted file as `git merge-file` writes it: what the two versions change
 * in different places is combined, and only the hunks they both change are marked, labelled with
 * the steps' names (`<<<<<<< auth-rename` … `>>>>>>> api-docs`). git 2.39's merge-file takes
 * files, not blob ids (`--object-id` came in 2.43), so the three blobs are written to a folder of
 * the engine's scratch space first, and removed after.
 */
export async function mergeFileText(
  repo: Pick<Repository, 'commonDir' | 'git'>,
  versions: ConflictVersions,
  options: MergeFileOptions,
): Promise<MergedText> {
  const { signal } = options;
  const dir = await scratchPath(repo, 'merge-file');
  await mkdir(dir);
  try {
    const files = { ours: path.join(dir, 'ours'), base: path.join(dir, 'base'), theirs: path.join(dir, 'theirs') };
    await Promise.all(
      (['ours', 'base', 'theirs'] as const).map(async (side) => {
        const blob = versions[side];
        await writeFile(files[side], blob === null ? '' : await repo.git.runBuffer(['cat-file', 'blob', blob], { signal }));
      }),
    );
    const [ours, theirs] = options.labels;
    const { stdout, exitCode } = await repo.git.exec(
      [
        'merge-file',
        '-p',
        ...(options.diff3 ? ['--diff3'] : []),
        '-L',
        ours,
        '-L',
        'base',
        '-L',
        theirs,
        files.ours,
        files.base,
        files.theirs,
      ],
      { okExitCodes: CONFLICT_COUNTS, signal },
    );
    return { text: stdout, conflicts: exitCode };
  } finally {
    await removeRetrying(dir, { recursive: true, force: true });
  }
}

// Marker lines, matched without their line terminator.
const START = /^<{7}(?:[ \t]|$)/;
const BASE = /^\|{7}(?:[ \t]|$)/;
const MIDDLE = /^={7}$/;
const END = /^>{7}(?:[ \t]|$)/;

const linesOf = (text: string): string[] => text.split(/\r?\n/);

/**
 * Whether a text still holds conflict markers: a line that opens (`<<<<<<<`) or closes
 * (`>>>>>>>`) a conflict. A lone `=======` does not count: it underlines a Markdown heading.
 */
export function hasConflictMarkers(text: string): boolean {
  return linesOf(text).some((line) => START.test(line) || END.test(line));
}

/**
 * A diff3-style merged text (`mergeFileText` with `diff3`) with each conflict replaced by its base
 * lines: what a merge that kept neither step's change in the conflicting hunks looks like, which
 * is what VS Code's merge editor saves when completed "with conflicts". `undefined` when the
 * markers do not parse (a conflict without its base part, or unclosed).
 */
export function withBaseInConflicts(diff3Text: string): string | undefined {
  const out: string[] = [];
  let state: 'outside' | 'ours' | 'base' | 'theirs' = 'outside';
  for (const line of diff3Text.split(/(?<=\n)/)) {
    const bare = line.replace(/\r?\n$/, '');
    if (state === 'outside') {
      if (START.test(bare)) state = 'ours';
      else out.push(line);
    } else if (state === 'ours') {
      if (BASE.test(bare)) state = 'base';
      else if (MIDDLE.test(bare)) return undefined;
    } else if (state === 'base') {
      if (MIDDLE.test(bare)) state = 'theirs';
      else out.push(line);
    } else if (END.test(bare)) state = 'outside';
  }
  return state === 'outside' ? out.join('') : undefined;
}

/** The 0-based line of each conflict's opening marker. */
export function conflictMarkerLines(text: string): number[] {
  return linesOf(text).flatMap((line, i) => (START.test(line) ? [i] : []));
}
