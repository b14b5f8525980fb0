import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { Git } from '../core/git/git';
import type { WorkflowRun } from '../core/run/workflowRun';
import { runsDir, STATE_TRASH_PREFIX } from '../core/run/stateDir';
import type { RunsLocation } from '../core/state/runLocation';
import type { RunView } from '../core/state/runs';
import { newestFirst, type RunSnapshot } from '../core/state/snapshot';
import { samePath } from '../core/util/paths';
import { engine } from './lazyEngine';
import type { HostLog } from './log';

/** A run as the editor knows it: its latest snapshot, and the live engine run if this window owns it. */
export interface RunEntry {
  readonly repoRoot: string;
  readonly dir: string;
  readonly snapshot: RunSnapshot;
  readonly live: WorkflowRun | undefined;
  /** Why nothing may act on the run (its state is tracked by git, or the workspace is untrusted). */
  readonly readOnly: string | undefined;
}

/** Reloads of a run written by another process wait this long for more changes, and never longer than `RELOAD_MAX_WAIT_MS`. */
const RELOAD_DEBOUNCE_MS = 150;
const RELOAD_MAX_WAIT_MS = 1_000;
/** How often the runs' event files are looked at besides the file watcher's events. */
const POLL_MS = 2_000;

/**
 * What changed since the last refresh: the runs whose state changed, or `undefined` when the list
 * of runs itself changed (a run added, removed, reloaded from disk as a whole).
 */
export interface RunsChange {
  readonly runs: readonly string[] | undefined;
}

/** Refreshes of the views are batched to at most one per this many milliseconds (≤ 10 a second). */
export const REFRESH_INTERVAL_MS = 100;

/**
 * The runs of the workspace's repositories, kept in memory and updated by events: the engine's
 * events for runs of this window, a file watcher on the state folder for runs of other processes
 * (the CLI). Views read it without I/O.
 */
export class RunsModel implements vscode.Disposable {
  private readonly entries = new Map<string, RunEntry>();
  private readonly changed = new vscode.EventEmitter<RunsChange>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private watchers: vscode.Disposable[] = [];
  private pending: NodeJS.Timeout | undefined;
  private lastFire = 0;
  private readonly reloads = new Map<string, { timer: NodeJS.Timeout; since: number }>();
  private ticker: NodeJS.Timeout | undefined;
  private locations: RunsLocation[] = [];
  private readonly dirty = new Set<string>();
  private readonly tracked = new Map<string, ReadonlySet<string> | undefined>();
  private structural = false;
  private trusted = false;
  /** How many times views were told to refresh (for the benchmark and tests). */
  refreshCount = 0;
  /** Fires at most every REFRESH_INTERVAL_MS, however chatty the steps are. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly log: HostLog) {}

  /** The repositories whose runs are shown. */
  get repoRoots(): readonly string[] {
    return this.locations.map((l) => l.root);
  }

