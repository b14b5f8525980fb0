import * as z from 'zod/mini';

/** What an id names, for messages: a step of a workflow or a run. */
export type IdKind = 'step' | 'run' | 'check';

/** The longest id accepted, in characters. */
export const ID_MAX_LENGTH = 80;

/** Windows reserves these names, with or without an extension, in every folder. */
const WINDOWS_DEVICE = /^(?:con|prn|aux|nul|com[1-9]|lpt[1-9])(?:\.|$)/i;

/**
 * The whole rule as one regular expression, for the JSON Schema (editors check ids as the user
 * types); `idProblem` says which part of it a value breaks. JSON Schema patterns carry no flags,
 * hence the spelled-out letter cases.
 */
export const ID_PATTERN = new RegExp(
  [
    '^',
    '(?!.*\\.\\.)', // no ".."
    '(?!.*\\.$)', // not ending in "."
    '(?!.*\\.[Ll][Oo][Cc][Kk]$)', // not ending in ".lock"
    '(?!(?:[Cc][Oo][Nn]|[Pp][Rr][Nn]|[Aa][Uu][Xx]|[Nn][Uu][Ll]|[Cc][Oo][Mm][1-9]|[Ll][Pp][Tt][1-9])(?:\\.|$))',
    `[A-Za-z0-9][A-Za-z0-9._-]{0,${ID_MAX_LENGTH - 1}}`,
    '$',
  ].join(''),
);

const RULE = `letters, digits, ".", "_" or "-", starting with a letter or digit, at most ${ID_MAX_LENGTH} characters, with no ".." and not ending in "." or ".lock"`;

/**
 * Why `value` cannot be a step id or a run id, or `undefined` when it can. One rule for both,
 * because both name a git ref component (`refs/tapps-flow/runs/<run>/<step>`) and a folder of
 * their own (`workflow-state/<run>/steps/<step>/`): the characters are those `git check-ref-format`
 * accepts in a component and every file system accepts in a name; ".lock" is git's lock-file
 * suffix; a trailing "." is dropped by Windows; the device names are reserved by Windows.
 * Case is not part of the rule: the caller compares ids without case where they share a folder.
 */
export function idProblem(what: IdKind, value: string): string | undefined {
  if (ID_PATTERN.test(value)) return undefined;
  return `invalid ${what} id ${show(value)}: ${reason(value)}; expected ${RULE}`;
}

function reason(value: string): string {
  if (value === '') return 'it is empty';
  if (value.length > ID_MAX_LENGTH) return `it has ${value.length} characters`;
  if (!/^[A-Za-z0-9]/.test(value)) return `it starts with ${show(value[0])}`;
  const bad = /[^A-Za-z0-9._-]/.exec(value);
  if (bad) return `it contains ${show(bad[0])}`;
  if (value.includes('..')) return 'it contains ".."';
  if (value.endsWith('.')) return 'it ends in "."';
  if (/\.lock$/i.test(value)) return `it ends in ${show(value.slice(-5))}, the suffix git gives its lock files`;
  if (WINDOWS_DEVICE.test(value)) return `${show(value.split('.')[0])} is a device name that Windows reserves`;
  return 'it breaks the rule';
}

/** A value as quoted in a message: long values cut, every control character escaped (JSON escapes only C0). */
function show(value: string): string {
  const json = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return json.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A zod schema of an id of `what`, reporting `idProblem`'s message; its JSON Schema carries `ID_PATTERN`. */
export function idSchema(what: IdKind) {
  return z
    .string()
    .check(
      z.superRefine((value, ctx) => {
        const problem = idProblem(what, value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
      }),
    )
    .register(z.globalRegistry, { pattern: ID_PATTERN.source });
}
