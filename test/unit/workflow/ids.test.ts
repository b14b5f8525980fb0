import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { ID_PATTERN, idProblem } from '../../../src/core/util/ids';
import { described, shellStep, workflowDoc } from './issuesOf';

const RULE =
  'expected letters, digits, ".", "_" or "-", starting with a letter or digit, at most 80 characters, with no ".." and not ending in "." or ".lock"';

/** Whether git accepts `id` as a component of a ref name. */
function gitAcceptsComponent(id: string): boolean {
  try {
    execFileSync('git', ['check-ref-format', `refs/tapps-flow/${id}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('ids of steps and runs: one rule', () => {
  const accepted = ['a', 'A-1', 'build.v2', 'x_y', '0', 'a.b.c', 'lock', 'a.locked', 'console', 'x'.repeat(80)];
  const rejected: Array<[string, string]> = [
    ['', 'it is empty'],
    ['x'.repeat(81), 'it has 81 characters'],
    ['.a', 'it starts with "."'],
    ['-a', 'it starts with "-"'],
    ['_a', 'it starts with "_"'],
    ['a b', 'it contains " "'],
    ['a/b', 'it contains "/"'],
    ['a\0b', 'it contains "\\u0000"'],
    ['a\nb', 'it contains "\\n"'],
    ['a~1', 'it contains "~"'],
    ['a^', 'it contains "^"'],
    ['a:b', 'it contains ":"'],
    ['a?', 'it contains "?"'],
    ['a*', 'it contains "*"'],
    ['a[1]', 'it contains "["'],
    ['a\\b', 'it contains "\\\\"'],
    ['a@{1}', 'it contains "@"'],
    ['@', 'it starts with "@"'],
    ['é', 'it starts with "é"'],
    ['a..b', 'it contains ".."'],
    ['ok.', 'it ends in "."'],
    ['x.lock', 'it ends in ".lock", the suffix git gives its lock files'],
    ['x.LOCK', 'it ends in ".LOCK", the suffix git gives its lock files'],
    ['con', '"con" is a device name that Windows reserves'],
    ['NUL.txt', '"NUL" is a device name that Windows reserves'],
    ['com1', '"com1" is a device name that Windows reserves'],
  ];

  it('accepts letters, digits, ".", "_" and "-" that git also accepts in a ref', () => {
    for (const id of accepted) {
      assert.equal(idProblem('step', id), undefined, id);
      assert.ok(ID_PATTERN.test(id), id);
      assert.ok(gitAcceptsComponent(id), `git rejects ${id}`);
    }
  });

  it('rejects the rest, saying why and what was expected', () => {
    for (const [id, why] of rejected) {
      const shown = JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}…` : id);
      assert.equal(idProblem('step', id), `invalid step id ${shown}: ${why}; ${RULE}`);
      assert.equal(idProblem('run', id), `invalid run id ${shown}: ${why}; ${RULE}`);
      assert.ok(!ID_PATTERN.test(id), id);
    }
  });

  it('rejects at load time, at the id, every id git would refuse as a ref component', () => {
    for (const id of ['x.lock', 'a..b', 'ok.']) {
      assert.ok(!gitAcceptsComponent(id), `git accepts ${id}`);
      const issues = described(workflowDoc(shellStep(`"${id}"`)));
      assert.equal(issues.length, 1);
      assert.ok(issues[0].startsWith(`4:11 workflow.steps[0].id: invalid step id "${id}": `), issues[0]);
    }
    assert.deepEqual(described(workflowDoc(shellStep('a', '      needs: [b..c]\n'))), [
      `7:15 workflow.steps[0].needs[0]: invalid step id "b..c": it contains ".."; ${RULE}`,
    ]);
  });

  it('treats step ids that differ only in case as duplicates: they would share a folder on some file systems', () => {
    assert.deepEqual(described(workflowDoc(shellStep('build') + shellStep('Build'))), [
      '7:11 step "Build": duplicate step id "Build": step 1 is "build", which differs only in case; expected ids that differ in more than case, because each names a folder and some file systems ignore case',
    ]);
  });
});

describe('step dependencies on themselves', () => {
  it('rejects a step that names itself in needs or next, at the name', () => {
    assert.deepEqual(described(workflowDoc(shellStep('a', '      needs: [a]\n') + shellStep('b', '      next: b\n'))), [
      '7:15 step "a": "needs" names the step itself; expected the ids of other steps that must succeed first',
      '11:13 step "b": "next" names the step itself; expected the ids of other steps that run after it',
    ]);
    assert.deepEqual(described(workflowDoc(shellStep('b', '      next: [c, b]\n') + shellStep('c'))), [
      '7:17 step "b": "next" names the step itself; expected the ids of other steps that run after it',
    ]);
  });
});
