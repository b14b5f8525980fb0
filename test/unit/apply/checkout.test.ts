// Apply writes the user's files through git's own checkout: filters, line endings and symbolic
// links come out as `git checkout` of the result would give them, and the user's index stays as it was.
import { strict as assert } from 'node:assert';
import { lstat, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyResult } from '../../../src/core/apply/applyResult';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { aggregateOf, runWorkflow } from '../helpers/workflowRun';
import { scratchFiles, workTreeTree } from './workTree';

/** Waits until the wall clock enters a new second (file times and the index's have one-second granularity for git). */
function sleepToNextSecond(): Promise<void> {
  return sleep(1000 - (Date.now() % 1000) + 20);
}

/** rot13 both ways: the stored form of `Hello` is `Uryyb`. */
const ROT13 = 'tr A-Za-z N-ZA-Mn-za-m';

describe('apply: files as git checkout writes them', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  // `?.`: a test skipped on this OS made no repository of its own.
  afterEach(() => repo?.cleanup());

  it('runs the smudge filter (rot13 round trip): the files hold the checked-out form, the result the stored form', async () => {
    repo = await makeTempRepo({ '.gitattributes': '*.rot filter=rot13\n', 'doc.txt': 'doc\n' });
    repo.git(['config', 'filter.rot13.clean', ROT13]);
    repo.git(['config', 'filter.rot13.smudge', ROT13]);
    await repo.write('old.rot', 'Hello World\n');
    repo.commit('a filtered file');
    const { snapshot } = await runWorkflow(repo, {
      steps: [{ id: 'rot', run: "printf 'Secret Text\\n' > secret.rot && printf 'More\\n' >> old.rot" }],
    });
    assert.equal(snapshot.status, 'succeeded');
    const aggregate = aggregateOf(snapshot);
    assert.equal(repo.show(aggregate, 'secret.rot'), 'Frperg Grkg\n', 'the step result holds the clean (stored) form');

    const result = await applyResult(repo.dir, snapshot.runId);
    assert.deepEqual(result.changed, ['old.rot', 'secret.rot']);
    assert.equal(await repo.read('secret.rot'), 'Secret Text\n');
    assert.equal(await repo.read('old.rot'), 'Hello World\nMore\n');
    assert.equal(workTreeTree(repo), snapshot.aggregate!.tree, 'git sees exactly the result in the work tree');
  });

  it('writes CRLF for eol=crlf paths, and the work tree then matches the result', async () => {
    repo = await makeTempRepo({ '.gitattributes': '*.txt text eol=crlf\n', 'doc.txt': 'one\ntwo\n' });
    const { snapshot } = await runWorkflow(repo, {
      steps: [{ id: 'lines', run: "printf 'a\\nb\\n' > new.txt && printf 'one\\ntwo\\nthree\\n' > doc.txt" }],
    });
    assert.equal(repo.show(aggregateOf(snapshot), 'new.txt'), 'a\nb\n');
    await applyResult(repo.dir, snapshot.runId);
    assert.equal(await repo.read('new.txt'), 'a\r\nb\r\n');
    assert.equal(await repo.read('doc.txt'), 'one\r\ntwo\r\nthree\r\n');
    assert.equal(workTreeTree(repo), snapshot.aggregate!.tree);
  });

  it('writes a symbolic link of the result as a symbolic link, and an executable as executable', async function () {
    // Windows: Git for Windows' `ln -s` makes a copy (MSYS), git runs with core.symlinks=false and
    // core.filemode=false there, and files have no executable bit.
    if (process.platform === 'win32') this.skip();
    repo = await makeTempRepo({ 'doc.txt': 'doc\n' });
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        {
          id: 'links',
          run: "ln -s doc.txt link && mkdir -p sub && ln -s ../doc.txt sub/up && printf '#!/bin/sh\\n' > run.sh && chmod +x run.sh",
        },
      ],
    });
    const result = await applyResult(repo.dir, snapshot.runId);
    assert.deepEqual(result.changed, ['link', 'run.sh', 'sub/up']);
    assert.ok((await lstat(path.join(repo.dir, 'link'))).isSymbolicLink());
    assert.equal(await readlink(path.join(repo.dir, 'link')), 'doc.txt');
    assert.equal(await readlink(path.join(repo.dir, 'sub/up')), '../doc.txt');
    assert.notEqual((await stat(path.join(repo.dir, 'run.sh'))).mode & 0o100, 0);
  });

  it('keeps an edit saved in the same second as the index was written, with the same size (racy git)', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    repo = await makeTempRepo({ 'doc.txt': `${lines.join('\n')}\n` });
    const { snapshot } = await runWorkflow(repo, {
      steps: [{ id: 'top', run: "sed 's/^line 2$/TOP/' doc.txt > doc.txt.tmp && mv doc.txt.tmp doc.txt" }],
    });
    const withLine28 = (text: string) => `${lines.map((l, i) => (i === 27 ? text : l)).join('\n')}\n`;
    // Stage one version, then save another of the same size, all within one second: only the
    // index file's own time tells git that the entry's stat data cannot be trusted.
    for (;;) {
      await sleepToNextSecond();
      const started = Math.floor(Date.now() / 1000);
      await repo.write('doc.txt', withLine28('staged 1'));
      repo.git(['add', 'doc.txt']);
      await repo.write('doc.txt', withLine28('edited 2'));
      const second = (file: string) => stat(path.join(repo.dir, file)).then((s) => Math.floor(s.mtimeMs / 1000));
      if ((await second('doc.txt')) === started && (await second('.git/index')) === started) break;
    }
    await sleepToNextSecond();
    await applyResult(repo.dir, snapshot.runId);
    const doc = await repo.read('doc.txt');
    assert.match(doc, /^TOP$/m);
    assert.match(doc, /^edited 2$/m, 'the edit saved after staging was lost');
  });

  it("leaves the user's index alone (staged and unstaged edits): the changes show as unstaged, no scratch file remains", async () => {
    repo = await makeTempRepo({ 'doc.txt': 'doc\n', 'staged.txt': 'staged\n', 'other.txt': 'other\n' });
    const { snapshot } = await runWorkflow(repo, { steps: [{ id: 'new', run: 'echo new > new.txt && echo changed > doc.txt' }] });
    // After the run: one staged edit, one unstaged edit, neither touched by the result.
    await repo.write('staged.txt', 'staged, edited\n');
    repo.git(['add', 'staged.txt']);
    await repo.write('other.txt', 'other, edited\n');
    const indexFile = path.join(repo.dir, '.git/index');
    const [indexBytes, listed, cached] = [
      await readFile(indexFile),
      repo.git(['ls-files', '-s']),
      repo.git(['diff', '--cached', '--name-only']),
    ];

    const result = await applyResult(repo.dir, snapshot.runId);
    assert.deepEqual(result.changed, ['doc.txt', 'new.txt']);
    assert.deepEqual(await readFile(indexFile), indexBytes, 'the index file changed');
    assert.equal(repo.git(['ls-files', '-s']), listed);
    assert.equal(repo.git(['diff', '--cached', '--name-only']), cached);
    assert.equal(repo.gitBuffer(['status', '--porcelain']).toString(), ' M doc.txt\n M other.txt\nM  staged.txt\n?? new.txt\n');
    assert.equal(await repo.read('other.txt'), 'other, edited\n');
    assert.deepEqual(await scratchFiles(repo), []);
  });
});
