import type { Git } from './git';
import type { Repository } from './repository';
import { scratchPath } from './scratch';
import { removeRetrying } from '../util/paths';

/** What a step's capture must leave out: the files its setup brought in, and what its setup commands changed. */
export interface KeptOut {
  /** Paths copied or linked in from the main checkout: back to what the base holds there (absent, mostly). */
  readonly paths: readonly string[];
  /** The worktree's tree after its setup commands: each path they changed and the step left as it was is back to the base's. */
  readonly setupTree?: string;
}

const ZERO = '0'.repeat(40);
/** Pathspecs taken as written: a copied file named `*.env` is that file. */
const LITERAL = { GIT_LITERAL_PATHSPECS: '1' };
/** Paths per command line. */
const BATCH = 500;

/**
 * `tree` with the setup's traces set back to `baseTree`: what its commands changed in tracked files
 * (a rewritten lockfile) unless the step changed it further, and whatever the step's worktree holds
 * under the paths the setup brought in (copied secrets stay out, even if a step un-ignored them).
 */
export async function keepOut(repo: Repository, tree: string, baseTree: string, out: KeptOut): Promise<string> {
  const git = repo.git;
  const removals = new Set<string>();
  const additions = new Map<string, string>(); // path -> "mode sha"
  if (out.setupTree && out.setupTree !== baseTree) {
    const churn = await rawDiff(git, baseTree, out.setupTree);
    const stepChanged = new Set(out.setupTree === tree ? [] : (await rawDiff(git, out.setupTree, tree)).map((e) => e.path));
    for (const entry of churn) {
      if (stepChanged.has(entry.path)) continue;
      removals.add(entry.path);
      if (entry.baseMode !== '000000') additions.set(entry.path, `${entry.baseMode} ${entry.baseSha}`);
    }
  }
  for (let i = 0; i < out.paths.length; i += BATCH) {
    const batch = out.paths.slice(i, i + BATCH);
    for (const entry of await listTree(git, tree, batch)) removals.add(entry.path);
    for (const entry of await listTree(git, baseTree, batch)) additions.set(entry.path, `${entry.mode} ${entry.sha}`);
  }
  if (removals.size === 0 && additions.size === 0) return tree;
  const index = await scratchPath(repo, 'index-keepout');
  const env = { GIT_INDEX_FILE: index };
  try {
    await git.run(['read-tree', tree], { env });
    // Removals first: a folder the setup made where the base has a file must go before the file comes back.
    const lines = [...[...removals].sort().map((p) => `0 ${ZERO}\t${p}`), ...[...additions].sort().map(([p, entry]) => `${entry}\t${p}`)];
    await git.run(['update-index', '-z', '--index-info'], { env, input: lines.map((l) => `${l}\0`).join('') });
    return await git.line(['write-tree'], { env });
  } finally {
    await removeRetrying(index, { force: true });
    await removeRetrying(`${index}.lock`, { force: true });
  }
}

/**
 * The changed paths of `tree` (among `paths`) whose contents hold one of `values`: a secret's value
 * written into a file the step's result would carry. The values go to git on its standard input,
 * never on a command line another user could read.
 */
export async function pathsHolding(git: Git, tree: string, paths: readonly string[], values: readonly string[]): Promise<string[]> {
  const patterns = values.filter((v) => v !== '' && !v.includes('\n'));
  if (patterns.length === 0 || paths.length === 0) return [];
  const found: string[] = [];
  for (let i = 0; i < paths.length; i += BATCH) {
    const out = await git.run(['grep', '-l', '-z', '-F', '--no-color', '-f', '-', tree, '--', ...paths.slice(i, i + BATCH)], {
      input: `${patterns.join('\n')}\n`,
      env: LITERAL,
      okExitCodes: [1],
    });
    for (const hit of out.split('\0')) if (hit.startsWith(`${tree}:`)) found.push(hit.slice(tree.length + 1));
  }
  return found.sort();
}

interface RawEntry {
  readonly path: string;
  readonly baseMode: string;
  readonly baseSha: string;
}

/** `diff-tree -r` between two trees: each changed path with its mode and blob on the `from` side. */
async function rawDiff(git: Git, from: string, to: string): Promise<RawEntry[]> {
  const fields = (await git.run(['diff-tree', '-r', '-z', '--no-renames', from, to])).split('\0');
  const entries: RawEntry[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i].replace(/^:/, '').split(' ');
    if (meta.length < 5) break;
    entries.push({ path: fields[i + 1], baseMode: meta[0], baseSha: meta[2] });
  }
  return entries;
}

/** Every blob and link of `tree` at or under the given paths. */
async function listTree(git: Git, tree: string, paths: readonly string[]): Promise<Array<{ path: string; mode: string; sha: string }>> {
  const out = await git.run(['ls-tree', '-r', '-z', '--full-tree', tree, '--', ...paths], { env: LITERAL });
  return out
    .split('\0')
    .filter(Boolean)
    .map((record) => {
      const tab = record.indexOf('\t');
      const [mode, , sha] = record.slice(0, tab).split(' ');
      return { path: record.slice(tab + 1), mode, sha };
    });
}
