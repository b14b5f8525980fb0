import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyCommand, branchCommand, cancelCommand, cleanupCommand, resolveCommand, statusCommand } from './cli/followUpCommands';
import { pickCommand } from './cli/pickCommand';
import { restoreCommand } from './cli/restoreCommand';
import { resumeCommand, runCommand } from './cli/runCommand';
import { validateCommand } from './cli/validateCommand';
import { VERSION } from './cli/version';
import { commandName } from './cli/commandName';
import { openRepository } from './core/git/repository';
import { orphansPossible } from './core/process/stepProcesses';
import { EXIT, exitCodeOfError } from './core/run/runReport';
import { sweepOrphans } from './core/state/runs';
import { TappsError, WorkflowError } from './core/util/errors';
import { ISOLATION_MODES, RUNNERS, SETUP_MODES, type Isolation, type Runner, type SetupMode } from './core/workflow/schema';
import { workerCommand } from './cli/workerCommand';
import { explainSetup } from './cli/setupCommand';

const USAGE = `Usage:
  tapps-flow --version | -V | --help | -h
  tapps-flow run <workflow.yaml> [--repo DIR] [--max-parallel N] [--sequential] [--isolation sandbox|detect|off]
                 [--setup auto|none] [--run-id ID] [--runner local|queue] [--queue URL] [--remote R] [--json]
  tapps-flow validate <workflow.yaml> [--repo DIR] [--json]
  tapps-flow setup --explain [<workflow.yaml>] [--setup auto|none] [--repo DIR] [--json]
  tapps-flow status [<run-id>] [--repo DIR] [--json]
  tapps-flow resume <run-id> [--repo DIR] [--queue URL] [--remote R] [--json]
  tapps-flow worker --queue URL --remote URL [--concurrency N] [--name NAME] [--dir DIR] [--lock-seconds N]
  tapps-flow cancel <run-id> [--step ID] [--repo DIR]
  tapps-flow apply <run-id> [--alternative] [--allow-symlinks-out] [--repo DIR]
  tapps-flow branch <run-id> <name> [--alternative] [--repo DIR]
  tapps-flow resolve <run-id> <path> (--take STEP | --file FILE) [--repo DIR]
  tapps-flow pick <run-id> <step> <candidate> [--repo DIR]
  tapps-flow cleanup [--repo DIR] [--older-than DAYS] [--keep N] [--dry-run] [--remote R] [--json]
  tapps-flow restore <run-id> [--path P]... [--force] [--dry-run] [--repo DIR]

Exit codes: 0 succeeded, 1 a step failed or timed out, 2 invalid usage or input,
3 conflicted, 4 escaped (a step wrote outside its worktree: see conflicts.md, then
restore; 4 wins over 0, 1, 3 and 5), 5 checks failed (the result fails a check of
the workflow; --alternative applies the result without the steps that broke it),
130 cancelled.

TAPPS_GIT names the git executable (default: git on PATH). TAPPS_SHELL picks the
shell of command strings on Windows: auto (the default: the sh of Git for Windows,
else cmd), sh, cmd or powershell. TAPPS_QUEUE_URL, TAPPS_QUEUE_PASSWORD and
TAPPS_QUEUE_REMOTE stand for --queue, its password and --remote.`;

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
      isolation: { type: 'string' },
      setup: { type: 'string' },
      explain: { type: 'boolean', default: false },
      'run-id': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', short: 'V', default: false },
      step: { type: 'string' },
      take: { type: 'string' },
      file: { type: 'string' },
      'older-than': { type: 'string' },
      keep: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      path: { type: 'string', multiple: true },
      force: { type: 'boolean', default: false },
      'allow-symlinks-out': { type: 'boolean', default: false },
      alternative: { type: 'boolean', default: false },
      runner: { type: 'string' },
      queue: { type: 'string' },
      remote: { type: 'string' },
      concurrency: { type: 'string' },
      name: { type: 'string' },
      dir: { type: 'string' },
      'lock-seconds': { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.succeeded;
  }
  if (values.help || command === undefined || command === 'help') {
    const name = commandName();
    process.stdout.write(`${USAGE}\n${name === 'tapps-flow' ? '' : `\nFrom this folder, start it as: ${name}\n`}`);
    return values.help || command === 'help' ? 0 : EXIT.usage;
  }
  const needArgs = (n: number, what: string) => {
    if (rest.length !== n) throw new UsageError(`"${command}" takes ${what}, got ${rest.length === 0 ? 'none' : rest.join(' ')}`);
    return rest;
  };
  const needOne = (what: string) => needArgs(1, what)[0];
  const count = (flag: 'older-than' | 'keep') => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${flag} expects a number of 0 or more, got "${raw}"`);
    return n;
  };
  const repo = values.repo ?? process.cwd();
  const setup = values.setup;
  if (setup !== undefined && !(SETUP_MODES as readonly string[]).includes(setup))
    throw new UsageError(`--setup expects one of ${SETUP_MODES.join(', ')}, got "${setup}"`);
  const runner = values.runner;
  if (runner !== undefined && !(RUNNERS as readonly string[]).includes(runner))
    throw new UsageError(`--runner expects one of ${RUNNERS.join(', ')}, got "${runner}"`);
  const remoteFlags = { queueUrl: values.queue, queueRemote: values.remote };
  if (command === 'worker') {
    needArgs(0, 'no arguments');
    return workerCommand({
      queue: values.queue,
      remote: values.remote,
      concurrency: values.concurrency,
      name: values.name,
      dir: values.dir,
      lockSeconds: values['lock-seconds'],
    });
  }
  if (command !== 'validate' && command !== 'setup')
    await sweepLeftovers(command === 'run' && values.repo === undefined && rest[0] ? path.dirname(path.resolve(rest[0])) : repo);
  switch (command) {
    case 'run': {
      const raw = values['max-parallel'];
      const maxParallel = raw === undefined ? undefined : Number(raw);
      if (maxParallel !== undefined && (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 8))
        throw new UsageError(`--max-parallel expects a whole number from 1 to 8, got "${raw}"`);
      const isolation = values.isolation;
      if (isolation !== undefined && !(ISOLATION_MODES as readonly string[]).includes(isolation))
        throw new UsageError(`--isolation expects one of ${ISOLATION_MODES.join(', ')}, got "${isolation}"`);
      return runCommand({
        workflow: needOne('a workflow file'),
        isolation: isolation as Isolation | undefined,
        setup: setup as SetupMode | undefined,
        repo: values.repo,
        maxParallel,
        sequential: values.sequential,
        runId: values['run-id'],
        runner: runner as Runner | undefined,
        ...remoteFlags,
        json: values.json,
      });
    }
    case 'setup':
      if (!values.explain)
        throw new UsageError(
          '"setup" takes --explain: it prints the setup each step\'s worktree would get (runs set up their worktrees themselves)',
        );
      if (rest.length > 1) throw new UsageError(`"setup --explain" takes at most one workflow file, got ${rest.join(' ')}`);
      return explainSetup({ workflow: rest[0], repo: values.repo, setup: setup as SetupMode | undefined, json: values.json });
    case 'validate':
      return validateCommand(needOne('a workflow file'), values.repo, values.json);
    case 'status':
      if (rest.length > 1) throw new UsageError(`"status" takes at most one run id, got ${rest.join(' ')}`);
      return statusCommand(values.repo, rest[0], values.json);
    case 'resume':
      return resumeCommand(values.repo, needOne('a run id'), values.json, remoteFlags);
    case 'cancel':
      return cancelCommand(repo, needOne('a run id'), values.step);
    case 'apply':
      return applyCommand(values.repo, needOne('a run id'), {
        allowSymlinksOut: values['allow-symlinks-out'],
        alternative: values.alternative,
      });
    case 'branch': {
      const [runId, name] = needArgs(2, 'a run id and a branch name');
      return branchCommand(values.repo, runId, name, values.alternative);
    }
    case 'pick': {
      const [runId, step, candidate] = needArgs(3, 'a run id, a step id and a candidate number');
      return pickCommand(values.repo, runId, step, candidate);
    }
    case 'resolve': {
      const [runId, file] = needArgs(2, 'a run id and a path');
      return resolveCommand(values.repo, runId, file, values.take, values.file);
    }
    case 'restore':
      return restoreCommand(repo, needOne('a run id'), { paths: values.path, force: values.force, dryRun: values['dry-run'] });
    case 'cleanup':
      needArgs(0, 'no arguments');
      return cleanupCommand(
        repo,
        { olderThanDays: count('older-than'), keep: count('keep'), dryRun: values['dry-run'], teamRemote: values.remote },
        values.json,
      );
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/**
 * Every command that works on a repository first stops what steps of its interrupted runs left
 * running when their engine died (verified as theirs: see `sweepOrphans`), and says so. Without
 * a tagged process on the machine this costs one pass over the process table (on Linux and macOS).
 */
async function sweepLeftovers(dir: string): Promise<void> {
  if (!orphansPossible()) return;
  try {
    const repo = await openRepository(dir);
    for (const swept of await sweepOrphans(repo))
      process.stderr.write(
        `Stopped the processes that ${swept.steps.length === 1 ? 'step' : 'steps'} ${swept.steps.join(', ')} of interrupted run ${swept.runId} left running.\n`,
      );
  } catch {
    // Not a repository, or unreadable: the command itself says what is wrong.
  }
}

// Output piped into a program that stops reading (`status | head -1`) ends quietly: further
// writes are dropped instead of crashing the process with EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

/** Reports the error a command ended with, in one line, and sets the exit code. */
function report(error: unknown): void {
  if (
    error instanceof UsageError ||
    (TappsError.is(error) && error.code === 'usage') ||
    (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))
  ) {
    process.stderr.write(`tapps-flow: ${error.message}\n\n${USAGE}\n`);
    process.exitCode = EXIT.usage;
  } else if (WorkflowError.is(error)) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (TappsError.is(error)) {
    process.stderr.write(`tapps-flow: ${asTyped(error.message)}\n`);
    process.exitCode = exitCodeOfError(error);
  } else {
    // No stack trace for the user: one line, and where the whole of it was written.
    const message = error instanceof Error ? error.message : String(error);
    const trace = writeTrace(error);
    process.stderr.write(`tapps-flow: unexpected error: ${message.split('\n')[0]}${trace ? ` (details in ${trace})` : ''}\n`);
    process.exitCode = EXIT.failed;
  }
}

/**
 * The engine's messages (and the CLI's own errors) name the CLI `tapps-flow` in the commands
 * they suggest ("Resume it with: tapps-flow resume <id>"); they are printed with the name that
 * works from where the user is (see `commandName`).
 */
function asTyped(message: string): string {
  const name = commandName();
  if (name === 'tapps-flow') return message;
  return message.replace(
    /(^|[\s(:])(npx )?tapps-flow (?=(?:run|validate|setup|status|resume|cancel|apply|branch|resolve|pick|cleanup|restore|worker)\b)/g,
    (all, before: string, npx: string | undefined) => (npx ? all : `${before}${name} `),
  );
}

// An error no caller awaited is reported the same way, never as Node's stack trace.
process.on('unhandledRejection', (error) => {
  report(error);
  process.exit();
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, report);

/** Writes the full trace of an unexpected error to a file of its own; returns its path. */
function writeTrace(error: unknown): string | undefined {
  try {
    const dir = path.join(tmpdir(), 'tapps-flow-errors');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    writeFileSync(file, `tapps-flow ${process.argv.slice(2).join(' ')}\n${text}\n`);
    return file;
  } catch {
    return undefined;
  }
}
