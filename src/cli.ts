import { parseArgs } from 'node:util';
import { runCommand } from './cli/runCommand';
import { validateCommand } from './cli/validateCommand';
import { EXIT } from './core/run/runReport';
import { TappsError, WorkflowError } from './core/util/errors';

const USAGE = `Usage:
  tapps-flow run <workflow.yaml> [--repo DIR] [--max-parallel N] [--sequential] [--run-id ID] [--json]
  tapps-flow validate <workflow.yaml> [--repo DIR] [--json]

Exit codes: 0 succeeded, 1 a step failed or timed out, 2 invalid usage or workflow,
3 conflicted, 130 cancelled.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      repo: { type: 'string' },
      'max-parallel': { type: 'string' },
      sequential: { type: 'boolean', default: false },
      'run-id': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return values.help || command === 'help' ? 0 : EXIT.usage;
  }
  const needOne = (what: string) => {
    if (rest.length !== 1) throw new UsageError(`"${command}" takes one ${what}, got ${rest.length === 0 ? 'none' : rest.join(' ')}`);
    return rest[0];
  };
  switch (command) {
    case 'run': {
      const raw = values['max-parallel'];
      const maxParallel = raw === undefined ? undefined : Number(raw);
      if (maxParallel !== undefined && (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 8)) throw new UsageError(`--max-parallel expects a whole number from 1 to 8, got "${raw}"`);
      return runCommand({ workflow: needOne('workflow file'), repo: values.repo, maxParallel, sequential: values.sequential, runId: values['run-id'], json: values.json });
    }
    case 'validate':
      return validateCommand(needOne('workflow file'), values.repo, values.json);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`tapps-flow: ${error.message}\n\n${USAGE}\n`);
      process.exitCode = EXIT.usage;
    } else if (WorkflowError.is(error)) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = EXIT.usage;
    } else if (TappsError.is(error)) {
      process.stderr.write(`tapps-flow: ${error.message}\n`);
      process.exitCode = EXIT.failed;
    } else {
      process.stderr.write(`tapps-flow: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT.failed;
    }
  },
);
