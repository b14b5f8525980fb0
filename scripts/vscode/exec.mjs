// The one wrapper through which the harness spawns short-lived commands, so that every step
// prints the same way and a failure says which command failed, with its exit code and output tail.
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';

/** Thrown when a step of the harness fails; `hint` says what to do about it. */
export class HarnessError extends Error {
  constructor(step, message, hint) {
    super(`${step} failed: ${message}${hint ? `\n  -> ${hint}` : ''}`);
    this.name = 'HarnessError';
    this.step = step;
    this.hint = hint;
  }
  static is(e) {
    return e instanceof HarnessError;
  }
}

/**
 * Runs a command to completion. Output is captured (and echoed only with `echo: true`), so that
 * an install stays quiet unless it fails, and then shows the last lines of what it printed.
 * @returns {Promise<string>} stdout
 */
export function run(cmd, args, { cwd, env, echo = false, step = `${cmd} ${args.join(' ')}`, hint } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (echo) process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (echo) process.stderr.write(d);
    });
    child.on('error', (e) => reject(new HarnessError(step, e.message, hint)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(out);
      const tail = (out + err).trim().split('\n').slice(-25).join('\n');
      reject(new HarnessError(step, `exit ${code ?? signal}\n${tail}`, hint));
    });
  });
}

/**
 * Kills what is left running with its working directory inside `dir`: the step processes of a run
 * the tests left going when a pass failed (each step runs in a process group of its own, in a
 * worktree of the workspace, so stopping the server does not reach it).
 * @returns {number} how many processes it killed
 */
export function killStrays(dir) {
  let killed = 0;
  let entries = [];
  try {
    entries = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return 0; // not Linux: nothing to look at
  }
  for (const pid of entries) {
    let cwd;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (cwd !== dir && !cwd.startsWith(`${dir}/`)) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
      killed++;
    } catch {
      // Gone in the meantime.
    }
  }
  return killed;
}
