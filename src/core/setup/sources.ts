import path from 'node:path';
import type { Git } from '../git/git';
import { TappsError } from '../util/errors';
import type { SourcePart } from './plan';
import {
  command,
  exists,
  fileKind,
  invalid,
  kind,
  notBlank,
  optionalString,
  optionalTable,
  parseJson,
  parseTomlText,
  patternLines,
  quoted,
  readSetupFile,
  shellQuote,
  statInside,
  type Table,
} from './setupFile';

/**
 * Readers of the worktree-setup files other tools keep in a repository, so that a repository set
 * up for Claude Code, Cursor, Conductor, the Codex app or VS Code gets the same setup here. Each
 * file is planted input: read without following links, bounded in size, and checked value by
 * value; a file that cannot be used is an error that says where and what to do.
 */

export interface ReadSetupSourcesOptions {
  /** The editor's `git.worktreeIncludeFiles` glob patterns. @default [] */
  readonly editorIncludeFiles?: readonly string[];
  /** Whose platform-specific commands apply (Cursor's, the Codex app's). @default process.platform */
  readonly platform?: NodeJS.Platform;
}

interface Context {
  readonly git: Git;
  readonly root: string;
  readonly platform: NodeJS.Platform;
}

const PLATFORM_NAMES: Readonly<Record<string, string>> = { darwin: 'macOS', linux: 'Linux', win32: 'Windows' };

/**
 * One part per setup source the main checkout at `repoRoot` has, in precedence order:
 * `.worktreeinclude`, `.cursor/worktrees.json`, Conductor's settings (`.conductor/settings.toml`,
 * else the legacy `conductor.json`), `.codex/environments/environment.toml`, then the editor's
 * globs. `git` is the main checkout's (it tells which Cursor scripts are tracked).
 */
export async function readSetupSources(git: Git, repoRoot: string, options: ReadSetupSourcesOptions = {}): Promise<SourcePart[]> {
  const ctx: Context = { git, root: repoRoot, platform: options.platform ?? process.platform };
  // One after another: the first unusable file in precedence order is the one reported.
  const parts = [
    await readWorktreeInclude(ctx),
    await readCursor(ctx),
    await readConductor(ctx),
    await readCodex(ctx),
    editorPart(options.editorIncludeFiles ?? []),
  ];
  return parts.filter((part): part is SourcePart => part !== undefined);
}

// https://code.claude.com/docs/en/worktrees — .gitignore lines; files that match and are ignored are copied
async function readWorktreeInclude(ctx: Context): Promise<SourcePart | undefined> {
  const file = '.worktreeinclude';
  const text = await readSetupFile(ctx.root, file);
  return text === undefined ? undefined : { origin: file, file, copyPatterns: patternLines(file, text) };
}

// https://cursor.com/docs/configuration/worktrees
async function readCursor(ctx: Context): Promise<SourcePart | undefined> {
  const file = '.cursor/worktrees.json';
  const text = await readSetupFile(ctx.root, file);
  if (text === undefined) return undefined;
  const config = parseJson(file, text);
  const windows = ctx.platform === 'win32';
  const own = windows ? 'setup-worktree-windows' : 'setup-worktree-unix';
  const other = windows ? 'setup-worktree-unix' : 'setup-worktree-windows';
  for (const key of [own, other, 'setup-worktree']) if (Object.hasOwn(config, key)) checkCursorValue(file, key, config[key]);
  const key = [own, 'setup-worktree'].find((k) => Object.hasOwn(config, k));
  const notes: string[] = [];
  if (Object.hasOwn(config, other)) notes.push(`${other} is for ${windows ? 'macOS and Linux' : 'Windows'}: not used on this system.`);
  if (key === own && Object.hasOwn(config, 'setup-worktree'))
    notes.push(`setup-worktree is not used: ${own} takes precedence on this system.`);
  const value = key === undefined ? [] : config[key];
  const commands = typeof value === 'string' ? [await cursorScript(ctx, file, key!, value)] : (value as string[]).filter(notBlank);
  return { origin: file, file, commands, notes };
}

function checkCursorValue(file: string, key: string, value: unknown): void {
  if (typeof value === 'string') {
    command(file, `key ${key}`, value, 'a script path');
    return;
  }
  if (!Array.isArray(value))
    throw invalid(file, `key ${key}`, `expected an array of commands or a script path (a string), found ${kind(file, value)}`);
  value.forEach((item, i) => command(file, `key ${key}[${i}]`, item, 'a command (a string)'));
}

/**
 * Cursor's script path, relative to `.cursor/`, as a command. Its example script carries a
 * shebang and the docs never ask for `chmod +x`: an executable script runs directly (its shebang
 * picks the interpreter), another through `sh`. A tracked script is in every worktree, so it is
 * named relative to the worktree; an untracked one is taken from the main checkout.
 */
