import picomatch from 'picomatch';
import { TappsError } from '../util/errors';
import { hasControlCharacter, quoted } from '../workflow/describeIssue';
import type { MergePolicyName, MergeRule } from '../workflow/schema';

/** The longest merge pattern accepted, in characters. */
export const MAX_PATTERN_LENGTH = 256;

/**
 * How patterns compile. Picomatch turns a glob into a backtracking regular expression, so the
 * features that make matching time explode are off or bounded (see `complexityProblem`).
 */
const OPTIONS: picomatch.PicomatchOptions = {
  dot: true, // `.github/…` and `.eslintrc.json` are files like any other
  windows: false, // repository paths use "/" on every system; picomatch would guess from the OS
  noextglob: true, // `+(a|b)` is not part of the format, and nested quantifiers match in exponential time
  nonegate: true, // a leading "!" is rejected by `globProblem`, never read as a negation
  strictBrackets: true, // an unclosed "{", "[" or "(" is an error rather than a literal character
};

/**
 * A merge pattern as a test of repository paths. The format's semantics, over picomatch's:
 * `**` as a whole folder name crosses folders, `*` and `?` do not, `{a,b}` is either; a pattern
 * without "/" matches the file name in any folder (as in .gitignore); a leading "/" anchors the
 * pattern at the root; a trailing "/" matches everything below that folder; dotfiles match.
 * Throws on a pattern `globProblem` rejects.
 */
export function compileGlob(pattern: string): (path: string) => boolean {
  const anchored = pattern.startsWith('/');
  const body = effectivePattern(pattern);
  return picomatch(body, { ...OPTIONS, basename: !anchored && !body.includes('/') });
}

/** The pattern picomatch compiles: without the anchoring "/", with `**` after a trailing "/". */
function effectivePattern(pattern: string): string {
  const body = pattern.startsWith('/') ? pattern.slice(1) : pattern;
  return body.endsWith('/') ? `${body}**` : body;
}

/** The most alternatives the `{a,b}` groups of one pattern may spell out. */
const MAX_ALTERNATIVES = 16;

/** Why `pattern` cannot be a merge pattern, saying what was expected, or `undefined` when it can. */
export function globProblem(pattern: string): string | undefined {
  const shown = quoted(pattern);
  if (pattern.trim() === '') return 'expected a path pattern, got an empty text';
  if (hasControlCharacter(pattern)) return `expected a pattern without control characters, got ${shown}`;
  if (pattern.length > MAX_PATTERN_LENGTH) return `expected a pattern of at most ${MAX_PATTERN_LENGTH} characters, got ${pattern.length}`;
  if (pattern.includes('\\')) return `expected "/" as the path separator, got ${shown}`;
  if (pattern.startsWith('!')) {
    return `expected a pattern that matches paths, got ${shown}: "!" does not exclude paths here; a later rule, or the default text merge, applies to paths no rule matches`;
  }
  try {
    compileGlob(pattern);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const missing = /Missing closing: "(.)"/.exec(message);
    return `expected a complete pattern, got ${shown}: ${missing ? `missing a closing "${missing[1]}"` : message.split('\n')[0]}`;
  }
  const spelled = alternatives(pattern);
  if (!spelled) {
    return `expected a simpler pattern, got ${shown}: its "{…}" groups spell out more than ${MAX_ALTERNATIVES} alternatives, each of which is tried on every path; split it into several patterns under "paths:"`;
  }
  for (const alternative of spelled) {
    const problem = alternativeProblem(alternative);
    if (problem) return problem(shown);
  }
  return undefined;
}

