import path from 'node:path';

/**
 * How the user can run the CLI again, for the commands it prints: `tapps-flow` when it was started
 * through that name (an installed bin), else `node <path to dist/cli.js>` as seen from the current
 * folder, so that a hint printed in a fresh clone (the demo) works exactly as printed.
 */
export function commandName(script = process.argv[1] ?? ''): string {
  if (path.basename(script) !== 'cli.js') return 'tapps-flow';
  const relative = path.relative(process.cwd(), script);
  const shown = relative === '' || relative.startsWith('..') ? script : relative;
  return `node ${/\s/.test(shown) ? JSON.stringify(shown) : shown}`;
}
