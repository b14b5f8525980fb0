import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { displayPath, shellArg } from './words';

const BIN = 'tapps-flow';

/** Where the command name is looked for: the defaults are this process's. */
export interface CommandContext {
  /** The script node runs (`process.argv[1]`). */
  readonly script?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

let cached: string | undefined;

/**
 * How the user can run this CLI again from the folder they are in, for the commands it prints
 * (a hint printed by the demo must work exactly as printed, typed into the same terminal):
 *
 * 1. `tapps-flow` when that name on the user's PATH is this very script (a global install or
 *    `npm link`). The `node_modules/.bin` folders npm puts on PATH while it runs a script or
 *    `npx` are left out: they are gone in the user's own shell.
 * 2. `npx --no -- tapps-flow` when npx, started in this folder, finds this very script: the bin of the
 *    package the folder belongs to, or a `node_modules/.bin/tapps-flow` in it or a folder above
 *    (`npm run demo` makes one in this project, so it works in the demo repository too).
 * 3. `node <path of the script>`, relative to the folder when inside it, else absolute.
 */
export function commandName(context: CommandContext = {}): string {
  const own = context.script === undefined && context.cwd === undefined && context.env === undefined;
  if (own && cached !== undefined) return cached;
  const script = context.script ?? process.argv[1] ?? '';
  const cwd = context.cwd ?? process.cwd();
  const env = context.env ?? process.env;
  const target = realpath(script);
  let name: string;
  if (target !== undefined && pathTarget(env) === target) name = BIN;
  else if (target !== undefined && npxTarget(cwd) === target) name = `npx --no -- ${BIN}`;
  else {
    name = `node ${shellArg(displayPath(script, cwd))}`;
  }
  if (own) cached = name;
  return name;
}

/** The real path of `tapps-flow` on PATH, npm's `node_modules/.bin` folders left out. */
function pathTarget(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir || (path.basename(dir) === '.bin' && path.basename(path.dirname(dir)) === 'node_modules')) continue;
    const found = realpath(path.join(dir, BIN));
    if (found !== undefined && isFile(found)) return found;
  }
  return undefined;
}

/**
 * The real path of what `npx tapps-flow` runs when started in `cwd`, as npm 10's `libnpmexec`
 * looks it up: the bin of the package at npm's local prefix (the nearest folder holding a
 * `package.json` or `node_modules`), else `node_modules/.bin/tapps-flow` in that folder or one
 * above. Undefined where npx would go to the registry.
 */
function npxTarget(cwd: string): string | undefined {
  const folders: string[] = [];
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    folders.push(dir);
    if (path.dirname(dir) === dir) break;
  }
  const prefixAt = folders.findIndex((d) => exists(path.join(d, 'package.json')) || exists(path.join(d, 'node_modules')));
  const prefix = prefixAt < 0 ? path.resolve(cwd) : folders[prefixAt];
  const own = ownBin(prefix);
  if (own !== undefined) return realpath(path.join(prefix, own));
  for (const dir of folders.slice(Math.max(prefixAt, 0))) {
    const link = path.join(dir, 'node_modules', '.bin', BIN);
    if (isFile(link)) return realpath(link);
  }
  return undefined;
}

/** The package's own `tapps-flow` bin (relative to its folder), if its manifest declares one. */
function ownBin(dir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; bin?: unknown };
    const { bin } = manifest;
    if (typeof bin === 'string') return manifest.name === BIN ? bin : undefined;
    if (bin && typeof bin === 'object' && typeof (bin as Record<string, unknown>)[BIN] === 'string')
      return (bin as Record<string, string>)[BIN];
  } catch {
    // No manifest, or not JSON: npm would not find a bin there either.
  }
  return undefined;
}

function realpath(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
