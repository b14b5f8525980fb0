import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProcessTree } from '../../../src/core/process/processTree';

/**
 * An agent CLI as npm installs it: a shim on PATH (`agent` on POSIX, `agent.cmd` on Windows, which
 * Node cannot start without a shell). The process layer starts it by its bare name from the step's
 * own PATH, and every argument, shell characters included, arrives as it was given.
 */
describe('starting an installed agent CLI by its name', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tapps-shim-'));
    await writeFile(path.join(dir, 'echo-args.js'), 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    if (process.platform === 'win32') {
      await writeFile(path.join(dir, 'fake-agent.cmd'), '@node "%~dp0echo-args.js" %*\r\n');
    } else {
      await writeFile(path.join(dir, 'fake-agent'), '#!/bin/sh\nexec node "$(dirname "$0")/echo-args.js" "$@"\n', { mode: 0o755 });
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("finds the shim on the step's PATH and passes shell characters through untouched", async () => {
    const args = ['-p', 'fix the "login" bug', 'a & b | c', '<in> out', 'caret ^ here', "it's", 'C:\\path with spaces\\'];
    const chunks: Buffer[] = [];
    const pathKey = Object.keys(process.env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
    const tree = await startProcessTree(['fake-agent', ...args], {
      cwd: dir,
      env: { ...process.env, [pathKey]: `${dir}${path.delimiter}${process.env[pathKey] ?? ''}` },
      onOutput: (c) => chunks.push(c),
    });
    const exit = await tree.exited;
    await tree.drained(2_000);
    assert.equal(exit.code, 0, Buffer.concat(chunks).toString());
    assert.deepEqual(JSON.parse(Buffer.concat(chunks).toString()), args);
  });

  it('says which command was not found, whether the OS tells at the start (POSIX) or once cmd.exe looked (Windows)', async () => {
    const said = await startProcessTree(['no-such-agent-anywhere'], { cwd: dir, env: process.env, onOutput: () => undefined }).then(
      async (tree) => (await tree.exited).notStarted,
      (error: Error) => error.message,
    );
    assert.match(said ?? 'it started', /^command not found: "no-such-agent-anywhere"$/);
  });
});
