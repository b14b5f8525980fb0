import { constants, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { TappsError } from '../util/errors';
import { openNoFollow } from '../util/openNoFollow';

/**
 * Reading and checking a setup file of another tool: planted input, read without following links,
 * bounded in size, each value checked; a problem is an error that says where and what to do.
 */

export type Table = Record<string, unknown>;

/** Setup files hold a few commands: anything larger is not one. */
const MAX_FILE_BYTES = 1024 * 1024;
export const FIX = 'Fix it, or set settings.setup: none in the workflow.';

/** The pattern lines of a `.gitignore`-style text: blank lines and `#` comments dropped. */
export function patternLines(file: string, text: string, key?: string): string[] {
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.includes('\0')) throw invalid(file, key ? `key ${key}` : `line ${i + 1}`, 'expected a pattern, found a NUL character');
  });
  return lines.filter((line) => notBlank(line) && !line.startsWith('#'));
}

/** A command (or script) value: a string without NUL characters. */
export function command(file: string, where: string, value: unknown, expected: string): string {
  if (typeof value !== 'string') throw invalid(file, where, `expected ${expected}, found ${kind(file, value)}`);
  if (value.includes('\0')) throw invalid(file, where, `expected ${expected}, found a NUL character in it`);
  return value;
}

export function optionalString(file: string, table: Table, key: string, prefix = ''): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  return command(file, `key ${prefix}${key}`, value, 'a string');
}

export function optionalTable(file: string, table: Table, key: string, prefix = ''): Table {
  const value = table[key];
  if (value === undefined) return {};
  if (!isTable(value))
    throw invalid(file, `key ${prefix}${key}`, `expected ${file.endsWith('.json') ? 'an object' : 'a table'}, found ${kind(file, value)}`);
  return value;
}

export function parseJson(file: string, text: string): Table {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const at = /at position (\d+)/.exec(message);
    // V8 names the position for some errors only, and quotes the text for others: not repeated.
    const reason = message.replace(/(, (\.\.\.)?".*" is not valid JSON| in JSON at position \d+).*$/s, '');
    throw invalid(file, at ? lineAndColumn(text, Number(at[1])) : undefined, `expected valid JSON (${reason})`);
  }
  if (!isTable(value)) throw invalid(file, undefined, `expected a JSON object, found ${kind(file, value)}`);
  return value;
}

export function parseTomlText(file: string, text: string): Table {
  try {
    return parseToml(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
    throw invalid(file, `line ${error.line}, column ${error.column}`, `expected valid TOML (${reason})`);
  }
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/**
 * The text of a setup file of the repository, or undefined when there is none. Refused: a link
 * (the file or a folder on its way), anything but a regular file, over 1 MiB, not UTF-8.
 */
export async function readSetupFile(root: string, file: string): Promise<string | undefined> {
  const stat = await statInside(root, file, file);
  if (!stat) return undefined;
  if (!stat.isFile()) throw invalid(file, undefined, `expected a regular file, found ${fileKind(stat)}`);
  if (stat.size > MAX_FILE_BYTES) throw invalid(file, undefined, `expected at most 1 MiB, found ${stat.size} bytes`);
  const bytes = await readBounded(path.join(root, ...file.split('/')), file);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw invalid(file, undefined, 'expected UTF-8 text');
  }
}

/** `lstat` of a repository path, refusing links on the way; undefined when it is not there. */
export async function statInside(root: string, relative: string, file: string): Promise<Stats | undefined> {
  const parts = relative.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const step = parts.slice(0, i).join('/');
    const stat = await lstat(path.join(root, ...parts.slice(0, i))).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw invalid(file, undefined, `could not be read (${error.code ?? error.message})`);
    });
    if (!stat) return undefined;
    if (stat.isSymbolicLink()) {
      throw invalid(
        file,
        undefined,
        `expected a regular file of the repository, found a symbolic link${step === file ? '' : ` (${step})`}`,
      );
    }
    if (i < parts.length && !stat.isDirectory()) return undefined;
    if (i === parts.length) return stat;
  }
  return undefined;
}

/** Reads at most 1 MiB, without following a link swapped in since the `lstat`, nor waiting on a pipe. */
async function readBounded(full: string, file: string): Promise<Buffer> {
  const handle = await openNoFollow(full, constants.O_RDONLY).catch((error: NodeJS.ErrnoException) => {
    throw invalid(
      file,
      undefined,
      error.code === 'ELOOP' ? 'expected a regular file, found a symbolic link' : `could not be read (${error.code ?? error.message})`,
    );
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw invalid(file, undefined, `expected a regular file, found ${fileKind(stat)}`);
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_FILE_BYTES) throw invalid(file, undefined, 'expected at most 1 MiB, found more');
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

export function invalid(file: string, where: string | undefined, problem: string): TappsError {
  return new TappsError('invalid-setup-file', `${file}${where ? `, ${where}` : ''}: ${problem}. ${FIX}`);
}

/** What a value of a setup file is, in the words of its format. */
export function kind(file: string, value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return file.endsWith('.json') ? 'an object' : 'a table';
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  return typeof value === 'boolean' ? `the boolean ${value}` : typeof value;
}

export async function exists(full: string): Promise<boolean> {
  return lstat(full).then(
    () => true,
    () => false,
  );
}

export function fileKind(stat: Stats): string {
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return stat.isDirectory() ? 'a folder' : 'a special file';
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

export function notBlank(text: string): boolean {
  return text.trim() !== '';
}

/** A value from a planted file, shown in a message: quoted, and cut short. */
export function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** `text` as one shell word. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
