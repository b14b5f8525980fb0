/**
 * What every git command of the engine runs with: an environment from which nothing that
 * redirects git has leaked in, and settings pinned so that the same inputs give the same result
 * on any machine, whatever the user's git configuration.
 */

/**
 * The only `GIT_*` variables passed on to git. Everything else of that prefix is dropped: the
 * variables `git rev-parse --local-env-vars` lists (`GIT_DIR`, `GIT_INDEX_FILE`,
 * `GIT_WORK_TREE`, `GIT_OBJECT_DIRECTORY`, `GIT_CONFIG_PARAMETERS`, …) are set by git for its
 * hooks and editors, so a tool started from a hook or as git's editor inherits them and would
 * make the engine write the user's index; others (`GIT_AUTHOR_*`, `GIT_TRACE*`, `GIT_EXTERNAL_DIFF`,
 * `GIT_NAMESPACE`, …) change ids, output or behaviour. What is kept locates git's own
 * configuration and credentials, which are the user's choice.
 */
export const PASSED_GIT_VARIABLES: ReadonlySet<string> = new Set([
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'GIT_CONFIG_NOSYSTEM',
  'GIT_EXEC_PATH',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_SSH_VARIANT',
  'GIT_ASKPASS',
  'GIT_SSL_NO_VERIFY',
  'GIT_SSL_CAINFO',
  'GIT_HTTP_PROXY_AUTHMETHOD',
]);

/** Where git finds no hooks: the user's hooks are theirs, never run for a step's worktree or a fold. */
const NO_HOOKS = process.platform === 'win32' ? 'NUL' : '/dev/null';

/**
 * Settings pinned on every command (`-c`): safety (no hooks, no fsmonitor program, no automatic
 * gc or maintenance while runs read and write objects, no signing agent) and everything that
 * changes what a merge produces (rename detection, directory renames, the conflict style written
 * into conflicted blobs, renormalisation), set to git's own defaults; and long paths on Windows.
 */
export const PINNED_SETTINGS: readonly (readonly [string, string])[] = [
  ['core.hooksPath', NO_HOOKS],
  ['core.fsmonitor', 'false'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
  ['commit.gpgSign', 'false'],
  ['i18n.commitEncoding', 'UTF-8'],
  ['merge.renames', 'true'],
  ['merge.directoryRenames', 'conflict'],
  ['merge.renameLimit', '7000'],
  ['merge.conflictStyle', 'merge'],
  ['merge.renormalize', 'false'],
  ['core.quotePath', 'false'],
  // Git for Windows: paths longer than 260 characters in worktrees (a deep node_modules under
  // the repository's own folder); git elsewhere has no such limit and ignores the setting.
  ['core.longpaths', 'true'],
];

/**
 * Also pinned in a step's worktree, where the engine checks files out and captures what the step
 * changed: the user's line-ending conversion, global ignore file and global attributes would make
 * the same step give different result commits on two machines. The run's base, captured from the
 * user's own working tree, keeps their settings: that is how their files were checked out.
 */
export const WORKTREE_SETTINGS: readonly (readonly [string, string])[] = [
  ['core.autocrlf', 'false'],
  ['core.safecrlf', 'false'],
  ['core.excludesFile', NO_HOOKS],
  ['core.attributesFile', NO_HOOKS],
];

/** `-c key=value` arguments for a list of settings. */
export function configArgs(settings: readonly (readonly [string, string])[]): string[] {
  return settings.flatMap(([key, value]) => ['-c', `${key}=${value}`]);
}

/**
 * The environment git runs with: the process's own, minus every `GIT_*` variable not in
 * `PASSED_GIT_VARIABLES`, with messages in English (they are parsed: conflict types) and no
 * prompts, plus the call's own variables (a temporary index, the fixed identity of a commit).
 */
export function gitEnvironment(extra: Readonly<Record<string, string>> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = withoutGitRedirects(base);
  env.LC_ALL = 'C';
  env.LANGUAGE = 'C';
  env.GIT_TERMINAL_PROMPT = '0';
  return { ...env, ...extra };
}

/**
 * A process's environment without the `GIT_*` variables that redirect git (a step's own git
 * commands must work on its worktree, not on the repository or index of a hook that started the
 * editor); the rest, credentials and configuration locations included, is passed on.
 */
export function withoutGitRedirects(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (key.toUpperCase().startsWith('GIT_') && !PASSED_GIT_VARIABLES.has(key.toUpperCase())) continue;
    env[key] = value;
  }
  return env;
}