async function cursorScript(ctx: Context, file: string, key: string, scriptPath: string): Promise<string> {
  const where = `key ${key}`;
  const written = ctx.platform === 'win32' ? scriptPath.replace(/\\/g, '/') : scriptPath;
  const relative = path.posix.normalize(path.posix.join('.cursor', written));
  const absolute = path.posix.isAbsolute(scriptPath) || path.win32.isAbsolute(scriptPath);
  if (absolute || relative === '..' || relative.startsWith('../') || relative === '.cursor') {
    throw invalid(file, where, `expected a script path inside the repository, relative to .cursor/, found ${quoted(scriptPath)}`);
  }
  const mode = await trackedMode(ctx.git, relative);
  if (mode !== undefined) {
    if (mode !== '100755' && mode !== '100644')
      throw invalid(
        file,
        where,
        `expected ${relative} to be a script file, found ${mode === '120000' ? 'a symbolic link' : 'a submodule'}`,
      );
    return scriptCommand(`./${relative}`, mode === '100755');
  }
  const stat = await statInside(ctx.root, relative, file);
  if (!stat)
    throw invalid(file, where, `expected the script ${relative}, found it neither tracked in the repository nor in the main checkout`);
  if (!stat.isFile()) throw invalid(file, where, `expected ${relative} to be a regular file, found ${fileKind(stat)}`);
  const executable = ctx.platform !== 'win32' && (stat.mode & 0o111) !== 0;
  return scriptCommand(path.join(ctx.root, ...relative.split('/')), executable);
}

function scriptCommand(script: string, executable: boolean): string {
  if (/\.ps1$/i.test(script)) return `powershell -NoProfile -ExecutionPolicy Bypass -File ${shellQuote(script)}`;
  return executable ? shellQuote(script) : `sh ${shellQuote(script)}`;
}

/** The index mode of a tracked file (`100755`, `100644`, `120000`, `160000`), or undefined. */
async function trackedMode(git: Git, relative: string): Promise<string | undefined> {
  const out = await git.run(['--literal-pathspecs', 'ls-files', '-s', '-z', '--', relative]);
  const entry = out.split('\0').find((line) => line.slice(line.indexOf('\t') + 1) === relative);
  return entry?.split(' ')[0];
}

// https://www.conductor.build/docs/reference/settings (and …/files-to-copy, …/environment-variables)
async function readConductor(ctx: Context): Promise<SourcePart | undefined> {
  const file = '.conductor/settings.toml';
  const text = await readSetupFile(ctx.root, file);
  if (text === undefined) return readLegacyConductor(ctx);
  const settings = parseTomlText(file, text);
  const scripts = conductorScripts(file, optionalTable(file, settings, 'scripts'), 'run_mode');
  const globs = optionalString(file, settings, 'file_include_globs');
  const custom = environmentVariables(file, optionalTable(file, settings, 'environment_variables'), scripts.notes);
  if (await exists(path.join(ctx.root, 'conductor.json'))) {
    scripts.notes.push('conductor.json is ignored: .conductor/settings.toml takes precedence, as in Conductor.');
  }
  return {
    origin: file,
    file,
    commands: scripts.commands,
    ...(globs === undefined ? {} : { copyPatterns: patternLines(file, globs, 'file_include_globs') }),
    env: { ...custom, CONDUCTOR_DEFAULT_BRANCH: await defaultBranch(ctx.git) },
    notes: scripts.notes,
  };
}

// https://www.conductor.build/docs/reference/conductor-json — {"scripts": {"setup", "run", "archive"}, "runScriptMode"}
async function readLegacyConductor(ctx: Context): Promise<SourcePart | undefined> {
  const file = 'conductor.json';
  const text = await readSetupFile(ctx.root, file);
  if (text === undefined) return undefined;
  const scripts = conductorScripts(file, optionalTable(file, parseJson(file, text), 'scripts'), undefined);
  const env = { CONDUCTOR_DEFAULT_BRANCH: await defaultBranch(ctx.git) };
  return { origin: file, file, commands: scripts.commands, env, notes: scripts.notes };
}

/** The `setup` script as one command (however many lines); `run` and `archive` as notes. */
function conductorScripts(file: string, scripts: Table, modeKey: string | undefined): { commands: string[]; notes: string[] } {
  const setup = optionalString(file, scripts, 'setup', 'scripts.');
  const notes: string[] = [];
  if (optionalString(file, scripts, 'run', 'scripts.') !== undefined) notes.push("scripts.run is not run: it is Conductor's Run button.");
  if (optionalString(file, scripts, 'archive', 'scripts.') !== undefined)
    notes.push("scripts.archive is not run: Tapps Flow removes a step's worktree itself.");
  if (modeKey) optionalString(file, scripts, modeKey, 'scripts.');
  if (setup?.includes('CONDUCTOR_PORT')) notes.push('CONDUCTOR_PORT is not set: Tapps Flow reserves no ports for steps.');
  return { commands: setup !== undefined && notBlank(setup) ? [setup] : [], notes };
}

