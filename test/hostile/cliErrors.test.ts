import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildCli, cli, CLI, PROJECT } from '../unit/helpers/cli';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo';
import { runWorkflow, writeWorkflow } from '../unit/helpers/workflowRun';

/** A user-facing error: exactly one line, no stack trace, naming the problem and what to do. */
function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /\n\s+at |Error:/);
}

describe('hostile: exit codes and messages of the CLI', function () {
  this.timeout(120_000);
  let repo: TempRepo;
  let scratch: string;
  let workflow: string;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# cli\n' });
    scratch = await mkdtemp(path.join(tmpdir(), 'tapps-flow-cli-'));
    workflow = await writeWorkflow(repo, { steps: [{ id: 's', run: 'echo s > s.txt' }] });
    await runWorkflow(repo, { steps: [{ id: 's', run: 'echo s > s.txt' }] }, { runId: 'done' });
  });
  after(() => repo.cleanup());

  it('not a repository: exit 2, one line', async () => {
    const r = await cli(['status', '--repo', scratch]);
    assert.equal(r.code, 2);
    assertOneLine(r.stderr, /is not inside a git repository/);
  });

  it('a bare repository: exit 2, and it says so', async () => {
    const bare = path.join(scratch, 'bare.git');
    execFileSync('git', ['init', '-q', '--bare', bare]);
    const r = await cli(['run', workflow, '--repo', bare]);
    assert.equal(r.code, 2);
    assertOneLine(r.stderr, /is a bare git repository/);
  });

  it('no commits yet: exit 2, says to commit first, nothing written', async () => {
    const empty = path.join(scratch, 'empty');
    await mkdir(empty);
    execFileSync('git', ['init', '-q', empty]);
    await writeFile(path.join(empty, 'a.txt'), 'a\n');
    const r = await cli(['run', workflow, '--repo', empty]);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /has no commits yet\. Commit something first/);
    assert.equal(execFileSync('git', ['-C', empty, 'count-objects'], { encoding: 'utf8' }).trim(), '0 objects, 0 kilobytes');
    assert.equal(execFileSync('git', ['-C', empty, 'status', '--porcelain'], { encoding: 'utf8' }), '?? a.txt\n');
  });

  it('a missing workflow file: exit 2, one line', async () => {
    const r = await cli(['run', path.join(scratch, 'nope.yaml'), '--repo', repo.dir]);
    assert.equal(r.code, 2);
    assertOneLine(r.stderr, /Workflow file not found/);
  });

  it('an invalid run id: exit 2 for every command that takes one', async () => {
    for (const args of [
      ['run', workflow, '--run-id', 'a..b'],
      ['status', 'x.lock'],
      ['resume', 'ok.'],
      ['cancel', '../x'],
      ['apply', ' '],
      ['branch', '-x', 'y'],
    ]) {
      const r = await cli([...args, '--repo', repo.dir]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
  });

  it('an unknown run: exit 2', async () => {
    const r = await cli(['status', 'no-such-run', '--repo', repo.dir]);
    assert.equal(r.code, 2);
    assertOneLine(r.stderr, /No readable run "no-such-run"/);
  });

  it('cancel --step of an unknown step: exit 2', async () => {
    const r = await cli(['cancel', 'done', '--step', 'nope', '--repo', repo.dir]);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /has no step "nope"; its steps are: s/);
  });

  it('status piped into a reader that stops early ends quietly (no EPIPE trace)', async () => {
    for (const args of [['status'], ['status', 'done', '--json'], ['validate', workflow]]) {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, ...args, '--repo', repo.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        // The reader is gone before the first line comes, as with `| head -0`: every write hits EPIPE.
        child.stdout.destroy();
        child.on('close', (code) => resolve({ code, stderr }));
      });
      assert.equal(result.stderr, '', args.join(' '));
      assert.equal(result.code, 0, args.join(' '));
    }
  });

  it('a command an error suggests names the CLI the way that works from where the user is', async () => {
    // Outside the project: the bundle by its path; in the project's folder: npx, said once.
    const outside = await cli(['status', 'no-such-run', '--repo', repo.dir], { cwd: repo.dir });
    assertOneLine(outside.stderr, new RegExp(`List runs with: node ${CLI.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} status$`));
    // (with nothing on PATH, so that a `tapps-flow` installed on this machine does not count)
    const git = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const inside = await cli(['status', 'no-such-run', '--repo', repo.dir], {
      cwd: PROJECT,
      env: { ...process.env, PATH: '', TAPPS_GIT: git },
    });
    assertOneLine(inside.stderr, /List runs with: npx --no -- tapps-flow status$/);
    // The engine's own messages get the same name.
    const clash = {
      steps: [
        { id: 'one', run: 'echo one > README.md' },
        { id: 'two', run: 'echo two > README.md' },
      ],
    };
    assert.equal((await runWorkflow(repo, clash, { runId: 'clash' })).snapshot.status, 'conflicted');
    const refused = await cli(['apply', 'clash', '--repo', repo.dir], { cwd: repo.dir });
    assert.equal(refused.code, 2, refused.stderr);
    assertOneLine(refused.stderr, new RegExp(`Resolve each with: node ${CLI.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} resolve clash <path>`));
  });

  it('a git that cannot be started: exit 2, one line saying how to point at git', async () => {
    const r = await cli(['status', '--repo', repo.dir], { env: { ...process.env, TAPPS_GIT: path.join(scratch, 'no-such-git') } });
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /could not start git \(".*no-such-git" was not found\)\. Install git, or set TAPPS_GIT/);
  });

  it('a git older than 2.38: exit 2, one line naming the version found and how to point at a newer one', async () => {
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const old = path.join(scratch, 'old-git');
    // Answers `version` (the engine asks it last, after its pinned settings) as an old git would.
    await writeFile(
      old,
      `#!/bin/sh\nfor last; do :; done\n[ "$last" = version ] && { echo 'git version 2.30.9'; exit 0; }\nexec '${real}' "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const file = await writeWorkflow(repo, { steps: [{ id: 'one', run: 'echo one > one.txt' }] }, 'old.yaml');
    const before = execFileSync(real, ['for-each-ref'], { cwd: repo.dir, encoding: 'utf8' });
    const r = await cli(['run', file, '--repo', repo.dir], { env: { ...process.env, TAPPS_GIT: old } });
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /needs git 2\.38 or newer .*"git version 2\.30\.9"\. Update git, or point TAPPS_GIT/);
    assert.equal(execFileSync(real, ['for-each-ref'], { cwd: repo.dir, encoding: 'utf8' }), before, 'nothing written');
  });

  it('an unknown TAPPS_SHELL: exit 2 before any step starts, naming the values expected', async () => {
    const file = await writeWorkflow(repo, { steps: [{ id: 'one', run: 'echo one > one.txt' }] }, 'shell.yaml');
    const r = await cli(['run', file, '--repo', repo.dir], { env: { ...process.env, TAPPS_SHELL: 'bash' } });
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /TAPPS_SHELL is "bash": expected one of auto, sh, cmd, powershell/);
  });
});
