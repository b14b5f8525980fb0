import path from 'node:path';
import * as z from 'zod/mini';
import { hasControlCharacter, quoted } from './describeIssue';

/** The longest path accepted: what Linux allows a path to a file (PATH_MAX). */
export const MAX_PATH_LENGTH = 4096;

/**
 * A path inside the repository, POSIX-style and relative; a trailing `/` names a folder.
 * Absolute paths, paths that leave the repository and paths into a `.git` folder are rejected.
 */
export const RepoPathSchema = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = repoPathProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }),
);

/** Why `value` cannot be a repository path of `requires` or `creates`, or `undefined`. */
export function repoPathProblem(value: string): string | undefined {
  if (value.trim() === '') return 'expected a path inside the repository, got an empty string';
  if (value.length > MAX_PATH_LENGTH) return `expected a path of at most ${MAX_PATH_LENGTH} characters, got ${value.length}`;
  // A step's prompt and the TAPPS_* environment carry these paths; git would quote them anyway.
  if (hasControlCharacter(value)) return `expected a path without control characters, got ${quoted(value)}`;
  if (value.startsWith('/') || /^[A-Za-z]:[\\/]/.test(value) || value.startsWith('\\')) {
    return `expected a path relative to the repository root, got the absolute path "${value}"`;
  }
  if (value.includes('\\')) return `expected "/" as the path separator, got "${value}"`;
  const normal = path.posix.normalize(value);
  if (normal === '..' || normal.startsWith('../')) return `expected a path inside the repository, got "${value}", which leaves it`;
  if (normal.split('/').some(isGitFolderName)) {
    return `expected a path without a ".git" folder in it (git keeps its own files there), got "${value}"`;
  }
  return undefined;
}

/**
 * Whether a path component names a `.git` folder on some system: in any case (case-insensitive
 * file systems), with the trailing dots and spaces Windows drops, or as its 8.3 short name, as
 * git's own `verify_path` checks.
 */
export function isGitFolderName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.replace(/[. ]+$/, '') === '.git' || /^git~\d+$/.test(lower);
}
