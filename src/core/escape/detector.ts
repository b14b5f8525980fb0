import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTreePath, MAX_ESCAPES_LISTED, type Escape } from '../state/events';
import type { EscapeRecord, RunSnapshot } from '../state/snapshot';
import { Activity, attribute, UserWrites } from './attribution';
import { fileOfKey, type EscapeWatch } from './escapeWatch';
import { baseFilesUnder, checkoutChanges, ignoredAmong, pathsNow, type FileState, type PathNow } from './fileState';
import { readEngineWrites } from './engineWrites';
import { INDEX_KEY, isGitFileKey } from './gitFiles';
import { ANY_REF_KEY, describeGitChange, gitChanges, type GitChange } from './gitChanges';
import { readGitState, type ConfigRole, type GitState } from './gitState';

/** When a check runs: after a step ended, once every step has, or when a run is resumed. */
export type CheckKind = 'step' | 'end' | 'resume';

/** What one check found. */
export interface EscapesFound {
  /** At most MAX_ESCAPES_LISTED. */
  readonly escapes: readonly Escape[];
  /** How many they stand for (more than listed where the list was cut). */
  readonly count: number;
  readonly check: CheckKind;
}

/**
 * Writes seen less than this long ago are judged by a later check: the editor's report of a save
 * comes just after the save's write. The last check waits for them (at most this long).
 */
export const SETTLE_MS = 250;
/** At most this many escapes are recorded per check, in events of MAX_ESCAPES_LISTED; the rest are counted. */
const MAX_RECORDED_PER_CHECK = 1000;
/**
 * A file's modification time comes from the kernel's coarse clock, which lags the process clock by
 * up to a tick (1 to 10 ms): a time from it stands for this much after it too.
 */
const MTIME_SLACK_MS = 20;
/** The user's versions of files written while no step ran (or saved in the editor) are read this long after, in one batch. */
const ADOPT_DELAY_MS = 100;
const FOUND_ON_RESUME = ' (found when the run was resumed: it happened while no engine watched, so it may be yours)';

export interface DetectorOptions {
  readonly watch: EscapeWatch;
  /** The run's base tree: the user's files when the run started. */
  readonly baseTree: string;
  /** Step ids in workflow order: the order steps are named in. */
  readonly order: readonly string[];
  /** Called with what a check found; not called when it found nothing. */
  readonly onFound: (found: EscapesFound) => void;
  /** Escapes the run recorded before (a resumed run's): not reported again while they stay as they are. */
  readonly known?: readonly EscapeRecord[];
}

/**
 * Turns what the watch saw into escapes. After each step ends and once at the end it compares the
 * paths written since the last check (their content now against the base's, or against the
 * user's own later version) and the repository's HEAD, refs, config files and hooks against their
 * state when the run started; the whole checkout is compared only where the watch may have missed
 * something (too many folders, a failed check) and on resume.
 *
 * Attribution (see attribution.ts): a change is put down to the steps running when it was written,
 * a step counting from the moment it is taken up until its capture ended, plus a short grace. A
 * change written while no step ran, or one the editor reported as its own save (`noteUserWrite`),
 * is the user's: it is never reported, and it becomes what later writes of that path are compared
 * with. A change seen by no watch (after a crash) is timed by its file's modification time.
 */
export class EscapeDetector {
  private readonly activity: Activity;
  private readonly user = new UserWrites();
  /** The repository's git parts as they should be: the baseline, with the user's own changes taken in. */
  private reference: GitState;
  /** The user's own versions of files changed during the run (what restore would put back). */
  private readonly fileOrigin = new Map<string, FileState | null>();
  /** What was last reported of each file, and of each git part (`kind\0path`; `*`: recorded before a resume). */
  private readonly fileReported = new Map<string, string>();
  private readonly gitReported = new Map<string, string>();
  private lastCheckAt: number;
  private checking: Promise<void> = Promise.resolve();
  private stepCheckQueued = false;
  private failure: unknown;
  private disposed = false;
  private readonly toAdopt = new Set<string>();
  private adoptTimer: NodeJS.Timeout | undefined;
  /** How far the engine's own writes were read (see engineWrites.ts). */
  private engineOffset = 0;

  constructor(private readonly options: DetectorOptions) {
    this.activity = new Activity(options.order);
    this.reference = options.watch.baseline;
    this.lastCheckAt = options.watch.startedAt;
    for (const e of options.known ?? []) {
      if (e.kind === 'file') this.fileReported.set(e.path, e.after === undefined ? 'other' : fingerprint(e.after));
      else this.gitReported.set(`${e.kind}\0${e.path}`, '*');
    }
    options.watch.onWrite = (key) => {
      const file = fileOfKey(key);
      if (file !== undefined && !this.activity.running) this.adoptSoon(file);
    };
  }

