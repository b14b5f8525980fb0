import { hostname } from 'node:os';
import path from 'node:path';
import { watchResumedCheckout } from '../escape/startWatch';
import { excludeStateFolder, openRepository, type Repository } from '../git/repository';
import { sweepScratch } from '../git/scratch';
import { defaultWorktreeRoot } from '../git/worktrees';
import { worktreeRoots } from '../state/runLocation';
import { RunWriter } from '../state/runWriter';
import type { RunSnapshot } from '../state/snapshot';
import { TappsError } from '../util/errors';
import { containsFromFileList } from '../workflow/graph';
import { loadWorkflowFile } from '../workflow/loadWorkflow';
import type { RunContext } from './runContext';
import type { RunOptions } from './options';
import { EffectiveSettingsSchema, type EffectiveSettings } from './settings';
import { runRef } from './stateDir';
import { resolveSetup } from '../setup/resolvePlan';
import type { RemoteSetup } from '../remote/openRemote';
import { openRemoteLazily } from './plan';
import { removeRetrying, samePath } from '../util/paths';

export interface ResumeOptions {
  readonly repoDir: string;
  readonly runId: string;
  readonly signal?: AbortSignal;
  readonly defaults?: RunOptions['defaults'];
  readonly now?: () => Date;
}

/**
 * Takes over a run that did not finish cleanly (interrupted, failed or cancelled), or that stopped
 * after its last step and before its aggregate: the steps that succeeded keep their results (each
 * checked against the run's refs), the others run again in fresh worktrees from the same bases,
 * and the aggregate is made as usual.
 */
export async function resumeRun(options: ResumeOptions): Promise<RunContext> {
  const repo = await openRepository(options.repoDir);
  const now = options.now ?? (() => new Date());
  const writer = await RunWriter.open(repo, options.runId, 'resuming the run', { now });
  let remote: RemoteSetup | undefined;
  try {
    await excludeStateFolder(repo);
    await sweepScratch(repo);
    const previous = writer.snapshot;
    const done = previous.status === 'succeeded' || previous.status === 'conflicted' || previous.status === 'checks_failed';
    if (done && previous.aggregate && previous.steps.every((s) => s.status === 'succeeded')) {
      throw new TappsError(
        'nothing-to-resume',
        `Run ${options.runId} has nothing to resume: every step succeeded and its result is made (status ${previous.status}).`,
      );
    }
    await checkAgainstRefs(repo, previous);
    const settings = recordedSettings(previous, repo, await worktreeRoots(repo));
    const workflowFile = path.isAbsolute(previous.workflow.file) ? previous.workflow.file : path.join(repo.root, previous.workflow.file);
    const baseContains = containsFromFileList(await repo.git.run(['ls-tree', '-r', '-z', '--name-only', previous.base.tree]));
    const loaded = await loadWorkflowFile(workflowFile, { baseContains, configuredAgents: options.defaults?.agents });
    const before = previous.steps.map((s) => s.id).join(', ');
    const after = loaded.graph.ids.join(', ');
    if (before !== after) {
      throw new TappsError(
        'workflow-changed',
        `The workflow file ${previous.workflow.file} changed since run ${options.runId} started (steps then: ${before}; now: ${after}). Start a new run instead.`,
      );
    }
    // Read again from the files as they are now: the steps that run again are set up as a new run's would be.
    const setup = await resolveSetup(repo, {
      mode: settings.setup,
      workflow: loaded.workflow.setup,
      editorIncludeFiles: options.defaults?.worktreeIncludeFiles,
    });
    // The remote comes from the user (never from the recorded state, which names it for display):
    // a base with uncommitted work must go nowhere the user did not set.
    remote = settings.runner === 'queue' ? await openRemoteLazily(repo, options.defaults ?? {}) : undefined;
    writer.append({ type: 'run_resumed', owner: { pid: process.pid, host: hostname(), startedAt: now().toISOString() } });
    await writer.store.flush();
    // Merged files the user edited for the previous result's conflicts: the new result has its
    // own, and an old merge must never resolve one of them.
    await removeRetrying(path.join(writer.dir, 'merge'), { recursive: true, force: true });
    const { watch } = await watchResumedCheckout(repo, settings, writer.dir);
    return {
      repo,
      runId: options.runId,
      loaded,
      base: previous.base,
      settings: remote ? { ...settings, queueRemote: remote.remote.display } : settings,
      writer,
      options: { workflowFile, repoDir: options.repoDir, signal: options.signal, defaults: options.defaults, now },
      watch,
      setup,
      ...(remote ? { remote } : {}),
    };
  } catch (error) {
    await remote?.queue.close();
    await writer.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The run's commits as its refs hold them: the refs live in the git directory, which a clone does
 * not bring, so state whose commits disagree with them was not written by this run.
 */
async function checkAgainstRefs(repo: Repository, snapshot: RunSnapshot): Promise<void> {
  const ref = async (...rest: string[]) =>
    repo.git.line(['rev-parse', '--verify', '--quiet', runRef(snapshot.runId, ...rest)]).catch(() => '');
  const mismatched: string[] = [];
  if ((await ref('base')) !== snapshot.base.commit) mismatched.push('its base');
  for (const s of snapshot.steps)
    if (s.status === 'succeeded' && (await ref('steps', s.id)) !== s.result) mismatched.push(`step ${s.id}'s result`);
  if (mismatched.length > 0) {
    throw new TappsError(
      'state-mismatch',
      `Run ${snapshot.runId} cannot be resumed: ${mismatched.join(', ')} in its state do not match what the run recorded in git. Its state may have been edited or copied from elsewhere. Start a new run instead.`,
    );
  }
}

/** The settings the run started with, read back within their bounds; the worktree folder must be a known one. */
function recordedSettings(snapshot: RunSnapshot, repo: Repository, roots: readonly string[]): EffectiveSettings {
  const parsed = EffectiveSettingsSchema.safeParse({
    failOnUndeclaredChanges: false,
    worktreeRoot: defaultWorktreeRoot(repo),
    ...snapshot.settings,
  });
  if (!parsed.success || !roots.some((root) => samePath(root, parsed.data.worktreeRoot))) {
    throw new TappsError(
      'state-mismatch',
      `Run ${snapshot.runId} cannot be resumed: the settings in its state are not ones Tapps Flow records (${parsed.success ? 'an unknown worktree folder' : (parsed.error.issues[0]?.message ?? 'invalid')}). Start a new run instead.`,
    );
  }
  return parsed.data;
}
