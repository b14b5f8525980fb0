// Port leases against real sockets, real files and real processes.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { leaseFolder, leasePorts, PORT_RANGE } from '../../../src/core/process/portLeases';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow, sq, stepOf } from '../helpers/workflowRun';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

describe('setup: port leases', function () {
  this.timeout(60_000);
  let base: string;
  let folder: string;
  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'tapps-flow-ports-'));
    folder = await leaseFolder(base);
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  it('hands out blocks that do not overlap, skips a port another program listens on, and frees a block on release', async () => {
    const a = await leasePorts('run-1', 'a', 10, folder);
    const server = await listen(a.first + 10 + 3); // inside the next block
    try {
      const b = await leasePorts('run-1', 'b', 10, folder);
      assert.equal(a.first, PORT_RANGE.first);
      assert.ok(b.first >= a.first + 20, `block ${b.first} skips the one holding a listening port`);
      await a.release();
      const c = await leasePorts('run-2', 'c', 10, folder);
      assert.equal(c.first, a.first, 'a released block is handed out again');
      assert.deepEqual((await readdir(folder)).filter((f) => f.endsWith('.json')).sort(), [`${b.first}.json`, `${c.first}.json`].sort());
      await Promise.all([b.release(), c.release()]);
    } finally {
      server.close();
    }
  });

  it('takes back the lease of an engine that died, and never a live one', async () => {
    // A process that has exited (node itself: Windows has no `true` program of its own).
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(
      path.join(folder, `${PORT_RANGE.first}.json`),
      JSON.stringify({ pid: dead, host: hostname(), identity: null, runId: 'gone', stepId: 's', first: PORT_RANGE.first, size: 10 }),
    );
    await writeFile(
      path.join(folder, `${PORT_RANGE.first + 10}.json`),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        identity: null,
        runId: 'live',
        stepId: 's',
        first: PORT_RANGE.first + 10,
        size: 10,
      }),
    );
    const lease = await leasePorts('run-3', 'x', 10, folder);
    assert.equal(lease.first, PORT_RANGE.first);
    const next = await leasePorts('run-3', 'y', 10, folder);
    assert.equal(next.first, PORT_RANGE.first + 20);
  });

  it('refuses a lease folder that is a link or writable by others', async function () {
    // POSIX: user ids and permission bits (process.getuid is undefined on Windows).
    if (process.platform === 'win32') this.skip();
    const other = path.join(base, 'elsewhere');
    await mkdir(other);
    const planted = await mkdtemp(path.join(tmpdir(), 'tapps-flow-ports-planted-'));
    try {
      await symlink(other, path.join(planted, `tapps-flow-${process.getuid!()}`));
      await assert.rejects(leaseFolder(planted), /is not a private folder of yours/);
    } finally {
      await rm(planted, { recursive: true, force: true });
    }
  });
});

describe('setup: each running step gets ports of its own', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await makeTempRepo();
  });
  afterEach(() => repo.cleanup());

  it('gives TAPPS_PORT and CONDUCTOR_PORT, distinct across parallel steps, records them, and releases them', async () => {
    const seen = (id: string) => path.join(repo.outside, `${id}.port`);
    const run = (id: string) => `echo "$TAPPS_PORT $CONDUCTOR_PORT $TAPPS_PORTS" > ${sq(seen(id))}; sleep 0.5; echo ok > ${id}.txt`;
    const { snapshot, events } = await runWorkflow(repo, {
      settings: { ports_per_step: 5 },
      steps: ['a', 'b', 'c'].map((id) => ({ id, run: run(id) })),
    });
    assert.equal(snapshot.status, 'succeeded');
    const values = await Promise.all(['a', 'b', 'c'].map(async (id) => (await readFile(seen(id), 'utf8')).trim().split(' ')));
    for (const [tapps, conductor, size] of values) {
      assert.equal(tapps, conductor);
      assert.equal(size, '5');
    }
    const firsts = values.map(([p]) => Number(p));
    assert.equal(new Set(firsts).size, 3, `distinct blocks: ${firsts.join(', ')}`);
    for (const p of firsts) assert.ok(p >= PORT_RANGE.first && p < PORT_RANGE.end);
    const started = events.flatMap((e) => (e.type === 'step_started' ? [[e.step, e.port]] : []));
    assert.deepEqual(Object.fromEntries(started), { a: firsts[0], b: firsts[1], c: firsts[2] });
    assert.equal(stepOf(snapshot, 'a').port, firsts[0]);
    const leases = (await readdir(await leaseFolder())).filter((f) => f.endsWith('.json'));
    for (const p of firsts) assert.ok(!leases.includes(`${p}.json`), `the lease of ${p} is released`);
  });
});