  private get watch(): EscapeWatch {
    return this.options.watch;
  }

  /** A step was taken up (its worktree is being made): writes from now on may be its. */
  stepStarted(step: string): void {
    this.activity.begin(step, this.watch.now());
  }

  /** A step's capture ended: its writes are checked, off the run's path. */
  stepEnded(step: string): void {
    this.activity.end(step, this.watch.now());
    if (this.stepCheckQueued || this.disposed) return;
    this.stepCheckQueued = true;
    this.checking = this.checking.then(async () => {
      this.stepCheckQueued = false;
      // A check that fails is made up for by comparing everything at the end.
      await this.check('step').catch((error: unknown) => (this.failure ??= error));
    });
  }

  /** The editor saved, created or deleted `file` (absolute, or relative to the checkout): that write is the user's. */
  noteUserWrite(file: string): void {
    const key = this.watch.keyOf(path.resolve(this.watch.repo.root, file));
    const rel = key === undefined ? undefined : fileOfKey(key);
    if (rel === undefined) return;
    this.user.note(rel, this.watch.now());
    this.adoptSoon(rel);
  }

  /**
   * Keeps the user's version of a file as it is now (saved in the editor, or written while no step
   * ran): a step that overwrites it later is reported against it, and restore puts it back, not
   * the base's. Read in a batch a moment later, between checks.
   */
  private adoptSoon(file: string): void {
    if (this.disposed) return;
    this.toAdopt.add(file);
    this.adoptTimer ??= setTimeout(() => this.adoptNow(), ADOPT_DELAY_MS);
    this.adoptTimer.unref();
  }

  private adoptNow(): void {
    clearTimeout(this.adoptTimer);
    this.adoptTimer = undefined;
    if (this.toAdopt.size === 0) return;
    const files = [...this.toAdopt];
    this.toAdopt.clear();
    this.checking = this.checking.then(() => this.adopt(files)).catch((error: unknown) => void (this.failure ??= error));
  }

  /** Resolves once the user's versions seen so far are kept and the checks under way are done. */
  async whenIdle(): Promise<void> {
    this.adoptNow();
    await this.checking;
  }

  private async adopt(files: readonly string[]): Promise<void> {
    if (this.disposed) return;
    for (const [file, n] of await pathsNow(this.watch.repo, files)) {
      // An escape already reported keeps its "before"; a check judges what the user did to it since.
      if (n.folder || n.state === 'other' || this.fileReported.has(file)) continue;
      this.fileOrigin.set(file, n.state);
    }
  }

  /** The last check, once every step has ended: after the checks under way. */
  async finish(): Promise<void> {
    await this.whenIdle();
    if (!this.disposed) await this.check('end');
  }