  /**
   * Loads every run of the given repositories and starts watching their state folders. Untrusted:
   * no git runs (state that git tracks cannot be told apart), and every run is read-only.
   */
  async load(locations: readonly RunsLocation[], trusted: boolean): Promise<void> {
    for (const d of this.watchers) d.dispose();
    this.watchers = [];
    this.locations = [...locations];
    this.trusted = trusted;
    for (const location of this.locations) {
      const root = location.root;
      const { runs, problems } = await engine().listRuns(location, { tracked: await this.trackedIn(location, true) });
      for (const p of problems) this.log.warn(`unreadable run in ${root}: ${p}`);
      for (const r of runs) {
        for (const w of r.warnings) this.log.warn(`run ${r.snapshot.runId}: ${w}`);
        if (!this.entries.get(r.snapshot.runId)?.live) this.entries.set(r.snapshot.runId, this.entryOf(root, r));
      }
      const watcher = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.file(runsDir(root)), '*/events.jsonl'),
      );
      const onFile = (uri: vscode.Uri) => this.scheduleReload(location, path.basename(path.dirname(uri.fsPath)));
      this.watchers.push(
        watcher,
        watcher.onDidChange(onFile),
        watcher.onDidCreate(onFile),
        watcher.onDidDelete((uri) => this.forget(path.basename(path.dirname(uri.fsPath)))),
      );
    }
    // The editor's file watcher can drop events (a busy disk, a watch limit reached): every few
    // seconds the runs' event files are also looked at, and a run whose file grew is reloaded.
    clearInterval(this.poller);
    this.poller = setInterval(() => void this.poll(), POLL_MS);
    this.scheduleChange();
  }

  /** Runs newest first. */
  list(): RunEntry[] {
    return [...this.entries.values()].sort(newestFirst);
  }

  get(runId: string): RunEntry | undefined {
    return this.entries.get(runId);
  }

  /** Follows a run this window started, from its own events. */
  track(repoRoot: string, run: WorkflowRun): void {
    this.entries.set(run.runId, { repoRoot, dir: run.stateDir, snapshot: run.snapshot, live: run, readOnly: undefined });
    const subscription = run.onDidEvent(() => {
      const entry = this.entries.get(run.runId);
      if (entry) this.entries.set(run.runId, { ...entry, snapshot: run.snapshot });
      this.scheduleChange(run.runId);
    });
    this.disposables.push(subscription);
    this.scheduleChange();
  }

  /** The run is no longer driven by this window: later changes come from its files. */
  untrack(runId: string): void {
    const entry = this.entries.get(runId);
    if (entry?.live) this.entries.set(runId, { ...entry, snapshot: entry.live.snapshot, live: undefined });
    this.scheduleChange(runId);
  }

  /** Where a repository's runs are, for the engine's readers and writers. */
  locationOf(repoRoot: string): RunsLocation | undefined {
    return this.locations.find((l) => samePath(l.root, repoRoot));
  }

  /** Re-reads runs from disk (after apply, resolve, cleanup by another process). */
  async reload(runId?: string): Promise<void> {
    if (runId !== undefined) {
      const entry = this.entries.get(runId);
      const location = entry && this.locations.find((l) => samePath(l.root, entry.repoRoot));
      if (location) await this.reloadNow(location, runId);
      return;
    }
    const live = new Map([...this.entries].filter(([, e]) => e.live));
    this.entries.clear();
    for (const [id, e] of live) this.entries.set(id, e);
    await this.load(this.locations, this.trusted);
  }

  /** True while a run is going on; a ticker then refreshes elapsed times once a second. */
  get active(): RunEntry[] {
    return this.list().filter((e) => e.snapshot.status === 'running');
  }

  private forget(runId: string): void {
    if (this.entries.get(runId)?.live) return;
    if (this.entries.delete(runId)) this.scheduleChange();
  }

  /**
   * Reloads a run after its file changed, once changes pause for a moment; a run whose events never
   * pause (a chatty CLI run) is still reloaded at least every RELOAD_MAX_WAIT_MS.
   */
  private scheduleReload(location: RunsLocation, runId: string): void {
    if (this.entries.get(runId)?.live) return;
    const pending = this.reloads.get(runId);
    const since = pending?.since ?? Date.now();
    clearTimeout(pending?.timer);
    const wait = Math.max(0, Math.min(RELOAD_DEBOUNCE_MS, since + RELOAD_MAX_WAIT_MS - Date.now()));
    const timer = setTimeout(() => {
      this.reloads.delete(runId);
      void this.reloadNow(location, runId);
    }, wait);
    this.reloads.set(runId, { timer, since });
  }

  private async reloadNow(location: RunsLocation, runId: string): Promise<void> {
    // A deleted run's folder waiting for deletion is no run; nor is a folder another tool keeps in
    // the same state folder (TappsCodingAgents' own state).
    if (runId.startsWith(STATE_TRASH_PREFIX)) return;
    if (!this.entries.has(runId) && !(await engine().holdsRun(path.join(runsDir(location.root), runId)))) return;
    try {
      // A run seen for the first time may have come with a pull: ask git again whether it tracks it.
      const run = await engine().loadRun(location, runId, { tracked: await this.trackedIn(location, !this.entries.has(runId)) });
      if (this.entries.get(runId)?.live) return;
      const known = this.entries.has(runId);
      this.entries.set(runId, this.entryOf(location.root, run));
      this.scheduleChange(known ? runId : undefined);
    } catch (error) {
      // A run folder mid-creation or mid-deletion: the next change event reads it again.
      this.log.warn(`could not read run ${runId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private entryOf(repoRoot: string, run: RunView): RunEntry {
    const readOnly = run.readOnly ?? (this.trusted ? undefined : 'the workspace is not trusted');
    return { repoRoot, dir: run.dir, snapshot: run.snapshot, live: undefined, readOnly };
  }

  /**
   * The runs whose state git tracks; unknown (none) in an untrusted workspace, where git does not
   * run. Asked of git on a full load and for a run not seen before; a run already shown keeps its
   * answer, so that following a chatty CLI run starts no git process per reload.
   */
  private async trackedIn(location: RunsLocation, ask: boolean): Promise<ReadonlySet<string> | undefined> {
    if (!this.trusted) return undefined;
    if (ask || !this.tracked.has(location.root)) {
      const ids = await engine()
        .trackedRunIds({ git: new Git(location.root) })
        .catch(() => undefined);
      this.tracked.set(location.root, ids);
    }
    return this.tracked.get(location.root);
  }

  /**
   * Coalesces bursts of changes into one refresh per REFRESH_INTERVAL_MS. `runId` names the run
   * that changed; without it, the list of runs did. Views refresh only the runs that changed: a
   * refresh of the whole tree drops the tree's elements for a moment, and a click on an inline
   * button in that moment reached its command without its run.
   */
  scheduleChange(runId?: string): void {
    if (runId === undefined) this.structural = true;
    else this.dirty.add(runId);
    if (this.pending) return;
    const wait = Math.max(0, this.lastFire + REFRESH_INTERVAL_MS - Date.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.lastFire = Date.now();
      this.refreshCount += 1;
      const change: RunsChange = { runs: this.structural ? undefined : [...this.dirty].filter((id) => this.entries.has(id)) };
      this.structural = false;
      this.dirty.clear();
      this.changed.fire(change);
      this.updateTicker();
    }, wait);
  }

  private updateTicker(): void {
    const running = this.active.length > 0;
    // Elapsed times of running runs tick once a second.
    if (running && !this.ticker) this.ticker = setInterval(() => this.active.forEach((e) => this.scheduleChange(e.snapshot.runId)), 1000);
    if (!running && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  private poller: NodeJS.Timeout | undefined;
  /** Per run: the size of its events file when last looked at. */
  private readonly sizes = new Map<string, number>();

  private async poll(): Promise<void> {
    for (const location of this.locations) {
      const dir = runsDir(location.root);
      for (const runId of await readdir(dir).catch(() => [] as string[])) {
        const size = (await stat(path.join(dir, runId, 'events.jsonl')).catch(() => undefined))?.size;
        if (size === undefined) continue;
        const seen = this.sizes.get(runId);
        this.sizes.set(runId, size);
        if (seen === undefined ? !this.entries.has(runId) : seen !== size) this.scheduleReload(location, runId);
      }
    }
  }

  dispose(): void {
    clearInterval(this.poller);
    clearTimeout(this.pending);
    clearInterval(this.ticker);
    for (const r of this.reloads.values()) clearTimeout(r.timer);
    for (const d of [...this.disposables, ...this.watchers]) d.dispose();
  }
}
