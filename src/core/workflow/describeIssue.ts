import type * as z from 'zod/mini';

/** What a value is, in a user's words, for "expected X, got Y". */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text "${printable(value.length > 40 ? `${value.slice(0, 40)}…` : value)}"`;
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'a value that is not a number';
    return Number.isFinite(value) ? `the number ${value}` : 'an infinite number';
  }
  return `the value ${JSON.stringify(value) ?? typeof value}`;
}

/** Whether `text` holds a control character (C0, DEL or C1): a NUL, a line break, a terminal escape. */
export function hasControlCharacter(text: string): boolean {
  return /\p{Cc}/u.test(text);
}

/** A control character as an escape: JSON's short one (`\n`) where there is one, else `\u0085`. */
function escaped(c: string): string {
  const json = JSON.stringify(c).slice(1, -1);
  return json.length > 1 ? json : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Control characters as escapes: a message must not carry a NUL or a terminal escape to the user's screen. */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, escaped);
}

/** `text` as a JSON string for a message, cut after `max` characters, every control character escaped. */
export function quoted(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text).replace(/\p{Cc}/gu, escaped);
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a text value',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** Whether zod's message is one of ours (a schema's own) rather than its generic "Invalid input". */
const ownMessage = (issue: z.core.$ZodIssue) => issue.message !== '' && !issue.message.startsWith('Invalid');

/** A zod issue as one sentence saying what was expected and what came. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const nonFinite = typeof input === 'number' && !Number.isFinite(input);
      const expected = ownMessage(issue)
        ? issue.message.replace(/^expected /, '')
        : nonFinite
          ? 'a finite number'
          : (TYPE_WORDS[issue.expected] ?? issue.expected);
      if (input === undefined) return `missing: expected ${expected}`;
      return `expected ${expected}, got ${describeValue(input)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(input)}`;
    case 'invalid_union':
      return `${ownMessage(issue) ? issue.message : 'expected a text value or a list of them'}, got ${describeValue(input)}`;
    case 'invalid_key':
      // A record's key that its key schema refused: that schema's messages name the key.
      return issue.issues.map((i) => i.message).join('; ');
    case 'too_big':
      if (Array.isArray(input)) return `${issue.message}, got ${input.length}`;
      return input === undefined ? issue.message : `${issue.message}, got ${describeValue(input)}`;
    case 'too_small':
      return input === undefined || Array.isArray(input) ? issue.message : `${issue.message}, got ${describeValue(input)}`;
    default:
      return issue.message;
  }
}
