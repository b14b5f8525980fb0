import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspectLock, Lock, LockBusyError } from '../../../src/core/util/lock';

const LOCK_MODULE = path.resolve(__dirname, '../../../src/core/util/lock.ts');

/** Another process that takes the lock of `target` and holds it until killed. */
async function holder(dir: string, target: string): Promise<ChildProcess> {
  const script = path.join(dir, `hold-${Date.now()}.ts`);
  await writeFile(
    script,
    [
      `import { Lock } from ${JSON.stringify(LOCK_MODULE)};`,
      `Lock.acquire(${JSON.stringify(target)}, 'holding it for a test').then(`,
      `  () => { console.log('held'); setInterval(() => undefined, 1000); },`,
      `  () => process.exit(3),`,
      `);`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  return child;
}

describe('the lock across processes', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tapps-flow-lock-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('refuses a second holder, naming the first; once that one is killed (-9) it is taken at once', async () => {
    const target = path.join(dir, 'run-x');
    const child = await holder(dir, target);
    try {
      await assert.rejects(Lock.acquire(target, 'a second writer'), (error: unknown) => {
        assert.ok(error instanceof LockBusyError);
        assert.equal(error.owner?.pid, child.pid);
        assert.match(error.message, new RegExp(`pid ${child.pid} .*holding it for a test`));
        return true;
      });
      assert.equal((await inspectLock(target)).held, true);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => child.once('exit', resolve));
    // No wait: a holder that is verifiably dead on this machine does not hold the lock, whatever its age.
    assert.equal((await inspectLock(target)).held, false);
    const lock = await Lock.acquire(target, 'after the crash');
    assert.equal((await inspectLock(target)).owner?.pid, process.pid);
    await lock.release();
    assert.equal((await inspectLock(target)).held, false);
  });

  it('never takes the lock of a live holder whose lock looks stale (its machine slept)', async () => {
    const target = path.join(dir, 'run-y');
    const child = await holder(dir, target);
    try {
      const hourAgo = new Date(Date.now() - 3600_000);
      await utimes(`${target}.lock`, hourAgo, hourAgo);
      await assert.rejects(Lock.acquire(target, 'after a sleep'), LockBusyError);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('is held once per process too, and a waiter gets it when it is released', async () => {
    const target = path.join(dir, 'run-z');
    const first = await Lock.acquire(target, 'first');
    await assert.rejects(Lock.acquire(target, 'second'), LockBusyError);
    const waiting = Lock.acquire(target, 'waiting', { waitMs: 10_000 });
    await first.release();
    const second = await waiting;
    assert.doesNotThrow(() => second.assertHeld());
    await second.release();
    assert.throws(() => second.assertHeld(), /released/);
  });

  it('two processes breaking the same dead holder leave exactly one holder', async () => {
    const target = path.join(dir, 'run-w');
    const dead = await holder(dir, target);
    dead.kill('SIGKILL');
    await new Promise((resolve) => dead.once('exit', resolve));
    const racers = await Promise.all([holder(dir, target).catch(() => undefined), holder(dir, target).catch(() => undefined)]);
    try {
      // Each racer waits for its acquire; exactly one prints "held" while the other keeps trying.
      const held = racers.filter((c) => c !== undefined);
      assert.equal(held.length, 1, 'one racer holds the lock');
    } finally {
      for (const c of racers) c?.kill('SIGKILL');
    }
  });
});
