import { strict as assert } from 'node:assert';
import { execSync } from 'node:child_process';
import path from 'node:path';
import { commandName } from '../../../src/cli/commandName';
import { buildCli, cli, CLI, PROJECT } from '../helpers/cli';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { writeWorkflow } from '../helpers/workflowRun';

describe('the commands the CLI prints', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  before(async () => {
    buildCli();
    repo = await makeTempRepo({ 'README.md': '# printed\n' });
  });
  after(() => repo.cleanup());

  it('name the CLI as it was started: an installed bin by its name, the bundle by its path', () => {
    assert.equal(commandName('/usr/local/bin/tapps-flow'), 'tapps-flow');
    assert.equal(commandName(path.join(process.cwd(), 'dist', 'cli.js')), `node ${path.join('dist', 'cli.js')}`);
    assert.equal(commandName('/elsewhere with space/dist/cli.js').startsWith('node "'), true);
  });

  it('work exactly as printed: the hint after a run applies its result', async () => {
    const file = await writeWorkflow(repo, { steps: [{ id: 's', run: 'echo printed > printed.txt' }] });
    // As the demo runs it: from the project folder, through the bundle.
    const run = await cli(['run', file, '--repo', path.relative(PROJECT, repo.dir)], { cwd: PROJECT });
    assert.equal(run.code, 0, run.stderr);
    const hint = /^Apply it with: (.+)$/m.exec(run.stdout)?.[1];
    assert.ok(hint, run.stdout);
    assert.ok(hint.startsWith(`node ${path.relative(PROJECT, CLI)} apply `), hint);
    execSync(hint, { cwd: PROJECT, stdio: 'pipe' });
    assert.equal(await repo.read('printed.txt'), 'printed\n');
  });
});