  /**
   * A resumed run's first check: what changed while no engine watched, put down to the steps the
   * earlier attempt ran at the time (`previous`: the run as it was found), by modification times.
   */
  async resume(previous: RunSnapshot): Promise<void> {
    const now = this.watch.now();
    for (const s of previous.steps) {
      if (!s.startedAt) continue;
      this.activity.begin(s.id, Date.parse(s.startedAt));
      this.activity.end(s.id, s.finishedAt ? Date.parse(s.finishedAt) : now);
    }
    this.lastCheckAt = Date.parse(previous.startedAt);
    await this.check('resume');
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.adoptTimer);
    this.watch.dispose();
  }

  private async check(kind: CheckKind): Promise<void> {
    if (kind === 'end') await this.settle();
    const full = kind === 'resume' || (kind === 'end' && (this.watch.degraded !== undefined || this.failure !== undefined));
    const at = this.watch.now();
    const files = await this.checkFiles(kind, at, full);
    const git = await this.checkGit(kind, at, full);
    this.lastCheckAt = at;
    if (!this.disposed) this.report([...files, ...git], kind);
  }

  /** Waits until the latest write seen is SETTLE_MS old (at most that long). */
  private async settle(): Promise<void> {
    let latest = 0;
    for (const times of this.watch.written.values()) latest = Math.max(latest, times[times.length - 1]);
    const wait = latest + SETTLE_MS - this.watch.now();
    if (wait > 0) await sleep(Math.min(wait, SETTLE_MS));
  }

  private async checkFiles(kind: CheckKind, at: number, full: boolean): Promise<Escape[]> {
    const { repo } = this.watch;
    /** Path -> the times it was seen written. */
    const candidates = new Map<string, readonly number[]>();
    for (const [key, times] of this.watch.written) {
      const file = fileOfKey(key);
      if (file !== undefined && (kind !== 'step' || times[times.length - 1] <= at - SETTLE_MS)) candidates.set(file, times);
    }
    for (const file of candidates.keys()) this.watch.take(`file:${file}`);
    if (full)
      for (const file of (await checkoutChanges(repo, this.options.baseTree)).keys()) if (!candidates.has(file)) candidates.set(file, []);
    if (candidates.size === 0) return [];
    await this.readEngineWrites();
    const now = await pathsNow(repo, [...candidates.keys()]);
    // A folder made, moved or deleted stands for the base's files under it.
    const base = await baseFilesUnder(repo.git, this.options.baseTree, [...candidates.keys()]);
    const under = [...base.keys()].filter((p) => !candidates.has(p));
    if (under.length > 0) {
      const folders = [...candidates.keys()];
      for (const p of under) candidates.set(p, candidates.get(folders.find((f) => p.startsWith(`${f}/`)) ?? '') ?? []);
      for (const [p, n] of await pathsNow(repo, under)) now.set(p, n);
    }
    // Whether git ignores a path not in the base: then what was there before the run is unknown.
    const unknown = new Set([...candidates.keys()].filter((p) => !base.has(p) && !now.get(p)?.folder));
    const ignored = await ignoredAmong(repo.git, [...unknown]);
    const escapes: Escape[] = [];
    for (const p of [...candidates.keys()].sort()) {
      const found = now.get(p);
      if (!found || !isTreePath(p)) continue;
      const isIgnored = unknown.has(p) && (ignored === undefined || ignored.has(p));
      const origin = this.fileOrigin.has(p) ? this.fileOrigin.get(p)! : (base.get(p) ?? (isIgnored ? undefined : null));
      // A folder where the base (or the user) had a file: the file was deleted (its files are paths of their own).
      if (found.folder && !origin) continue;
      const n: PathNow = found.folder ? { state: null, mtimeMs: found.mtimeMs, birthtimeMs: found.birthtimeMs } : found;
      const current = fingerprint(n.state);
      const compared = this.fileReported.get(p) ?? (origin === undefined ? undefined : fingerprint(origin));
      if (compared === current) continue;
      const steps = this.stepsOf(candidates.get(p)!, n, p, at);
      if (steps.length === 0) {
        // The user's: later writes are compared with it, and restore would put it back.
        if (n.state !== 'other') this.fileOrigin.set(p, n.state);
        this.fileReported.delete(p);
        continue;
      }
      const change = fileChange(origin, n, this.watch.startedAt);
      escapes.push({
        kind: 'file',
        path: p,
        change,
        steps,
        ...(origin === undefined ? {} : { before: origin }),
        ...(n.state === 'other' ? {} : { after: n.state }),
        ...(isIgnored ? { ignored: true } : {}),
        detail: fileDetail(change, isIgnored, kind),
      });
      this.fileReported.set(p, current);
    }
    return escapes;
  }

  /** Takes the engine's own writes (apply, restore) made since last looked for the user's. */
  private async readEngineWrites(): Promise<void> {
    const { writes, offset } = await readEngineWrites(this.watch.repo, this.engineOffset, this.watch.now());
    this.engineOffset = offset;
    for (const w of writes) {
      if (w.end < this.watch.startedAt) continue;
      for (const p of w.paths) this.user.noteSpan(p, w.start, w.end);
    }
  }

  /** The steps a file's change is put down to: by the times it was seen written, else by its modification time. */
  private stepsOf(times: readonly number[], n: PathNow, file: string, at: number): string[] {
    if (times.length > 0) return attribute(times, this.activity, this.user, file);
    if (n.mtimeMs !== undefined) return attribute([n.mtimeMs, n.mtimeMs + MTIME_SLACK_MS], this.activity, this.user, file);
    return this.activity.during(this.lastCheckAt, at);
  }

  private async checkGit(kind: CheckKind, at: number, full: boolean): Promise<Escape[]> {
    const { repo, places } = this.watch;
    const keys = [...this.watch.written.keys()].filter((k) => fileOfKey(k) === undefined);
    const times = new Map(keys.map((k) => [k, this.watch.take(k)]));
    const refsWritten = keys.some((k) => k === ANY_REF_KEY || k.startsWith('ref:'));
    const readRefs = full || refsWritten || (kind === 'end' && this.watch.degraded !== undefined);
    const readIndex = readRefs || times.has(INDEX_KEY);
    const now = await readGitState(
      repo.git,
      places,
      readRefs ? 'read' : this.reference.refs,
      readIndex ? 'read' : this.reference.files.get(INDEX_KEY),
    );
    const escapes: Escape[] = [];
    for (const c of gitChanges(this.reference, now, places, repo.root)) {
      const reported = `${c.kind}\0${c.path}`;
      const value = gitValue(c, now);
      const was = this.gitReported.get(reported);
      if (was === value || was === '*') continue;
      const seen = [...(times.get(c.key) ?? []), ...(c.kind === 'ref' ? (times.get(ANY_REF_KEY) ?? []) : [])];
      const steps = seen.length > 0 ? attribute(seen, this.activity, this.user) : this.activity.during(this.lastCheckAt, at);
      if (steps.length === 0) {
        this.reference = adopt(this.reference, now, c);
        this.gitReported.delete(reported);
        continue;
      }
      const detail = await describeGitChange(repo.git, places, c, this.reference, now);
      escapes.push({ kind: c.kind, path: c.path, change: c.change, steps, detail: `${detail}${kind === 'resume' ? FOUND_ON_RESUME : ''}` });
      this.gitReported.set(reported, value);
    }
    return escapes;
  }

  private report(escapes: readonly Escape[], check: CheckKind): void {
    const recorded = escapes.slice(0, MAX_RECORDED_PER_CHECK);
    for (let i = 0; i < recorded.length; i += MAX_ESCAPES_LISTED) {
      const chunk = recorded.slice(i, i + MAX_ESCAPES_LISTED);
      const last = i + MAX_ESCAPES_LISTED >= recorded.length;
      this.options.onFound({ escapes: chunk, count: chunk.length + (last ? escapes.length - recorded.length : 0), check });
    }
  }
}

