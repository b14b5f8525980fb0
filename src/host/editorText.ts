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
  'invalid-setting': "Change it in the workflow's settings or in the editor's Tapps Flow settings, then try again.",
};

/**
 * The options of the `tapps-flow` command line (see its usage text). Other programs' options, such
 * as git's in `git config --global --add safe.directory DIR`, are advice the editor keeps.
 */
export const CLI_OPTIONS: readonly string[] = [
  'allow-symlinks-out',
  'alternative',
  'concurrency',
  'dir',
  'dry-run',
  'explain',
  'file',
  'force',
  'help',
  'isolation',
  'json',
  'keep',
  'lock-seconds',
  'max-parallel',
  'name',
  'older-than',
  'path',
  'queue',
  'remote',
  'repo',
  'run-id',
  'runner',
  'sequential',
  'setup',
  'step',
  'take',
  'version',
];

/** An option of the command line with its value, if it has one: `--repo DIR`, `--take <step>`, `--keep=3`. */
const OPTION = `--(?:${CLI_OPTIONS.join('|')})(?![\\w-])(?:=\\S+| <[^>]*>| [A-Z][A-Z_]*\\b)?`;
/** A parenthesis that holds an option: `(or pass --repo DIR)`, `(max_parallel, tappsFlow.maxParallel, --max-parallel)`. */
const OPTION_IN_PARENTHESES = new RegExp(`\\s?\\(([^()]*?(?<=[\\s,(])${OPTION}[^()]*)\\)`, 'g');
/** An option given as an alternative: `, or --isolation`, ` or --file FILE`. */
const OPTION_AS_ALTERNATIVE = new RegExp(`,? or (?:pass )?${OPTION}`, 'g');
/** Command-line syntax left in a sentence: a `tapps-flow` command, or an option. */
const COMMAND_LINE = new RegExp(`\\btapps-flow [a-z]|(?:^|[\\s(])${OPTION}`);

/** `sentence` without the command line's options that are only part of it; see `editorMessage`. */
function withoutOptions(sentence: string): string {
  const option = new RegExp(`^${OPTION}$`);
  return sentence
    .replace(OPTION_IN_PARENTHESES, (whole: string, inside: string) => {
      const items = inside.split(/,\s*/);
      const others = items.filter((item) => !option.test(item.trim()));
      // A list of names that holds an option too keeps the names; any other parenthesis goes whole.
      return items.length > 1 && others.length > 0 && others.length < items.length
        ? whole.replace(`(${inside})`, `(${others.join(', ')})`)
        : '';
    })
    .replace(OPTION_AS_ALTERNATIVE, '');
}

/** The part of `sentence` before its command-line syntax, cut at a clause (`Wait for it to finish, or …`), if any. */
function beforeCommandLine(sentence: string): string | undefined {
  const at = sentence.search(COMMAND_LINE);
  const head = sentence.slice(0, at);
  const cut = Math.max(head.lastIndexOf(', or '), head.lastIndexOf('; '));
  return cut > 0 ? `${head.slice(0, cut)}.` : undefined;
}

/**
 * An engine message as the editor shows it, without command-line syntax: an option that is only
 * part of a sentence is taken out of it (`(or pass --repo DIR)`, the `--max-parallel` of a list of
 * names); a sentence that tells the user to type a command is said the editor's way (the advice for
 * the error's code) or, without advice, cut before the command or left out. The first sentence,
 * which says what happened, is always kept.
 */
export function editorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const sentences = message.split(/(?<=[.!?])\s+(?=[A-Z])/);
  if (!sentences.some((s) => COMMAND_LINE.test(s))) return message;
  const advice = TappsError.is(error) ? EDITOR_ADVICE[error.code] : undefined;
  let advised = false;
  const kept = sentences.flatMap((sentence, i): string[] => {
    if (!COMMAND_LINE.test(sentence)) return [sentence];
    const stripped = withoutOptions(sentence);
    if (i === 0) return [COMMAND_LINE.test(stripped) ? (beforeCommandLine(stripped) ?? stripped) : stripped];
    if (advice) {
      // The advice says once what the sentences of command-line syntax said.
      if (advised) return [];
      advised = true;
      return [advice];
    }
    if (!COMMAND_LINE.test(stripped)) return [stripped];
    const before = beforeCommandLine(stripped);
    return before ? [before] : [];
  });
  return kept.join(' ');
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
