import path from 'node:path';
import { relativeInside } from '../core/util/paths';

/**
 * The user's locale for dates, as a BCP 47 tag. Node does not read the POSIX locale variables (its
 * default here is `und`, which prints "2026 M12 1"), so they are read the way `date` reads them:
 * LC_ALL, then LC_TIME, then LANG ("de_DE.UTF-8" → "de-DE"); where none names a locale ICU knows,
 * Node's own default, or "en-US" when that is undetermined too.
 */
export function userLocale(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.LC_ALL || env.LC_TIME || env.LANG || '';
  const tag = raw.split(/[.@]/)[0].replace(/_/g, '-');
  if (tag && tag !== 'C' && tag !== 'POSIX') {
    try {
      const [supported] = Intl.DateTimeFormat.supportedLocalesOf([tag]);
      if (supported) return supported;
    } catch {
      // Not a well-formed tag: fall through.
    }
  }
  const fallback = new Intl.DateTimeFormat().resolvedOptions().locale;
  return fallback && fallback !== 'und' ? fallback : 'en-US';
}

let dateFormat: Intl.DateTimeFormat | undefined;

/** An ISO time from the run's state in the user's time zone and locale ("Dec 1, 2026, 9:42:07 PM"); "" when unreadable. */
export function localTime(iso: string | null | undefined): string {
  const ms = iso ? Date.parse(iso) : NaN;
  if (!Number.isFinite(ms)) return '';
  dateFormat ??= new Intl.DateTimeFormat(userLocale(), { dateStyle: 'medium', timeStyle: 'medium' });
  return dateFormat.format(ms);
}

/**
 * Text from a run's state or a step's output, made safe for a terminal: control characters (an
 * escape sequence a step printed could clear the screen or retitle the window) become `\xNN`.
 */
export function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One argument of a printed command, quoted for the shell when it needs it. */
export function shellArg(value: string): string {
  if (/^[\w@%+=:,./-]+$/.test(value)) return value;
  if (process.platform === 'win32') return `"${value.replace(/"/g, '""')}"`;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A path as the user can use it from the current folder: relative when inside it, else absolute. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const relative = relativeInside(cwd, file);
  return relative ? path.normalize(relative) : file;
}
