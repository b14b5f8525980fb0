import type * as z from 'zod/mini';
import { closest } from '../util/didYouMean';
import type { WorkflowIssue } from '../util/errors';
import { describeIssue } from './describeIssue';
import type { IssueAt } from './issues';
import { MAX_REPORTED_ISSUES } from './limits';
import {
  AgentSchema,
  CheckSchema,
  MergeRuleSchema,
  SettingsSchema,
  SetupSchema,
  StepGateSchema,
  StepSchema,
  WorkflowFileSchema,
  WorkflowSchema,
} from './schema';
import type { Positions } from './yamlPositions';

/**
 * A zod issue of the workflow schema as positioned issues: the value's position, or the key's for
 * key problems. `positions` and `pathInFile` take a path of `data` to the file (see `fileLayout`).
 */
export function schemaIssues(
  zi: z.core.$ZodIssue,
  data: unknown,
  positions: Positions,
  issue: IssueAt,
  pathInFile: (path: readonly PropertyKey[]) => readonly PropertyKey[] = (p) => p,
): WorkflowIssue[] {
  if (zi.code === 'invalid_union' && zi.errors.length > 0) {
    // The branch that got furthest into the value (a list whose item is wrong, say) explains best.
    const depth = (branch: readonly z.core.$ZodIssue[]) => Math.max(...branch.map((b) => b.path.length));
    const best = [...zi.errors].sort((a, b) => depth(b) - depth(a))[0];
    if (depth(best) > 0)
      return best.flatMap((b) => schemaIssues({ ...b, path: [...zi.path, ...b.path] }, data, positions, issue, pathInFile));
  }
  const shown = pathInFile(zi.path);
  if (zi.code === 'unrecognized_keys') {
    const where = shown.length > 0 ? `${formatPath(shown)}: ` : '';
    const allowed = keysAt(zi.path);
    const located = zi.keys.map((key) => ({ key, at: positions.keyAt(zi.path, key) }));
    located.sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column);
    // Only the first ones in file order can be listed: the rest need no suggestion (50,000 of them took 0.5 s).
    return located.map(({ key, at }, i) =>
      issue(
        at,
        i <= MAX_REPORTED_ISSUES
          ? `${where}unknown key "${key}"${didYouMeanKey(key, allowed)}; expected one of: ${allowed.join(', ')}`
          : `${where}unknown key "${key}"`,
      ),
    );
  }
  if (zi.code === 'invalid_key') {
    // The path ends with the key itself: point at it, and name the mapping that holds it.
    const map = zi.path.slice(0, -1);
    const key = String(zi.path[zi.path.length - 1]);
    const shownMap = pathInFile(map);
    return [issue(positions.keyAt(map, key), `${shownMap.length > 0 ? `${formatPath(shownMap)}: ` : ''}${describeIssue(zi, key)}`)];
  }
  const where = shown.length > 0 ? `${formatPath(shown)}: ` : '';
  return [issue(positions.valueAt(zi.path), `${where}${describeIssue(zi, valueAt(data, zi.path))}`)];
}

/** The keys allowed in the mapping at `path`, for "unknown key" messages. */
function keysAt(path: readonly PropertyKey[]): string[] {
  const p = path.map(String);
  const shape =
    p.length === 0
      ? WorkflowFileSchema.shape
      : p.length === 1
        ? WorkflowSchema.shape
        : p[1] === 'settings'
          ? SettingsSchema.shape
          : p[1] === 'steps'
            ? p[3] === 'gate'
              ? StepGateSchema.shape
              : StepSchema.shape
            : p[1] === 'merge'
              ? MergeRuleSchema.shape
              : p[1] === 'agents'
                ? AgentSchema.shape
                : p[1] === 'setup'
                  ? SetupSchema.shape
                  : p[1] === 'checks'
                    ? CheckSchema.shape
                    : {};
  return Object.keys(shape);
}

/**
 * The known key that `key` is a likely typo of, if any: one `closest` finds, or one with two
 * neighbouring characters swapped (`agnet`, which is two edits from `agent`).
 */
export function typoOfKey(key: string, candidates: readonly string[]): string | undefined {
  const found = closest(key, candidates);
  if (found !== undefined) return found;
  const lower = key.toLowerCase();
  for (let i = 0; i + 1 < lower.length; i++) {
    if (lower[i] === lower[i + 1]) continue;
    const swapped = `${lower.slice(0, i)}${lower[i + 1]}${lower[i]}${lower.slice(i + 2)}`;
    const match = candidates.find((c) => c.toLowerCase() === swapped);
    if (match !== undefined) return match;
  }
  return undefined;
}

/** ` (did you mean "x"?)` for a likely typo of a known key, or the empty string. */
function didYouMeanKey(key: string, candidates: readonly string[]): string {
  const match = typoOfKey(key, candidates);
  return match === undefined ? '' : ` (did you mean "${match}"?)`;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** `workflow.steps[2].creates[0]`, the way a user reads a path into their file. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join('');
}
