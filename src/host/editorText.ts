// Words the editor shows. Plain text functions (no editor API), so that they are tested in Node.

import type { RunSnapshot } from '../core/state/snapshot';
import { TappsError } from '../core/util/errors';
import { listed, plural } from '../core/util/words';

/**
 * What the editor says in place of the engine's advice for the command line: the same next step,
 * where it is in the editor. Keyed by the engine error's code.
 */
const EDITOR_ADVICE: Readonly<Record<string, string>> = {
  'unresolved-conflicts': "Resolve each conflict from the run's Conflicts in the Runs view (right-click it), then apply again.",
  'no-aggregate': 'Resume the run from the Runs view.',
  'not-a-repository': 'Open a folder that is inside a git repository.',
  'symlinks-out': "Look at them in the run's conflict report.",
  'run-exists': 'Start the run again.',
};

/** A sentence that tells the user to type a command: `tapps-flow resolve …`, `--take`, `--repo DIR`. */
const COMMAND_LINE = /\btapps-flow [a-z]|(^|[\s(])--[a-z]/;

/**
 * An engine message as the editor shows it: the sentences that give command-line syntax are
 * left out, and the editor's own way to do the same is said instead.
 */
export function editorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const sentences = message.split(/(?<=[.!?])\s+(?=[A-Z])/);
  if (!sentences.some((s) => COMMAND_LINE.test(s))) return message;
  const kept = sentences.filter((s) => !COMMAND_LINE.test(s));
  const advice = TappsError.is(error) ? EDITOR_ADVICE[error.code] : undefined;
  return [kept[0], advice, ...kept.slice(1)].filter((x): x is string => Boolean(x)).join(' ');
}

/**
 * What a finished run's notification says: its real outcome, what its result lacks, and the next
 * actions as buttons (the editor's own commands; no command-line syntax).
 */
export function outcomeMessage(s: RunSnapshot): {
  text: string;
  actions: string[];
  severity: 'error' | 'warning' | 'info';
  failedStep: string | undefined;
} {
  const name = s.workflow.name;
  const ended = (...statuses: string[]) => s.steps.filter((x) => statuses.includes(x.status)).map((x) => x.id);
  const failed = ended('failed', 'timed_out', 'interrupted');
  // Cancelled and skipped steps, and optional steps that failed: the result lacks their work.
  const left = s.steps.filter((x) => x.status !== 'succeeded');
  const lacks = left.length > 0 ? ` The result lacks ${listed(left.map((x) => `${x.id} (${x.status.replace('_', ' ')})`))}.` : '';
  const result = s.aggregate ? ['Apply', 'Create Branch'] : [];
  switch (s.status) {
    case 'succeeded':
      return {
        text: `Tapps Flow: ${name} succeeded.${lacks} Nothing in your files has changed yet.`,
        actions: result,
        severity: left.length > 0 ? 'warning' : 'info',
        failedStep: undefined,
      };
    case 'conflicted': {
      const paths = [...new Set(s.conflicts.map((c) => c.path))];
      return {
        text: `Tapps Flow: ${name} finished with ${plural(s.conflicts.length, 'conflict')} in ${listed(paths.slice(0, 3))}${paths.length > 3 ? ' and more' : ''}.${lacks} Resolve them, then apply.`,
        actions: ['Show Conflicts', 'Create Branch'],
        severity: 'warning',
        failedStep: undefined,
      };
    }
    case 'failed': {
      const first = s.steps.find((x) => failed.includes(x.id));
      const how = first?.status === 'timed_out' ? 'timed out' : first?.status === 'interrupted' ? 'was interrupted' : 'failed';
      const others = s.steps.filter((x) => x.status === 'succeeded').length;
      // No step failed: a gate stopped the run (its skipped steps say which), or the engine did.
      const gate = s.steps.find((x) => x.status === 'skipped' && x.error?.startsWith('gate '))?.error;
      const why =
        failed.length > 1
          ? `steps ${listed(failed)} did not succeed`
          : first
            ? `step ${first.id} ${how}${first.error ? ` (${first.error})` : ''}`
            : (gate ?? 'it stopped before its steps ended; see the Tapps Flow output');
      return {
        text: `Tapps Flow: ${name} failed: ${why}. ${others > 0 ? `The results of ${plural(others, 'step')} that succeeded are kept.` : ''}`.trimEnd(),
        actions: [...(first ? ['Show Log'] : []), ...(s.aggregate && others > 0 ? result : []), 'Resume'],
        severity: 'error',
        failedStep: first?.id,
      };
    }
    case 'cancelled': {
      const kept = s.steps.filter((x) => x.status === 'succeeded').length;
      return {
        text: `Tapps Flow: ${name} was cancelled. ${kept > 0 ? `The results of ${plural(kept, 'step')} that finished are kept.` : 'No step had finished.'}`,
        actions: [...(s.aggregate && kept > 0 ? result : []), 'Resume'],
        severity: 'info',
        failedStep: undefined,
      };
    }
    default:
      return { text: `Tapps Flow: ${name} is ${s.status}.`, actions: [], severity: 'info', failedStep: undefined };
  }
}
