import type { RmOptions } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// File-system paths only. Paths inside a repository (tree entries, `file:` keys) are git's: always
// `/`-separated and compared byte for byte, whatever the platform.
//
// Every function takes the platform so that each one's rules can be tested on any machine: the
// `path` flavour used is the platform's, never the host's.

const flavourOf = (platform: NodeJS.Platform): path.PlatformPath => (platform === 'win32' ? path.win32 : path.posix);

/**
 * Absolute paths that `resolve` would return as they are (one separator between names, no `.` nor
 * `..`, none at the end): the usual case, told by one test instead of a resolve, since the escape
 * watch compares every path it sees against a dozen folders.
 */
const PLAIN_POSIX = /^(?:\/(?!\.\.?(?:\/|$))[^/]+)+$/;
const PLAIN_WIN32 = /^[A-Za-z]:(?:\\(?!\.\.?(?:\\|$))[^\\/]+)+$/;

/**
 * `\\?\C:\x` and `\\?\UNC\server\share\x` (what some Windows APIs hand back for long paths) as the
 * `C:\x` and `\\server\share\x` they name: `path.win32` takes the prefix for a device's root.
 */
function withoutLongPrefix(p: string): string {
  if (!/^[\\/][\\/]\?[\\/]/.test(p)) return p;
  const rest = p.slice(4);
  return /^UNC[\\/]/i.test(rest) ? `\\\\${rest.slice(4)}` : rest;
}

/** Absolute and normalised, case kept: the form whose names are the file system's. */
function resolved(p: string, platform: NodeJS.Platform): string {
  if (platform !== 'win32') return PLAIN_POSIX.test(p) ? p : path.posix.resolve(p);
  const q = withoutLongPrefix(p);
  return PLAIN_WIN32.test(q) ? q : path.win32.resolve(q);
}

/**
 * A path in the one form that two names of the same place share, for comparing and as a map key
 * (never to open: its case may not be the file's). Windows: `/` and `\` alike, drive and names
 * case-folded (NTFS ignores case by default; git hands back `C:/x`, VS Code `c:\x`). macOS:
 * case-folded and Unicode-composed (APFS and HFS+ ignore both by default; git composes names,
 * FSEvents reports them as stored). Linux: case matters. A trailing separator goes, except at a
 * root. A volume set up otherwise (case-sensitive APFS, a case-sensitive NTFS folder) may see two
 * of its folders as one here: only ever a looser match, never a missed one.
 */
export function comparablePath(p: string, platform: NodeJS.Platform = process.platform): string {
  const full = resolved(p, platform);
  if (platform === 'win32') return full.toLowerCase();
  if (platform === 'darwin') return full.normalize('NFC').toLowerCase();
  return full;
}

/** Whether `a` and `b` name the same place, as the platform's file system reads names (links not followed). */
export function samePath(a: string, b: string, platform: NodeJS.Platform = process.platform): boolean {
  return a === b || comparablePath(a, platform) === comparablePath(b, platform);
}

/** Where `child` is against `parent`: the same place, below it, or elsewhere (`C:\repo2` is not in `C:\repo`). */
function placeOf(child: string, parent: string, platform: NodeJS.Platform): 'same' | 'below' | undefined {
  const c = comparablePath(child, platform);
  const p = comparablePath(parent, platform);
  if (c === p) return 'same';
  const sep = flavourOf(platform).sep;
  return c.startsWith(p) && (p.endsWith(sep) || c[p.length] === sep) ? 'below' : undefined;
}

/** Whether `child` is `parent` or anywhere below it. */
export function isInside(child: string, parent: string, platform: NodeJS.Platform = process.platform): boolean {
  return placeOf(child, parent, platform) !== undefined;
}

/** Whether `child` is below `parent`, not `parent` itself. */
export function isStrictlyInside(child: string, parent: string, platform: NodeJS.Platform = process.platform): boolean {
  return placeOf(child, parent, platform) === 'below';
}

/**
 * `child` relative to `parent`, `/`-separated with the child's own case (what git and the user
 * call it), `''` for `parent` itself; undefined when it is outside. Unlike
 * `path.relative(...).startsWith('..')`, a name like `..cache` is inside, and on macOS a parent
 * spelt in another case still holds it.
 */
export function relativeInside(parent: string, child: string, platform: NodeJS.Platform = process.platform): string | undefined {
  const place = placeOf(child, parent, platform);
  if (place !== 'below') return place === 'same' ? '' : undefined;
  const names = (p: string) => resolved(p, platform).split(flavourOf(platform).sep).filter(Boolean);
  return names(child).slice(names(parent).length).join('/');
}

/**
 * Errors of Windows while another process (an antivirus, the search indexer, an editor's watcher,
 * a step's process on its way out) still has a file open: they pass within moments.
 */
const BUSY_CODES = new Set(['EBUSY', 'EPERM', 'EACCES', 'ENOTEMPTY']);
/** The waits between tries on Windows: about 2 s in all, then the error stands. */
const BUSY_WAITS_MS = [50, 100, 200, 400, 600, 650];
/** The same for Node's own retries of a recursive delete, which waits `retryDelay` longer each time: 0.1 + 0.2 + … + 0.6 s. */
const RM_RETRIES = { maxRetries: 6, retryDelay: 100 };

/**
 * Runs `op`, and on Windows runs it again while it fails as a busy file does (see `BUSY_CODES`).
 * Elsewhere these errors mean what they say, and it runs once.
 */
export async function retryBusy<T>(op: () => Promise<T>, platform: NodeJS.Platform = process.platform): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      if (platform !== 'win32' || attempt >= BUSY_WAITS_MS.length || code === undefined || !BUSY_CODES.has(code)) throw error;
      await sleep(BUSY_WAITS_MS[attempt]);
    }
  }
}

/** `rename`, tried again on Windows while a file in it is busy. */
export function renameRetrying(from: string, to: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  return retryBusy(() => rename(from, to), platform);
}

/**
 * `rm`, tried again on Windows while a file in it is busy: by Node itself for a folder (its
 * `maxRetries`, which a single file's delete ignores), here for a file.
 */
export function removeRetrying(target: string, options: RmOptions = {}, platform: NodeJS.Platform = process.platform): Promise<void> {
  if (platform !== 'win32') return rm(target, options);
  if (!options.recursive) return retryBusy(() => rm(target, options), platform);
  const maxRetries = Math.max(options.maxRetries ?? 0, RM_RETRIES.maxRetries);
  return rm(target, { ...options, maxRetries, retryDelay: options.retryDelay ?? RM_RETRIES.retryDelay });
}