function fingerprint(state: FileState | null | 'other'): string {
  return state === null ? 'none' : state === 'other' ? 'other' : `${state.mode} ${state.oid}`;
}

function fileChange(origin: FileState | null | undefined, n: PathNow, watchStarted: number): Escape['change'] {
  if (n.state === null) return 'deleted';
  if (origin === null) return 'added';
  // An ignored file's earlier content is unknown: made during the run, it was added.
  if (origin === undefined) return n.birthtimeMs !== undefined && n.birthtimeMs >= watchStarted ? 'added' : 'modified';
  return 'modified';
}

function fileDetail(change: Escape['change'], ignored: boolean, check: CheckKind): string {
  const what =
    change === 'added' ? 'created' : change === 'deleted' ? (ignored ? 'deleted (or written and deleted)' : 'deleted') : 'changed';
  const fix = ignored
    ? 'git ignores it, so the base does not hold its earlier content and restore leaves it alone'
    : change === 'added'
      ? 'restore deletes it'
      : 'restore puts back its earlier version';
  return `${what} in the main checkout; ${fix}${check === 'resume' ? FOUND_ON_RESUME : ''}`;
}

/** What a git part holds now, to tell a change already reported from a new one. */
function gitValue(c: GitChange, now: GitState): string {
  if (isGitFileKey(c.key)) {
    const d = now.files.get(c.key);
    return d ? `${d.sha256} ${d.executable}` : 'none';
  }
  const [kind, name] = [c.key.slice(0, c.key.indexOf(':')), c.key.slice(c.key.indexOf(':') + 1)];
  if (kind === 'ref') return name === 'HEAD' ? now.head : (now.refs.get(name) ?? 'none');
  const digest = kind === 'config' ? now.configs.get(name as ConfigRole) : now.hooks.get(name);
  return digest ? `${digest.sha256} ${digest.executable}` : 'none';
}

/** `reference` with one part taken from `now` (the user changed it). */
function adopt(reference: GitState, now: GitState, c: GitChange): GitState {
  if (isGitFileKey(c.key)) {
    const files = new Map(reference.files);
    const digest = now.files.get(c.key);
    if (digest) files.set(c.key, digest);
    else files.delete(c.key);
    return { ...reference, files };
  }
  const name = c.key.slice(c.key.indexOf(':') + 1);
  if (c.key.startsWith('ref:')) {
    if (name === 'HEAD') return { ...reference, head: now.head };
    const refs = new Map(reference.refs);
    const value = now.refs.get(name);
    if (value === undefined) refs.delete(name);
    else refs.set(name, value);
    return { ...reference, refs };
  }
  if (c.key.startsWith('config:')) {
    const configs = new Map(reference.configs);
    configs.set(name as ConfigRole, now.configs.get(name as ConfigRole) ?? null);
    return { ...reference, configs };
  }
  const hooks = new Map(reference.hooks);
  const digest = now.hooks.get(name);
  if (digest) hooks.set(name, digest);
  else hooks.delete(name);
  return { ...reference, hooks };
}
