import { plural } from '../util/words';
import type { Step } from '../workflow/schema';

/** The agents of a step's candidates, in definition order; empty for a step that makes one attempt. */
export function candidateAgents(step: Pick<Step, 'agent' | 'agents' | 'candidates'>): string[] {
  if (step.agents !== undefined) return step.agents.length > 1 || (step.candidates ?? 1) > 1 ? [...step.agents] : [];
  const n = step.candidates ?? 1;
  return n > 1 ? Array.from({ length: n }, () => step.agent) : [];
}

/** What a candidate is ranked by (see `rankCandidates`). */
export interface CandidateScore {
  /** The candidate's number, from 1, in definition order. */
  readonly n: number;
  readonly succeeded: boolean;
  /** Its step-level checks that passed, and how many ran. */
  readonly checksPassed: number;
  readonly checksRun: number;
  /** The number its `score` command printed; null without one, or when it printed none. */
  readonly score: number | null;
  /** Lines its result added and removed against the step's base. */
  readonly diffSize: number | null;
}

/**
 * The candidates best first: those that succeeded before those that did not; then by their
 * step-level checks (more passed first); then by the declared score (`better` says which way; a
 * candidate whose score command printed no number comes after those with one), or without a
 * score command by the size of the change (smaller first); ties by definition order. Only what
 * the results are counts, never when they finished or how long they took: the same results give
 * the same order on every run.
 */
export function rankCandidates(
  candidates: readonly CandidateScore[],
  score: { readonly declared: boolean; readonly better: 'higher' | 'lower' },
): CandidateScore[] {
  const byScore = (a: CandidateScore, b: CandidateScore): number => {
    if (score.declared) {
      if (a.score === null || b.score === null) return a.score === null ? (b.score === null ? 0 : 1) : -1;
      return score.better === 'higher' ? b.score - a.score : a.score - b.score;
    }
    return (a.diffSize ?? Number.MAX_SAFE_INTEGER) - (b.diffSize ?? Number.MAX_SAFE_INTEGER);
  };
  return [...candidates].sort(
    (a, b) => Number(b.succeeded) - Number(a.succeeded) || b.checksPassed - a.checksPassed || byScore(a, b) || a.n - b.n,
  );
}

/** Why the first of a ranking won, for the user. */
export function pickReason(ranked: readonly CandidateScore[], declared: boolean): string {
  const [first, second] = ranked;
  if (!first?.succeeded) return 'no candidate succeeded';
  if (!second || !second.succeeded) return ranked.length === 1 ? 'the only candidate' : 'the only candidate that succeeded';
  if (first.checksPassed !== second.checksPassed)
    return `it passed more of the step's checks (${first.checksPassed} of ${first.checksRun})`;
  if (declared && first.score !== second.score) return first.score === null ? 'the first in definition order' : `its score: ${first.score}`;
  if (!declared && first.diffSize !== second.diffSize) return `the smallest change (${plural(first.diffSize ?? 0, 'line')})`;
  return 'the first in definition order among equals';
}

/** The last number in a score command's output lines, or null when there is none. */
export function scoreOf(lines: readonly string[]): number | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const found = lines[i].match(/-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g);
    if (found) {
      const value = Number(found[found.length - 1]);
      if (Number.isFinite(value)) return value;
    }
  }
  return null;
}
