import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { currentOs, processStopActions, spawnPlan, treeStopActions } from '../../../src/core/process/platform';
import { identityComparable, processIdentity, processIdentityOfChild } from '../../../src/core/process/processIdentity';
import {
  parsePsEnvironments,
  parseWindowsTable,
  processEntry,
  processTable,
  readProcessTable,
} from '../../../src/core/process/processTable';
import { startProcessTree } from '../../../src/core/process/processTree';
import { newStepTag, stepProcesses, stopProcessesOf, ticksOfIdentity } from '../../../src/core/process/stepProcesses';
import { processGone, waitFor } from '../helpers/wait';

/**
 * Each OS's branch of the process layer: the plans (pure data) for every OS, and the parts of
 * macOS's branch that run on Linux for real (`ps` takes the same columns). Linux's own branch
 * runs for real in every engine test.
 */
describe('process layer, per OS', () => {
  it('maps platforms to the three families', () => {
    assert.equal(currentOs('win32'), 'win32');
    assert.equal(currentOs('linux'), 'linux');
    assert.equal(currentOs('darwin'), 'darwin');
    assert.equal(currentOs('freebsd'), 'darwin', 'other POSIX systems use ps, as macOS does');
  });

  it('starts a tree as a process group on POSIX, hidden and in the console of its parent on Windows', () => {
    for (const os of ['linux', 'darwin'] as const)
      assert.deepEqual(spawnPlan(os, ['claude', '-p', 'fix it']), {
        command: 'claude',
        args: ['-p', 'fix it'],
        detached: true,
        windowsHide: false,
        windowsVerbatimArguments: false,
      });
    assert.deepEqual(spawnPlan('win32', ['claude', '-p', 'fix "it"']), {
      command: 'claude',
      args: ['-p', 'fix "it"'],
      detached: false,
      windowsHide: true,
      windowsVerbatimArguments: false,
    });
  });

  it('hands cmd.exe its script quoted as a whole and verbatim, as Node does for a shell', () => {
    const plan = spawnPlan('win32', ['C:\\Windows\\system32\\cmd.exe', '/d', '/s', '/c', 'echo "a b" > out.txt']);
    assert.deepEqual(plan.args, ['/d', '/s', '/c', '"echo "a b" > out.txt"']);
    assert.equal(plan.windowsVerbatimArguments, true);
    assert.equal(spawnPlan('win32', ['CMD', '/c', 'dir']).windowsVerbatimArguments, true, 'the name in any case');
    assert.equal(spawnPlan('win32', ['cmdx.exe', '/c', 'dir']).windowsVerbatimArguments, false);
    assert.equal(spawnPlan('linux', ['cmd.exe', '/c', 'dir']).windowsVerbatimArguments, false);
  });

  it('stops a tree by its group on POSIX and with taskkill /T on Windows, forced with SIGKILL or /F', () => {
    assert.deepEqual(treeStopActions('linux', 42, 'polite'), [{ kind: 'signal-group', group: 42, signal: 'SIGTERM' }]);
    assert.deepEqual(treeStopActions('darwin', 42, 'forced'), [{ kind: 'signal-group', group: 42, signal: 'SIGKILL' }]);
    assert.deepEqual(treeStopActions('win32', 42, 'polite'), [{ kind: 'command', argv: ['taskkill', '/PID', '42', '/T'] }]);
    assert.deepEqual(treeStopActions('win32', 42, 'forced'), [{ kind: 'command', argv: ['taskkill', '/PID', '42', '/T', '/F'] }]);
  });

  it('stops processes found one by one each on its own, in one taskkill on Windows', () => {
    assert.deepEqual(processStopActions('darwin', [7, 9], 'polite'), [
      { kind: 'signal', pid: 7, signal: 'SIGTERM' },
      { kind: 'signal', pid: 9, signal: 'SIGTERM' },
    ]);
    assert.deepEqual(processStopActions('win32', [7, 9], 'forced'), [
      { kind: 'command', argv: ['taskkill', '/PID', '7', '/PID', '9', '/F'] },
    ]);
    assert.deepEqual(processStopActions('win32', [], 'forced'), [], 'nothing to stop runs nothing');
  });

  it("reads macOS's process table through ps, agreeing with /proc on pids, parents and groups", () => {
    const child = startProcessTree(['sleep', '30'], { cwd: process.cwd(), env: process.env, onOutput: () => undefined });
    return child.then(async (tree) => {
      try {
        const viaPs = processTable('darwin');
        const viaPsAsync = await readProcessTable('darwin');
        assert.deepEqual(
          viaPsAsync.find((e) => e.pid === tree.pid),
          viaPs.find((e) => e.pid === tree.pid),
          'read with and without blocking alike',
        );
        const viaProc = processTable('linux');
        for (const pid of [process.pid, tree.pid]) {
          const a = viaPs.find((e) => e.pid === pid);
          const b = viaProc.find((e) => e.pid === pid);
          assert.ok(a && b, `pid ${pid} is in both tables`);
          assert.deepEqual([a.ppid, a.pgid], [b.ppid, b.pgid]);
        }
        assert.equal(viaPs.find((e) => e.pid === tree.pid)?.pgid, tree.pid, 'the tree leads its own group');
        const started = processEntry(tree.pid, 'darwin')!.start;
        assert.ok(Math.abs(started * 1000 - Date.now()) < 60_000, `ps's start time is a date (seconds since 1970): ${started}`);
        const identity = processIdentity(tree.pid, 'darwin')!;
        assert.equal(identity, `darwin:${started}`);
        assert.equal(identityComparable(identity, 'darwin'), true);
        assert.equal(identityComparable(identity, 'linux'), false, 'a date is not a tick count of this boot');
      } finally {
        await tree.stop(0);
      }
    });
  });

  it("parses Windows' process table, CRLF and the system's undated processes included", () => {
    assert.deepEqual(parseWindowsTable('0 0 0\r\n4 0 0\r\n5120 880 13380000000123\r\n\r\nnoise\r\n'), [
      { pid: 0, ppid: 0, pgid: null, start: 0, zombie: false },
      { pid: 4, ppid: 0, pgid: null, start: 0, zombie: false },
      { pid: 5120, ppid: 880, pgid: null, start: 13380000000123, zombie: false },
    ]);
  });

  it("finds the tag variables in macOS's ps -E listing", () => {
    const listing = parsePsEnvironments(
      '  311 /bin/sh -c sleep 5 PATH=/usr/bin TAPPS_RUN_ID=r1 TAPPS_STEP_ID=s1 TAPPS_STEP_TOKEN=abc\n  312 login -pf me\n',
    );
    assert.equal(listing.get(311)?.get('TAPPS_STEP_TOKEN'), 'abc');
    assert.equal(listing.get(311)?.get('TAPPS_RUN_ID'), 'r1');
    assert.equal(listing.get(312)?.get('TAPPS_RUN_ID'), undefined);
  });

  it('finds and stops by descent a process that left the group and dropped its environment, unless the pid names another start', async () => {
    // The leader starts a child in a session of its own with an empty environment: neither the
    // group nor the tag reach it, as on Windows neither exists.
    const tree = await startProcessTree(['sh', '-c', 'setsid env -i sleep 30 & wait'], {
      cwd: process.cwd(),
      env: process.env,
      onOutput: () => undefined,
    });
    const tag = newStepTag('run-x', 'step-x');
    const notBefore = ticksOfIdentity(processIdentity(tree.pid));
    try {
      const escaped = await waitFor('the detached child', () =>
        processTable('linux').find((e) => e.ppid === tree.pid && e.pgid !== tree.pid && !e.zombie),
      );
      const byTagOnly = await stepProcesses({ tag });
      assert.ok(!byTagOnly.includes(escaped.pid), 'the tag does not reach it');
      assert.ok(
        !(await stepProcesses({ tag, leader: tree.pid, notBefore: notBefore! - 1 })).includes(escaped.pid),
        'a leader of another start is not followed',
      );
      assert.ok(!(await stepProcesses({ tag, leader: tree.pid })).includes(escaped.pid), 'nor one whose start is unknown');
      assert.deepEqual(new Set(await stepProcesses({ tag, leader: tree.pid, notBefore })), new Set([tree.pid, escaped.pid]));
      assert.equal(await stopProcessesOf({ tag, leader: tree.pid, notBefore }, 1_000), 2);
      await waitFor('the detached child to be gone', () => processGone(escaped.pid));
    } finally {
      await tree.stop(0);
    }
  });

  it("takes a step's identity without blocking, the same as the blocking read", async () => {
    const tree = await startProcessTree(['sleep', '30'], { cwd: process.cwd(), env: process.env, onOutput: () => undefined });
    try {
      assert.equal(await processIdentityOfChild(tree.pid), processIdentity(tree.pid));
      assert.equal(await processIdentityOfChild(tree.pid, 'darwin'), processIdentity(tree.pid, 'darwin'));
    } finally {
      await tree.stop(0);
    }
  });

  it('records its own identity once: the boot and start on Linux', () => {
    const own = processIdentity(process.pid)!;
    assert.equal(own, processIdentity(process.pid));
    assert.equal(identityComparable(own), true);
    assert.match(
      execFileSync('cat', ['/proc/sys/kernel/random/boot_id'], { encoding: 'utf8' }).trim(),
      new RegExp(`^${own.split(':')[0]}$`),
    );
  });
});
