import type { MergePolicyName, MergeRule } from '../workflow/schema';

/**
 * A glob as a regular expression over repository paths: `**` crosses folders, `*` and `?` do not,
 * `{a,b}` is either. A pattern without `/` matches the file name in any folder (like .gitignore).
 */
export function globToRegExp(glob: string): RegExp {
  const pattern = glob.includes('/') ? glob.replace(/^\//, '') : `**/${glob}`;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '{') {
      const end = pattern.indexOf('}', i);
      if (end < 0) out += '\\{';
      else {
        out += `(?:${pattern
          .slice(i + 1, end)
          .split(',')
          .map(escape)
          .join('|')})`;
        i = end;
      }
    } else out += escape(c);
  }
  return new RegExp(`^${out}${pattern.endsWith('/') ? '.*' : ''}$`);
}

function escape(text: string): string {
  return text.replace(/[.+^$()|[\]\\{}]/g, '\\$&');
}

/** Picks the merge policy of a path: the first matching rule wins; `text` when none matches. */
export function policyMatcher(rules: readonly MergeRule[]): (path: string) => MergePolicyName {
  const compiled = rules.map((r) => ({ policy: r.policy, patterns: r.paths.map(globToRegExp) }));
  return (path) => compiled.find((r) => r.patterns.some((p) => p.test(path)))?.policy ?? 'text';
}
