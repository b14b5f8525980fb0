import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A git repository in a temporary folder, with a sibling folder outside it for test files. */
export interface TempRepo {
  /** The temporary folder holding everything the test made; removed by `cleanup`. */
  readonly root: string;
  /** The repository's work tree. */
  readonly dir: string;
  /** A folder outside the repository (timestamps, pids, step inputs). */
  readonly outside: string;
  /** Runs git in the repository and returns its stdout, trimmed. */
  git(args: readonly string[]): string;
  /** Runs git in the repository and returns its raw stdout. */
  gitBuffer(args: readonly string[]): Buffer;
  /** `git show <rev>:<file>` as text. */
  show(rev: string, file: string): string;
  /** The blob id of `<rev>:<file>`. */
  blob(rev: string, file: string): string;
  /** Writes a file of the work tree, creating its folders. */
  write(file: string, content: string | Buffer): Promise<void>;
  read(file: string): Promise<string>;
  /** Stages everything and commits it. */
  commit(message: string): void;
  cleanup(): Promise<void>;
}

/** Files of a repository: path -> content. */
export type Files = Readonly<Record<string, string | Buffer>>;

/**
 * Creates a repository with `files` committed (as one commit with a fixed date, so that the
 * run's commit ids are the same in every test run), a configured user and no hooks.
 */
export async function makeTempRepo(files: Files = { 'README.md': '# test\n' }): Promise<TempRepo> {
  const root = await realpath(await mkdtemp(path.join(tmpdir(), 'tapps-flow-test-')));
  const dir = path.join(root, 'repo');
  const outside = path.join(root, 'outside');
  await mkdir(dir);
  await mkdir(outside);
  const env = { ...process.env, GIT_AUTHOR_DATE: '@1700000000 +0000', GIT_COMMITTER_DATE: '@1700000000 +0000' };
  const gitBuffer = (args: readonly string[]): Buffer =>
    execFileSync('git', args, { cwd: dir, env, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  const git = (args: readonly string[]): string => gitBuffer(args).toString('utf8').trim();
  const write = async (file: string, content: string | Buffer): Promise<void> => {
    const full = path.join(dir, file);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, content);
  };
  git(['init', '-q', '-b', 'main']);
  git(['config', 'user.name', 'Test User']);
  git(['config', 'user.email', 'test@example.com']);
  git(['config', 'commit.gpgsign', 'false']);
  git(['config', 'core.hooksPath', '/dev/null']);
  for (const [file, content] of Object.entries(files)) await write(file, content);
  const repo: TempRepo = {
    root,
    dir,
    outside,
    git,
    gitBuffer,
    show: (rev, file) => gitBuffer(['show', `${rev}:${file}`]).toString('utf8'),
    blob: (rev, file) => git(['rev-parse', `${rev}:${file}`]),
    write,
    read: (file) => readFile(path.join(dir, file), 'utf8'),
    commit: (message) => {
      git(['add', '--all']);
      git(['commit', '-q', '--allow-empty', '-m', message]);
    },
    cleanup: () => rm(root, { recursive: true, force: true, maxRetries: 3 }),
  };
  repo.commit('base');
  return repo;
}

/** Whether `<rev>:<file>` exists. */
export function hasPath(repo: TempRepo, rev: string, file: string): boolean {
  try {
    repo.git(['cat-file', '-e', `${rev}:${file}`]);
    return true;
  } catch {
    return false;
  }
}