/** Variables the step runner gives every setup, or Conductor sets itself: not taken from a file. */
const RESERVED_VARIABLES = /^(TAPPS_.*|ROOT_WORKTREE_PATH|CONDUCTOR_(ROOT_PATH|WORKSPACE_PATH|WORKSPACE_NAME|DEFAULT_BRANCH|PORT))$/;

/** `[environment_variables]`, with its `local` table over it (`cloud` is for Conductor's cloud). */
function environmentVariables(file: string, table: Table, notes: string[]): Record<string, string> {
  const variables: Record<string, string> = {};
  const add = (from: Table, prefix: string): void => {
    for (const [name, value] of Object.entries(from)) {
      if (prefix === 'environment_variables.' && (name === 'local' || name === 'cloud')) continue;
      const where = `key ${prefix}${name}`;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalid(file, where, 'expected an environment variable name (letters, digits, _)');
      const text = command(file, where, value, 'a string');
      if (RESERVED_VARIABLES.test(name)) notes.push(`${prefix}${name} is not set: Tapps Flow sets ${name} itself.`);
      else variables[name] = text;
    }
  };
  add(table, 'environment_variables.');
  add(optionalTable(file, table, 'local', 'environment_variables.'), 'environment_variables.local.');
  optionalTable(file, table, 'cloud', 'environment_variables.');
  return variables;
}

/**
 * Conductor's `CONDUCTOR_DEFAULT_BRANCH`: origin's default branch, else the main checkout's, else
 * `main`. Its other variables name the worktree: every setup gets them from the step runner.
 */
async function defaultBranch(git: Git): Promise<string> {
  const remote = await git.line(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], { okExitCodes: [1, 128] });
  if (remote.startsWith('origin/')) return remote.slice('origin/'.length);
  const current = await git.line(['symbolic-ref', '--quiet', '--short', 'HEAD'], { okExitCodes: [1, 128] });
  return current || 'main';
}

// https://developers.openai.com/codex/app/local-environments — layout of the app's own files:
// version = 1, name, [setup] script, [setup.darwin|linux|win32] script, [cleanup], [[actions]]
async function readCodex(ctx: Context): Promise<SourcePart | undefined> {
  const file = '.codex/environments/environment.toml';
  const text = await readSetupFile(ctx.root, file);
  if (text === undefined) return undefined;
  const doc = parseTomlText(file, text);
  if (doc.version !== 1)
    throw invalid(file, 'key version', `expected version = 1, found ${doc.version === undefined ? 'no version' : kind(file, doc.version)}`);
  const setup = optionalTable(file, doc, 'setup');
  const script = codexScript(file, setup, ctx.platform);
  const notes = Object.keys(PLATFORM_NAMES)
    .filter((p) => p !== ctx.platform && Object.hasOwn(setup, p))
    .map((p) => `[setup.${p}] is for ${PLATFORM_NAMES[p]}: not used on this system.`);
  if (Object.keys(optionalTable(file, doc, 'cleanup')).length > 0)
    notes.push("[cleanup] is not run: Tapps Flow removes a step's worktree itself.");
  const actions = doc.actions ?? [];
  if (!Array.isArray(actions)) throw invalid(file, 'key actions', `expected [[actions]] tables, found ${kind(file, actions)}`);
  if (actions.length > 0) notes.push(`${actions.length} [[actions]] not used: they are buttons of the Codex app.`);
  return { origin: file, file, commands: script !== undefined && notBlank(script) ? [script] : [], notes };
}

/** This platform's `[setup.<platform>] script` where it has one (even empty: nothing to do), else `[setup] script`. */
function codexScript(file: string, setup: Table, platform: NodeJS.Platform): string | undefined {
  const overrides = new Map<string, string | undefined>();
  for (const p of Object.keys(PLATFORM_NAMES)) {
    if (Object.hasOwn(setup, p)) overrides.set(p, optionalString(file, optionalTable(file, setup, p, 'setup.'), 'script', `setup.${p}.`));
  }
  const base = optionalString(file, setup, 'script', 'setup.');
  return overrides.get(platform) ?? base;
}

function editorPart(globs: readonly string[]): SourcePart | undefined {
  for (const glob of globs) {
    if (typeof glob !== 'string' || /[\0\r\n]/.test(glob)) {
      throw new TappsError(
        'invalid-setup-setting',
        `The setting git.worktreeIncludeFiles holds ${quoted(String(glob))}: expected glob patterns, one line each. Fix the setting, or set settings.setup: none in the workflow.`,
      );
    }
  }
  const patterns = globs.filter(notBlank);
  return patterns.length === 0 ? undefined : { origin: 'git.worktreeIncludeFiles', copyPatterns: patterns };
}
