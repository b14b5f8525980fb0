import type * as z from 'zod/mini';

/** What a value is, in a user's words, for "expected X, got Y". */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return typeof value === 'number' ? `the number ${value}` : `the value ${JSON.stringify(value) ?? typeof value}`;
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

/** A zod issue as one sentence saying what was expected and what came. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
      if (input === undefined) return `missing: expected ${expected}`;
      return `expected ${expected}, got ${describeValue(input)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(input)}`;
    case 'invalid_union':
      return `${issue.message && !issue.message.startsWith('Invalid') ? issue.message : 'expected a text value or a list of them'}, got ${describeValue(input)}`;
    case 'too_big':
    case 'too_small':
      return input === undefined || Array.isArray(input) ? issue.message : `${issue.message}, got ${describeValue(input)}`;
    default:
      return issue.message;
  }
}
