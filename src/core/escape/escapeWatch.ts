import path from 'node:path';
import type { Repository } from '../git/repository';
import { runsDir } from '../run/stateDir';
import { isInside, isStrictlyInside, relativeInside, samePath } from '../util/paths';
import { gitFileKeyOf } from './gitFiles';
import { ANY_REF_KEY, configKey, hookKey, refKey } from './gitChanges';
import { gitPlaces, keepBlobs, OWN_REFS, readGitState, readRefs, withHooksPath, type GitPlaces, type GitState } from './gitState';
import { TreeWatcher } from './watcher';

export interface EscapeWatchOptions {
  /** The folder of the run's worktrees: the steps' own writes, never watched. */
  readonly worktreeRoot: string;
  /** The repository's state when the run started (a resumed run's, read back); read now when absent. */
  readonly baseline?: GitState;
  /** The clock of the writes seen. @default Date.now */
  readonly now?: () => number;
  /** See `TreeWatcherOptions.maxFolders`. */
  readonly maxFolders?: number;
}

/** The most times kept per path, and the most paths: past that, the end of the run compares everything. */
const TIMES_PER_KEY = 16;
const MAX_KEYS = 100_000;

/**
 * The main checkout watched for a run: the repository's state when it started (HEAD, refs,
 * config files, hooks: the working tree's files are in the run's base), and every write seen
 * since, by key (`file:<path>`, `ref:<name>`, `config:<role>`, `hook:<folder>/<name>`) and time.
 * Left out, as the engine's own: the run state folder (`.tapps-agents/workflow-state/`), the
 * worktree folder, the git directory but for HEAD, config, refs outside `refs/tapps-flow/` and
 * hooks (so `.git/tapps-flow/`, `.git/worktrees/`, objects, the index and its lock churn), and the
 * `.git` folder of any repository nested in the checkout.
 */
export class EscapeWatch {
  private readonly writes = new Map<string, number[]>();
  private watcher: TreeWatcher | undefined;
  private state: GitState | undefined;
  /** When the watch started (the clock of `now`). */
  readonly startedAt: number;
  private overflowed = false;
  /** Told of every write recorded, by key (the detector keeps the user's versions as they are written). */
  onWrite: ((key: string) => void) | undefined;

  private constructor(
    readonly repo: Repository,
    private where: GitPlaces,
    private readonly options: EscapeWatchOptions,
  ) {
    this.startedAt = this.now();
  }

  /** Where the repository's HEAD, refs, config files and hooks are. */
  get places(): GitPlaces {
    return this.where;
  }

  /**
   * Records the repository's state and starts watching; resolves once the watches are set. The
   * folders are walked while git is asked for the refs and the hooks folder: the whole of it runs
   * beside the base capture (see the bench's `detect` section).
   */
  static async start(repo: Repository, options: EscapeWatchOptions): Promise<EscapeWatch> {
    const watch = new EscapeWatch(repo, gitPlaces(repo), options);
    const refs = options.baseline ? undefined : readRefs(repo.git);
    refs?.catch(() => undefined);
    const places = withHooksPath(repo, watch.where);
    const watcher = TreeWatcher.start({
      roots: [
        { dir: repo.root, recursive: true },
        { dir: repo.gitDir, recursive: false },
        ...(samePath(repo.commonDir, repo.gitDir) ? [] : [{ dir: repo.commonDir, recursive: false }]),
        { dir: watch.where.refsFolder, recursive: true },
        { dir: watch.where.reftable, recursive: true },
        { dir: watch.where.hookFolders.hooks!, recursive: false },
        { dir: path.join(repo.commonDir, 'info'), recursive: false },
        { dir: path.join(repo.commonDir, 'worktrees'), recursive: false },
      ],
      ignored: (abs) => watch.keyOf(abs) === undefined && !watch.isWatchedFolder(abs),
      onTouch: (abs) => watch.record(abs),
      maxFolders: options.maxFolders,
    });
    try {
      watch.where = await places;
      const baseline = options.baseline
        ? withFiles(repo, watch.where, options.baseline)
        : keepBlobs(repo.git, watch.where, await readGitState(repo.git, watch.where, refs!));
      [watch.state, watch.watcher] = await Promise.all([baseline, watcher]);
      if (watch.where.hookFolders.hooksPath) await watch.watcher.add({ dir: watch.where.hookFolders.hooksPath, recursive: false });
    } catch (error) {
      void watcher.then(
        (w) => w.dispose(),
        () => undefined,
      );
      throw error;
    }
    return watch;
  }

