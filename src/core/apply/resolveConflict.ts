import { readFile } from 'node:fs/promises';
import { scratchDir } from '../git/scratch';
import path from 'node:path';
import { fixedIdentityEnv } from '../git/identity';
import type { Git } from '../git/git';
import { editTree, treeEntries, type TreeEdit } from '../git/objects';
import { conflictsJson, conflictsMarkdown, ConflictReportSchema } from '../merge/report';
import { recordAggregate } from '../merge/aggregate';
import { writeFileAtomic } from '../state/atomicWrite';
import type { Finding } from '../state/events';
import { crashPoint } from '../util/crashPoint';
import { TappsError } from '../util/errors';
import { withFinishedRun, type FinishedRun } from './finishedRun';

/** How a conflicted path is resolved: one step's version, or content the user wrote. */
export type Resolution = { readonly take: string } | { readonly content: string };

/**
 * Resolves every conflict of one path and makes the new aggregate. Deterministic: the same
 * resolutions, in the same order, give the same aggregate commit.
 */
export async function resolveConflict(
  repoDir: string,
  runId: string,
  file: string,
  resolution: Resolution,
): Promise<{ commit: string; remaining: number }> {
  return withFinishedRun(repoDir, runId, `resolving ${file}`, (run) => resolveIn(run, file, resolution));
}

async function resolveIn(run: FinishedRun, file: string, resolution: Resolution): Promise<{ commit: string; remaining: number }> {
  const { repo, snapshot } = run;
  const { runId } = snapshot;
  const { git } = repo;
  const conflicts = snapshot.conflicts.filter((c) => c.path === file);
  if (conflicts.length === 0) {
    const open = [...new Set(snapshot.conflicts.map((c) => c.path))];
    throw new TappsError(
      'no-such-conflict',
      `Run ${runId} has no conflict at "${file}"; ${open.length > 0 ? `conflicted paths: ${open.join(', ')}` : 'it has no unresolved conflicts'}.`,
    );
  }
  const current = (await treeEntries(git, snapshot.aggregate.tree, [file])).get(file);
  let edit: TreeEdit;
  let description: string;
  if ('take' in resolution) {
    const steps = [...new Set(conflicts.flatMap((c) => c.steps))];
    const c = conflicts.find((x) => x.steps.includes(resolution.take));
    if (!c)
      throw new TappsError(
        'not-in-conflict',
        `Step "${resolution.take}" is not part of the conflict at "${file}"; expected one of: ${steps.join(', ')}`,
      );
    const blob = c.steps[0] === resolution.take ? c.ours : c.theirs;
    edit = blob === null ? null : { mode: current?.mode ?? '100644', oid: blob };
    description = `take ${resolution.take}`;
  } else {
    edit = { mode: current?.mode ?? '100644', oid: await storedBlob(git, file, current?.mode, resolution.content) };
    description = 'merged by hand';
  }
  const tree = await editTree(git, snapshot.aggregate.tree, new Map([[file, edit]]), scratchDir(repo));
  const message = `${(await git.run(['show', '-s', '--format=%B', snapshot.aggregate.commit])).trimEnd()}\nResolved ${file}: ${description}\n`;
  const commit = await git.line(['commit-tree', tree, '-p', snapshot.base.commit, '-m', message], {
    env: fixedIdentityEnv(snapshot.base.time),
  });
  await recordAggregate(git, runId, commit);
  crashPoint('resolve-ref-written');
  const remaining = snapshot.conflicts.filter((c) => c.path !== file);
  // The new aggregate first: a crash between the two leaves the conflict listed (apply refuses, a
  // resolve again works) and never a run that says resolved while its result is the old one.
  await run.record({ type: 'aggregate_made', commit, tree, partial: snapshot.aggregate.partial, conflicts: remaining.length });
  crashPoint('resolve-aggregate-recorded');
  await run.record({ type: 'conflict_resolved', path: file, resolution: description, blob: edit?.oid ?? null });
  await rewriteReports(
    run.dir,
    snapshot.workflow.name,
    remaining,
    snapshot.aggregate.partial,
    { commit, tree },
    { path: file, resolution: description, blob: edit?.oid ?? null },
    snapshot.findings,
  );
  return { commit, remaining: remaining.length };
}

/**
 * Stores content the user wrote as git would store that file: through the path's filters and
 * line-ending conversion (`--path` picks its attributes), since the user edits the checked-out
 * form (CRLF where `eol=crlf`, smudged where a filter applies) and a result holds the stored form.
 */
function storedBlob(git: Git, file: string, mode: string | undefined, content: string): Promise<string> {
  // A symbolic link's target is stored as it is: filters are for file contents.
  const attributes = mode === '120000' ? ['--no-filters'] : [`--path=${file}`];
  return git.line(['hash-object', '-w', ...attributes, '--stdin'], { input: content });
}

async function rewriteReports(
  dir: string,
  workflowName: string,
  remaining: Parameters<typeof conflictsJson>[0],
  partial: boolean,
  aggregate: { commit: string; tree: string },
  resolved: { path: string; resolution: string; blob: string | null },
  findings: readonly Finding[],
): Promise<void> {
  // The reports are derived from the events (already recorded): damaged ones are rewritten from
  // what is known, never a reason to stop, and each is replaced whole. A resolution changes no
  // step's result: the findings stay as the run recorded them.
  const previous = ConflictReportSchema.safeParse(await readJson(path.join(dir, 'conflicts.json')));
  const decisions = previous.success ? previous.data.decisions : [];
  await writeFileAtomic(path.join(dir, 'conflicts.json'), conflictsJson(remaining, decisions, findings));
  await writeFileAtomic(path.join(dir, 'conflicts.md'), conflictsMarkdown(workflowName, remaining, decisions, partial, findings));
  const manifestFile = path.join(dir, 'manifest.json');
  const read = await readJson(manifestFile);
  const manifest = (typeof read === 'object' && read !== null && !Array.isArray(read) ? read : {}) as Record<string, unknown>;
  const resolutions: unknown[] = Array.isArray(manifest.resolutions) ? (manifest.resolutions as unknown[]) : [];
  const previousAggregate = typeof manifest.aggregate === 'object' && manifest.aggregate !== null ? manifest.aggregate : {};
  manifest.aggregate = { ...previousAggregate, ...aggregate };
  manifest.conflicts = remaining.length;
  manifest.resolutions = [...resolutions, resolved];
  await writeFileAtomic(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** A JSON file's value; undefined when it is missing or not JSON. */
async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}
