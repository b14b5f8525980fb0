// Content a user resolves by hand is the checked-out form of the file (CRLF, smudged): it is
// stored through the path's filters, as `git add` would store it.
import { strict as assert } from 'node:assert';
import { applyResult } from '../../../src/core/apply/applyResult';
import { resolveConflict } from '../../../src/core/apply/resolveConflict';
import { makeTempRepo, type TempRepo } from '../helpers/tempRepo';
import { runWorkflow } from '../helpers/workflowRun';

const ROT13 = 'tr A-Za-z N-ZA-Mn-za-m';

describe('resolve: content by hand is stored in its stored form', function () {
  this.timeout(60_000);
  let repo: TempRepo;
  afterEach(() => repo.cleanup());

  it('stores CRLF content of an eol=crlf path with LF, and smudged content of a filtered path cleaned', async () => {
    repo = await makeTempRepo({ '.gitattributes': '*.txt text eol=crlf\n*.rot filter=rot13\n', 'doc.txt': 'one\ntwo\n' });
    repo.git(['config', 'filter.rot13.clean', ROT13]);
    repo.git(['config', 'filter.rot13.smudge', ROT13]);
    await repo.write('s.rot', 'Plain\n');
    repo.commit('a filtered file');
    const { snapshot } = await runWorkflow(repo, {
      steps: [
        { id: 'one', run: "printf 'one A\\ntwo\\n' > doc.txt && printf 'Plain A\\n' > s.rot" },
        { id: 'two', run: "printf 'one B\\ntwo\\n' > doc.txt && printf 'Plain B\\n' > s.rot" },
      ],
    });
    assert.equal(snapshot.status, 'conflicted');

    await resolveConflict(repo.dir, snapshot.runId, 'doc.txt', { content: 'one A+B\r\ntwo\r\n' });
    const resolved = await resolveConflict(repo.dir, snapshot.runId, 's.rot', { content: 'Plain A+B\n' });
    assert.equal(resolved.remaining, 0);
    assert.equal(repo.show(resolved.commit, 'doc.txt'), 'one A+B\ntwo\n');
    assert.equal(repo.show(resolved.commit, 's.rot'), 'Cynva N+O\n');

    await applyResult(repo.dir, snapshot.runId);
    assert.equal(await repo.read('doc.txt'), 'one A+B\r\ntwo\r\n');
    assert.equal(await repo.read('s.rot'), 'Plain A+B\n');
  });
});
