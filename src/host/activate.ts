import * as vscode from 'vscode';
import { currentOs } from '../core/process/platform';
import { orphansPossible } from '../core/process/stepProcesses';
import { engine } from './lazyEngine';
import { locateRepository } from '../core/git/locate';
import { openRepository } from '../core/git/repository';
import { runsLeftLocked, type RunsLocation } from '../core/state/runLocation';
import { plural } from '../core/util/words';
import { watchEngineEnvironment } from './engineEnvironment';
import { registerCommands } from './commands';
import { ContentProvider, SCHEME } from './contentProvider';
import { HostLog } from './log';
import { RunController } from './runController';
import { RunsModel } from './runsModel';
import { RunsTreeProvider } from './runsTree';
import { RunsStatusBar } from './statusBar';
import { WorkflowDiagnostics } from './workflowDiagnostics';
import { comparablePath } from '../core/util/paths';

/** What the extension exports: the model and tree, for tests and for other extensions. */
export interface TappsFlowApi {
  readonly model: RunsModel;
  readonly tree: RunsTreeProvider;
  readonly runs: RunController;
  /** Resolves when the runs of the workspace's repositories have been loaded. */
  readonly ready: Promise<void>;
  /** How long loading the bundle and `activate` took, in milliseconds (for the benchmark). */
  readonly timings: { readonly loadMs: number | undefined; readonly activateMs: number; readonly hostGapMs: number };
}

/** Wires the host: everything registered is owned by the extension context and disposed with it. */
export function activateHost(
  context: vscode.ExtensionContext,
  started: { loadMs: number | undefined; started: number; hostGapMs: number },
): TappsFlowApi {
  const log = new HostLog();
  const model = new RunsModel(log);
  const tree = new RunsTreeProvider(model);
  const content = new ContentProvider();
  const runs = new RunController(model, log);
  const diagnostics = new WorkflowDiagnostics();
  const view = vscode.window.createTreeView('tappsFlow.runs', { treeDataProvider: tree, showCollapseAll: true });
  context.subscriptions.push(
    log,
    model,
    tree,
    content,
    diagnostics,
    view,
    new RunsStatusBar(model),
    runs,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, content),
    model.onDidChange(() => content.refreshLogs()),
    ...registerCommands(model, runs, diagnostics, log, view, tree),
    watchEngineEnvironment(),
  );
  const load = async () => {
    const locations = await workspaceRepositories(log);
    await model.load(locations, vscode.workspace.isTrusted);
    if (vscode.workspace.isTrusted) await sweepOrphans(locations, log);
    log.info(
      `watching runs of ${locations.length} repositor${locations.length === 1 ? 'y' : 'ies'}${vscode.workspace.isTrusted ? '' : ' (untrusted workspace: shown read-only)'}`,
    );
  };
  const ready = load();
  // Once trusted, the runs are read again with git (which tells state that came with a clone).
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void load().catch((error: unknown) => log.showError('Tapps Flow could not load the runs', error));
    }),
  );
  ready.catch((error: unknown) => log.showError('Tapps Flow could not load the runs', error));
  const timings = { loadMs: started.loadMs, activateMs: performance.now() - started.started, hostGapMs: started.hostGapMs };
  log.info(`activated in ${timings.activateMs.toFixed(1)} ms (bundle loaded in ${timings.loadMs?.toFixed(1) ?? '?'} ms)`);
  return { model, tree, runs, ready, timings };
}

/**
 * Stops what steps of interrupted runs left running when their engine died (see the engine's
 * `sweepOrphans`): only in a trusted workspace, and the engine is loaded only when a tagged
 * process exists at all (on Windows, where tags cannot be read: when a run's writer left its lock
 * behind).
 */
async function sweepOrphans(locations: readonly RunsLocation[], log: HostLog): Promise<void> {
  if (!orphansPossible()) return;
  for (const location of locations) {
    if (currentOs() === 'win32' && (await runsLeftLocked(location)).length === 0) continue;
    try {
      const repo = await openRepository(location.root);
      for (const swept of await engine().sweepOrphans(repo))
        log.info(
          `stopped the processes that ${plural(swept.steps.length, 'step')} of interrupted run ${swept.runId} left running: ${swept.steps.join(', ')}`,
        );
    } catch (error) {
      log.info(`${location.root}: could not stop leftover step processes: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/**
 * The repositories of the workspace's folders. In a trusted workspace git finds them; in an
 * untrusted one no git runs at all (it would run programs the repository's configuration names):
 * they are found from the file system, for reading past runs only.
 */
async function workspaceRepositories(log: HostLog): Promise<RunsLocation[]> {
  const found = new Map<string, RunsLocation>();
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme !== 'file') continue;
    try {
      const location = vscode.workspace.isTrusted ? await openRepository(folder.uri.fsPath) : await locateRepository(folder.uri.fsPath);
      if (location) found.set(comparablePath(location.root), { root: location.root, commonDir: location.commonDir });
    } catch (error) {
      log.info(`${folder.uri.fsPath}: ${error instanceof Error ? error.message : String(error)}; no runs shown for it`);
    }
  }
  return [...found.values()];
}
