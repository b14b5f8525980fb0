// Starts code-server (VS Code's own server and web workbench) for the integration tests, in a
// process group of its own, with every folder it writes to under the run's scratch folder.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HarnessError } from './exec.mjs';
import { cleanEnv } from './install.mjs';
import { codeServerDir, node24Bin } from './paths.mjs';

/**
 * @typedef {object} ServerOptions
 * @property {string} runDir the run's scratch folder; the server's HOME, XDG folders, profile,
 *   extensions folder, working directory and log go under `<runDir>/server/`.
 * @property {boolean} [disableWorkspaceTrust] pass `--disable-workspace-trust`; false starts a
 *   server whose workspaces open untrusted, for the tests of restricted mode. @default true
 * @property {Record<string, unknown>} [settings] user settings, written to the profile's
 *   `User/settings.json` before the server starts. @default {}
 * @property {string} [extensionsDir] the `--extensions-dir` (where an installed `.vsix` lives).
 *   @default `<runDir>/server/extensions`
 * @property {number} [readyTimeoutMs] how long to wait for GET /healthz. @default 30000
 */

/**
 * @typedef {object} RunningServer
 * @property {number} port
 * @property {string} origin `http://127.0.0.1:PORT`
 * @property {string} logFile the server's stdout and stderr
 * @property {() => Promise<void>} stop kills the whole process group (idempotent)
 */

/** @param {ServerOptions} options @returns {Promise<RunningServer>} */
export async function startServer({ runDir, disableWorkspaceTrust = true, settings = {}, extensionsDir, readyTimeoutMs = 30_000 }) {
  const dir = path.join(runDir, 'server');
  const cwd = path.join(dir, 'cwd');
  const folders = {
    home: path.join(dir, 'home'),
    cwd,
    userData: path.join(dir, 'user-data'),
    extensions: extensionsDir ?? path.join(dir, 'extensions'),
  };
  for (const d of Object.values(folders)) await mkdir(d, { recursive: true });
  // code-server keeps the user's settings on the server side, in the profile folder.
  await mkdir(path.join(folders.userData, 'User'), { recursive: true });
  await writeFile(path.join(folders.userData, 'User', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
  const port = await freePort();
  const logFile = path.join(dir, 'server.log');
  const args = [
    path.join(codeServerDir, 'out', 'node', 'entry.js'),
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--user-data-dir',
    folders.userData,
    '--extensions-dir',
    folders.extensions,
    '--disable-telemetry',
    '--disable-update-check',
    ...(disableWorkspaceTrust ? ['--disable-workspace-trust'] : []),
    // A closed browser tab otherwise keeps its extension host alive for hours.
    '--reconnection-grace-time',
    '5',
    // Without it the built workbench ignores the test payload in the URL and runs nothing.
    '--vscode-option',
    'enable-smoke-test-driver',
  ];
  const env = serverEnv(folders.home);
  const out = openSync(logFile, 'a');
  // detached = setsid(): the server, its extension hosts and its file watcher share one process
  // group that stop() kills at once; killing the server's pid alone leaves them running.
  const child = spawn(node24Bin, args, { cwd: folders.cwd, env, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  let exited = null;
  child.on('exit', (code, signal) => (exited = code ?? signal));
  const stop = once(() => {
    running.delete(stop);
    return killGroup(child.pid);
  });
  running.add(stop);
  stopAllOnSignal();

  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited !== null)
      throw new HarnessError('starting code-server', `it exited (${exited}) before it was ready\n${tail(logFile)}`, `see ${logFile}`);
    if (await isHealthy(origin)) return { port, origin, logFile, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new HarnessError(
        'starting code-server',
        `GET ${origin}/healthz did not answer 200 within ${readyTimeoutMs / 1000} s\n${tail(logFile)}`,
        `see ${logFile}`,
      );
    }
    await sleep(200);
  }
}

/** The stop functions of the servers still running, for a Ctrl-C in the middle of a pass. */
const running = new Set();
let signalsHooked = false;

/** On SIGINT or SIGTERM, stops every server this process started (whole process groups), then exits. */
function stopAllOnSignal() {
  if (signalsHooked) return;
  signalsHooked = true;
  const stopAll = () => void Promise.allSettled([...running].map((stop) => stop())).finally(() => process.exit(130));
  process.once('SIGINT', stopAll).once('SIGTERM', stopAll);
}

/** The environment of code-server and of its CLI: Node 24 first on PATH, a scratch HOME. */
export function serverEnv(home) {
  return {
    ...cleanEnv(),
    PATH: `${path.dirname(node24Bin)}:${process.env.PATH}`,
    // Even `--help` writes config under HOME; keep the real one untouched.
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    // Otherwise the workbench tries to reach the marketplace.
    EXTENSIONS_GALLERY: '{}',
  };
}

async function isHealthy(origin) {
  try {
    const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** A port the kernel says is free now; the short race until the server binds is acceptable here. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** SIGTERM to the group, then SIGKILL to whatever is left after 5 s. */
async function killGroup(pgid) {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    if (!signalGroup(pgid, 0)) return;
  }
  signalGroup(pgid, 'SIGKILL');
}

/** @returns {boolean} false once no process of the group is left */
function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if (e.code === 'ESRCH') return false;
    throw e;
  }
}

function once(fn) {
  let p;
  return () => (p ??= fn());
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
