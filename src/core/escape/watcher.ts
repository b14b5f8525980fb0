import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../util/paths';

/** A folder to watch: with everything below it, or only its own entries. */
export interface WatchRoot {
  readonly dir: string;
  readonly recursive: boolean;
}

export interface TreeWatcherOptions {
  readonly roots: readonly WatchRoot[];
  /** Folders and files that are none of the watcher's business (absolute paths): never walked, never reported. */
  readonly ignored: (abs: string) => boolean;
  /** Called for every entry written, created, renamed or deleted (absolute path), as the platform reports it. */
  readonly onTouch: (abs: string) => void;
  /**
   * The most folders watched one by one (Linux). Past it the watcher says it is incomplete
   * (`degraded`), and the caller compares the whole checkout at the end instead.
   * @default 10_000
   */
  readonly maxFolders?: number;
  /** Forces the one-watch-per-folder way on every platform (tests). @default process.platform === 'linux' */
  readonly perFolder?: boolean;
}

/** How many folders are read at once while the watches are set up. */
const WALK_CONCURRENCY = 8;

/**
 * Watches the main checkout (and the parts of its git directory that matter) for writes while a
 * run goes on. It reports paths, nothing else: what changed is decided by comparing (see
 * `EscapeDetector`), so a missed or doubled event costs precision of timing, never correctness.
 *
 * Why not Node's recursive `fs.watch` on Linux, nor a watcher library: measured on Node 20.20
 * with a 10,000-file tree (110 folders), the recursive `fs.watch` walks the tree synchronously
 * (395 ms with the event loop blocked) and puts an inotify watch on every file and folder (10,112),
 * with no way to leave out `.git/objects` or `node_modules`; chokidar 4 also watches every file
 * (1.6 s until ready, 2.2 s of CPU); @parcel/watcher is a native module, and the extension ships
 * only its bundle (`vsce --no-dependencies`), with no prebuilt binary per platform. inotify itself
 * watches a folder's entries, so one watch per folder is all it takes: 114 watches for the same
 * tree, set up asynchronously in about 60 ms, next to the base capture. On macOS (FSEvents) and
 * Windows (ReadDirectoryChangesW) the platform's recursive watch is one native handle per root,
 * and Node uses it as it is.
 */
export class TreeWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly maxFolders: number;
  private readonly perFolder: boolean;
  private disposed = false;
  /** Why the watcher does not see everything (too many folders, the system's limit of watches), or undefined. */
  degraded: string | undefined;

  private constructor(private readonly options: TreeWatcherOptions) {
    this.maxFolders = options.maxFolders ?? 10_000;
    this.perFolder = options.perFolder ?? process.platform === 'linux';
  }

  /** Starts watching; resolves once every watch is set (changes from then on are reported). */
  static async start(options: TreeWatcherOptions): Promise<TreeWatcher> {
    const watcher = new TreeWatcher(options);
    for (const root of options.roots) await watcher.add(root);
    return watcher;
  }

  /** Watches one more root; resolves once its watches are set. */
  async add(root: WatchRoot): Promise<void> {
    if (!this.perFolder) this.watchNative(root);
    else if (root.recursive) await this.walk(root.dir, false);
    else this.watchFolder(root.dir);
  }

  /** How many folders (or native roots) are watched. */
  get size(): number {
    return this.watchers.size;
  }

  dispose(): void {
    this.disposed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private watchNative(root: WatchRoot): void {
    try {
      const w = watch(root.dir, { persistent: false, recursive: root.recursive }, (_type, name) => {
        if (name === null) this.degrade(`the platform did not say what changed in ${root.dir}`);
        else this.touch(path.join(root.dir, name.toString()));
      });
      w.on('error', (error) => this.degrade(`the watch of ${root.dir} failed (${error.message})`));
      this.watchers.set(root.dir, w);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.degrade(`${root.dir} cannot be watched (${(error as Error).message})`);
    }
  }

  /** Watches `dir` and every folder below it; with `report`, every file found is reported too (a folder made while watched). */
  private async walk(dir: string, report: boolean): Promise<void> {
    let queue = [dir];
    while (queue.length > 0 && !this.disposed) {
      const batch = queue.slice(0, WALK_CONCURRENCY);
      queue = queue.slice(WALK_CONCURRENCY);
      const found = await Promise.all(batch.map((d) => this.watchAndList(d, report)));
      for (const children of found) queue.push(...children);
    }
  }

  /** Watches one folder; returns its subfolders that are to be watched too. */
  private async watchAndList(dir: string, report: boolean): Promise<string[]> {
    if (!this.watchFolder(dir)) return [];
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const folders: string[] = [];
    for (const entry of entries) {
      // Files matter only when reported: on the first walk, only folders are looked at.
      if (!entry.isDirectory() && !report) continue;
      const full = path.join(dir, entry.name);
      if (this.options.ignored(full)) continue;
      if (entry.isDirectory()) folders.push(full);
      else this.options.onTouch(full);
    }
    return folders;
  }

  /** One watch on one folder's entries; false when it is not watched (gone, over the limit, ignored). */
  private watchFolder(dir: string): boolean {
    if (this.disposed || this.watchers.has(dir)) return false;
    if (this.watchers.size >= this.maxFolders) {
      this.degrade(`the checkout has more than ${this.maxFolders} folders; the others are compared at the end instead of watched`);
      return false;
    }
    try {
      const w = watch(dir, { persistent: false }, (type, name) => {
        if (name === null) {
          this.degrade(`the platform did not say what changed in ${dir}`);
          return;
        }
        const full = path.join(dir, name.toString());
        if (this.options.ignored(full)) return;
        this.touch(full);
        if (type === 'rename') void this.follow(full);
      });
      w.on('error', () => this.unwatch(dir));
      this.watchers.set(dir, w);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EMFILE')
        this.degrade(`the system's limit of file watches was reached (${code}); the rest of the checkout is compared at the end`);
      return false;
    }
  }

  /**
   * An entry appeared or went: a folder watched under that name is let go (it may be another one
   * now, removed and made again), and a folder there now is watched, what is already in it reported.
   */
  private async follow(full: string): Promise<void> {
    const stat = await lstat(full).catch(() => undefined);
    if (this.watchers.has(full)) this.unwatch(full);
    if (stat?.isDirectory()) await this.walk(full, true);
  }

  private unwatch(dir: string): void {
    for (const [d, w] of this.watchers) {
      if (isInside(d, dir)) {
        w.close();
        this.watchers.delete(d);
      }
    }
  }

  private touch(full: string): void {
    if (!this.disposed && !this.options.ignored(full)) this.options.onTouch(full);
  }

  private degrade(why: string): void {
    this.degraded ??= why;
  }
}