  /** The repository's HEAD, refs, config files and hooks when the run started. */
  get baseline(): GitState {
    return this.state!;
  }

  now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Why the watch may have missed writes (too many folders, too many paths written), or undefined. */
  get degraded(): string | undefined {
    return this.watcher?.degraded ?? (this.overflowed ? `more than ${MAX_KEYS} paths were written` : undefined);
  }

  /** How many folders are watched (on Linux; one native watch per root elsewhere). */
  get foldersWatched(): number {
    return this.watcher?.size ?? 0;
  }

  /** The keys written since they were last taken, with the times they were seen written. */
  get written(): ReadonlyMap<string, readonly number[]> {
    return this.writes;
  }

  /** Forgets the writes of a key once judged. */
  take(key: string): readonly number[] {
    const times = this.writes.get(key) ?? [];
    this.writes.delete(key);
    return times;
  }

  dispose(): void {
    this.watcher?.dispose();
  }

  private record(abs: string): void {
    const key = this.keyOf(abs);
    if (key === undefined) return;
    const times = this.writes.get(key);
    if (times) {
      times.push(this.now());
      if (times.length > TIMES_PER_KEY) times.splice(1, 1); // the first write and the latest ones
    } else if (this.writes.size < MAX_KEYS) this.writes.set(key, [this.now()]);
    else this.overflowed = true;
    this.onWrite?.(key);
  }

  /** Folders walked to reach what is watched though no write of theirs is: the refs folders, the state folder's parents. */
  private isWatchedFolder(abs: string): boolean {
    const { refsFolder, reftable } = this.places;
    const runs = runsDir(this.repo.root);
    if (isStrictlyInside(runs, abs) && !samePath(abs, this.repo.root)) return true;
    if (isInside(abs, refsFolder)) return !isInside(abs, path.join(refsFolder, OWN_REFS.slice('refs/'.length)));
    return isInside(abs, reftable);
  }

  /** What a write of `abs` is a write of, or undefined when it is none of the watch's business. */
  keyOf(abs: string): string | undefined {
    const { repo, places } = this;
    const file = abs.endsWith('.lock') ? abs.slice(0, -'.lock'.length) : abs;
    if (samePath(file, places.head)) return refKey('HEAD');
    if (samePath(file, places.configs.config)) return configKey('config');
    if (samePath(file, places.configs['config.worktree'])) return configKey('config.worktree');
    if (samePath(file, places.packedRefs) || isStrictlyInside(abs, places.reftable)) return ANY_REF_KEY;
    const ref = relativeInside(places.refsFolder, file);
    if (ref !== undefined && ref !== '') {
      const name = `refs/${ref}`;
      return name.startsWith(OWN_REFS) || `${name}/` === OWN_REFS ? undefined : refKey(name);
    }
    for (const [folder, dir] of Object.entries(places.hookFolders)) {
      if (dir && samePath(path.dirname(abs), dir)) return hookKey(`${folder}/${path.basename(abs)}`);
    }
    const other = gitFileKeyOf(places, file);
    if (other !== undefined) return other;
    if (isInside(abs, repo.commonDir) || isInside(abs, repo.gitDir)) return undefined;
    // The run state folder, and its parents themselves (`.tapps-agents` made for it), are the engine's.
    const runs = runsDir(repo.root);
    if (isInside(abs, this.options.worktreeRoot) || isInside(abs, runs) || isInside(runs, abs)) return undefined;
    // The checkout's path, as git names it (`/`-separated, in the case the file system reported).
    const rel = relativeInside(repo.root, abs);
    if (rel === undefined || rel === '') return undefined;
    // The .git of the checkout, and of any repository nested in it (a submodule's, say), is git's.
    if (rel.split('/').some((part) => part.toLowerCase() === '.git')) return undefined;
    return `file:${rel}`;
  }
}

/** A baseline read back without the git directory's other files: those as they are now. */
async function withFiles(repo: Repository, places: GitPlaces, baseline: GitState): Promise<GitState> {
  if (!baseline.filesUnknown) return baseline;
  const { head, refs, configs, hooks } = baseline;
  return { head, refs, configs, hooks, files: (await readGitState(repo.git, places, refs)).files };
}

/** The checkout path of a `file:` key. */
export function fileOfKey(key: string): string | undefined {
  return key.startsWith('file:') ? key.slice('file:'.length) : undefined;
}
