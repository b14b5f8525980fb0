import path from 'node:path';
import { headCommit } from '../git/base';
import { openRepository, type Repository } from '../git/repository';
import { defaultWorktreeRoot } from '../git/worktrees';
import { TappsError } from '../util/errors';
import { idProblem } from '../util/ids';
import { isInside, relativeInside } from '../util/paths';
import { containsFromFileList } from '../workflow/graph';
import { loadWorkflowFile, type LoadedWorkflow } from '../workflow/loadWorkflow';
import { newRunId, type RunOptions } from './options';
import { resolveSetup, type ResolvedSetup } from '../setup/resolvePlan';
import type { RemoteSetup } from '../remote/openRemote';
import { effectiveSettings, withSandboxSupport, type EffectiveSettings } from './settings';

/** A run checked from end to end before anything is written: the repository, the id, the workflow, the settings. */
export interface RunPlan {
  readonly repo: Repository;
  readonly runId: string;
  /** The workflow file, absolute. */
  readonly workflowFile: string;
  /** How the run records it: relative to the repository when inside it, else absolute. */
  readonly recordedFile: string;
  readonly loaded: LoadedWorkflow;
  readonly settings: EffectiveSettings;
  /** The setup of each step's worktree, read from the workflow and the repository's files. */
  readonly setup: ResolvedSetup;
  /** The queue and the team remote, when the steps run on workers. */
  readonly remote?: RemoteSetup;
}

/**
 * Plans a run, writing nothing: a workflow file with problems, a bad id or a bad setting is refused
 * before the base is captured (no git object, no ref, no state folder). The workflow's `requires`
 * are checked against the files the base would hold now: tracked and untracked, not ignored, not
 * deleted.
 */
export async function planRun(options: RunOptions): Promise<RunPlan> {
  const workflowFile = path.resolve(options.workflowFile);
  const repo = await openRepository(options.repoDir ?? path.dirname(workflowFile));
  await headCommit(repo); // a repository without commits is refused before the run's watch or lock writes anything
  const now = options.now ?? (() => new Date());
  const runId = options.runId ?? newRunId(now());
  const problem = idProblem('run', runId);
  if (problem) throw new TappsError('invalid-run-id', problem);
  const loaded = await loadWorkflowFile(workflowFile, {
    baseContains: await currentFiles(repo),
    configuredAgents: options.defaults?.agents,
  });
  const settings = withSandboxSupport(
    effectiveSettings(
      loaded.workflow.settings,
      options.defaults ?? {},
      {
        maxParallel: options.maxParallel,
        sequential: options.sequential,
        isolation: options.isolation,
        setup: options.setup,
        runner: options.runner,
      },
      defaultWorktreeRoot(repo),
    ),
  );
  checkWorktreeRoot(repo, settings.worktreeRoot);
  const setup = await resolveSetup(repo, {
    mode: settings.setup,
    workflow: loaded.workflow.setup,
    editorIncludeFiles: options.defaults?.worktreeIncludeFiles,
  });
  // Last: the only check that opens a connection, left open for the run.
  const remote = settings.runner === 'queue' ? await openRemoteLazily(repo, options.defaults ?? {}) : undefined;
  return {
    repo,
    runId,
    workflowFile,
    recordedFile: recordedPath(repo, workflowFile),
    loaded,
    settings: remote ? { ...settings, queueRemote: remote.remote.display } : settings,
    setup,
    ...(remote ? { remote } : {}),
  };
}

/** The files a base captured now would hold, as a lookup (see `containsFromFileList`). */
async function currentFiles(repo: Repository): Promise<(p: string) => boolean> {
  // One listing, tagged: H tracked, R deleted from the work tree, ? untracked and not ignored.
  const listed = (await repo.git.run(['ls-files', '-z', '-t', '--cached', '--deleted', '--others', '--exclude-standard']))
    .split('\0')
    .filter((record) => record.length > 2);
  const gone = new Set(listed.filter((r) => r.startsWith('R ')).map((r) => r.slice(2)));
  return containsFromFileList(
    listed
      .filter((r) => !r.startsWith('R ') && !gone.has(r.slice(2)))
      .map((r) => r.slice(2))
      .join('\0'),
  );
}

/** A workflow file inside the repository is recorded by its repository path, one outside by its absolute path. */
export function recordedPath(repo: Repository, file: string): string {
  return relativeInside(repo.root, file) ?? file;
}

/**
 * Step worktrees go outside the user's working tree (they must not show up in it, nor in its
 * file watchers): a configured folder inside the repository is refused, unless it is in the git
 * directory, where the default one lives.
 */
function checkWorktreeRoot(repo: Repository, root: string): void {
  if (isInside(root, repo.root) && !isInside(root, repo.commonDir)) {
    throw new TappsError(
      'invalid-setting',
      `The worktree folder ${root} is inside the repository ${repo.root}; step worktrees must be outside it. Change tappsFlow.worktreeRoot to a folder elsewhere (or leave it empty).`,
    );
  }
}

/**
 * `openRemote`, loaded when a run uses the queue: the queue's client (BullMQ, ioredis) takes more
 * time to load than a whole local command, which no other command should pay.
 */
export async function openRemoteLazily(
  repo: Repository,
  given: { readonly queueUrl?: string; readonly queueRemote?: string },
): Promise<RemoteSetup> {
  const { openRemote } = await import('../remote/openRemote');
  return openRemote(repo, given);
}