/** What is wrong with one spelled-out alternative of a pattern, as a message about the whole pattern. */
function alternativeProblem(alternative: string): ((shown: string) => string) | undefined {
  if (alternative.startsWith('//') || /^\/?[A-Za-z]:/.test(alternative)) {
    return (shown) => `expected a pattern relative to the repository root (a leading "/" anchors it there), got the absolute path ${shown}`;
  }
  const names = effectivePattern(alternative).split('/');
  if (names.length === 1 && names[0] === '') return (shown) => `expected a path pattern, got ${shown}`;
  if (names.some((n) => n === '.' || n === '..')) {
    return (shown) => `expected a pattern without "." or ".." folders (paths in a repository have none), got ${shown}`;
  }
  if (names.some((n) => n === '')) return (shown) => `expected a pattern without empty folder names, got ${shown}`;
  const partial = names.find((n) => n.includes('**') && n !== '**');
  if (partial !== undefined) {
    const hint = /^\*\*[^*]/.test(partial) ? `"${alternative.replace(partial, `**/*${partial.slice(2)}`)}"` : 'a "**" folder of its own';
    return (shown) => `expected "**" as a whole folder name, got ${shown}; write ${hint} for files in every folder below`;
  }
  const complex = complexityProblem(names);
  if (complex) return (shown) => `expected a simpler pattern, got ${shown}: ${complex}; split it into several patterns under "paths:"`;
  return undefined;
}

/**
 * The patterns that a pattern's `{a,b}` groups spell out (`{src,lib}/**` is `src/**` and
 * `lib/**`), so that each is checked as a plain pattern; `undefined` past `MAX_ALTERNATIVES`. A
 * group without a comma (`{1..3}`, a range) is kept as it is. Braces are balanced: the pattern
 * compiled with `strictBrackets`.
 */
function alternatives(pattern: string): string[] | undefined {
  let open = -1;
  let depth = 0;
  const commas: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') {
      if (depth++ === 0) {
        open = i;
        commas.length = 0;
      }
    } else if (c === '}' && depth > 0 && --depth === 0) {
      if (commas.length === 0) continue; // no alternatives: a range or a literal
      const bounds = [open, ...commas, i];
      const out: string[] = [];
      for (let k = 0; k + 1 < bounds.length; k++) {
        const more = alternatives(pattern.slice(0, open) + pattern.slice(bounds[k] + 1, bounds[k + 1]) + pattern.slice(i + 1));
        if (!more || out.push(...more) > MAX_ALTERNATIVES) return undefined;
      }
      return out;
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  return [pattern];
}

/**
 * Bounds on the wildcards of a pattern (one alternative of it). Matching is a backtracking search
 * whose time grows as (path length)^(wildcards that can compete for the same characters),
 * measured: 3 `*` in one name against a 255-character name, 1 s; 4, 48 s; 3 `**` against a
 * 4,000-character path, 0.9 s; 4, 115 s. Within these bounds the worst path measured takes about
 * 10 ms, the documented patterns (`**\/*.json`, `docs/**\/*.md`, `**\/test/**\/*.snap`) under 3 ms.
 */
function complexityProblem(names: readonly string[]): string | undefined {
  let wildcards = 0;
  let globstars = 0;
  for (const name of names) {
    const stars = name === '**' ? 1 : (name.match(/\*+/g)?.length ?? 0);
    if (name === '**') globstars++;
    wildcards += stars;
    if (stars > 2 || wildcards > 3 || globstars > 2) {
      return 'at most 3 "*" or "**" in a pattern, at most 2 of them "**" (a trailing "/" counts as one) and at most 2 in one folder name, because each one multiplies the time to match a path';
    }
  }
  return undefined;
}

/** Picks the merge policy of a path: the first matching rule wins; `text` when none matches. */
export function policyMatcher(rules: readonly MergeRule[]): (path: string) => MergePolicyName {
  const compiled = rules.map((r) => ({ policy: r.policy, tests: r.paths.map(compileRulePattern) }));
  return (path) => compiled.find((r) => r.tests.some((test) => test(path)))?.policy ?? 'text';
}

function compileRulePattern(pattern: string): (path: string) => boolean {
  // Rules are validated when they are read (workflow file, recorded run); this is the last guard.
  const problem = globProblem(pattern);
  if (problem) throw new TappsError('invalid-merge-pattern', `Invalid merge pattern: ${problem}`);
  return compileGlob(pattern);
}
