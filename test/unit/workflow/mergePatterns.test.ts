import { strict as assert } from 'node:assert';
import { globProblem, policyMatcher } from '../../../src/core/merge/mergeRules';
import { parseWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { described, shellStep, workflowDoc } from './issuesOf';

const withMerge = (rules: string) => workflowDoc(shellStep('a'), `  merge:\n${rules}`);

/** Which of `paths` one pattern matches. */
function matches(pattern: string, paths: readonly string[]): string[] {
  const policyOf = policyMatcher([{ paths: [pattern], policy: 'union' }]);
  return paths.filter((p) => policyOf(p) === 'union');
}

describe('merge rule patterns', () => {
  it('keep the documented semantics', () => {
    const paths = [
      'a.json',
      'x/a.json',
      'x/y/a.json',
      '.github/ci.json',
      'x/.eslintrc.json',
      'reports/r.md',
      'reports/sub/r.md',
      'x/reports/r.md',
    ];
    assert.deepEqual(
      matches('*.json', paths),
      ['a.json', 'x/a.json', 'x/y/a.json', '.github/ci.json', 'x/.eslintrc.json'],
      'no "/": any folder',
    );
    assert.deepEqual(matches('**/*.json', paths), ['a.json', 'x/a.json', 'x/y/a.json', '.github/ci.json', 'x/.eslintrc.json']);
    assert.deepEqual(matches('/*.json', paths), ['a.json'], 'a leading "/" anchors at the root');
    assert.deepEqual(matches('x/*.json', paths), ['x/a.json', 'x/.eslintrc.json'], '"*" stays in its folder');
    assert.deepEqual(matches('x/**', paths), ['x/a.json', 'x/y/a.json', 'x/.eslintrc.json', 'x/reports/r.md'], '"**" crosses folders');
    assert.deepEqual(matches('reports/', paths), ['reports/r.md', 'reports/sub/r.md'], 'a trailing "/": everything below');
    assert.deepEqual(matches('x/?.json', paths), ['x/a.json']);
    assert.deepEqual(matches('{reports,x/reports}/*.md', paths), ['reports/r.md', 'x/reports/r.md']);
    assert.deepEqual(matches('x/[ab].json', paths), ['x/a.json']);
  });

  it('"{src/**,lib/**}" loads and picks its policy, end to end', () => {
    const loaded = parseWorkflow(withMerge('    - { paths: ["{src/**,lib/**}"], policy: union }\n'), 'wf.yaml');
    const policyOf = policyMatcher(loaded.workflow.merge);
    assert.deepEqual(['src/a.ts', 'lib/x/y.js', 'docs/src/a.ts', 'README.md'].map(policyOf), ['union', 'union', 'text', 'text']);
  });

  it('are checked at load time, each bad one at its position', () => {
    const patterns = [
      '""',
      '"   "',
      '"C:/x"',
      '"//server/x"',
      '"../x"',
      '"a/../../x"',
      '"./x"',
      '"a//b"',
      '"{src/**"',
      '"[ab"',
      '"src/**.ts"',
      '"!x"',
      '"a\\\\b"',
      '"a\\tb"',
      '"*a*a*a*b"',
      '"**/a/**/b/**/c"',
    ];
    const issues = described(withMerge(patterns.map((p) => `    - { paths: [${p}], policy: union }\n`).join('')));
    assert.deepEqual(issues, [
      '4:17 workflow.merge[0].paths[0]: expected a path pattern, got an empty text',
      '5:17 workflow.merge[1].paths[0]: expected a path pattern, got an empty text',
      '6:17 workflow.merge[2].paths[0]: expected a pattern relative to the repository root (a leading "/" anchors it there), got the absolute path "C:/x"',
      '7:17 workflow.merge[3].paths[0]: expected a pattern relative to the repository root (a leading "/" anchors it there), got the absolute path "//server/x"',
      '8:17 workflow.merge[4].paths[0]: expected a pattern without "." or ".." folders (paths in a repository have none), got "../x"',
      '9:17 workflow.merge[5].paths[0]: expected a pattern without "." or ".." folders (paths in a repository have none), got "a/../../x"',
      '10:17 workflow.merge[6].paths[0]: expected a pattern without "." or ".." folders (paths in a repository have none), got "./x"',
      '11:17 workflow.merge[7].paths[0]: expected a pattern without empty folder names, got "a//b"',
      '12:17 workflow.merge[8].paths[0]: expected a complete pattern, got "{src/**": missing a closing "}"',
      '13:17 workflow.merge[9].paths[0]: expected a complete pattern, got "[ab": missing a closing "]"',
      '14:17 workflow.merge[10].paths[0]: expected "**" as a whole folder name, got "src/**.ts"; write "src/**/*.ts" for files in every folder below',
      '15:17 workflow.merge[11].paths[0]: expected a pattern that matches paths, got "!x": "!" does not exclude paths here; a later rule, or the default text merge, applies to paths no rule matches',
      '16:17 workflow.merge[12].paths[0]: expected "/" as the path separator, got "a\\\\b"',
      '17:17 workflow.merge[13].paths[0]: expected a pattern without control characters, got "a\\tb"',
      '18:17 workflow.merge[14].paths[0]: expected a simpler pattern, got "*a*a*a*b": at most 3 "*" or "**" in a pattern, at most 2 of them "**" (a trailing "/" counts as one) and at most 2 in one folder name, because each one multiplies the time to match a path; split it into several patterns under "paths:"',
      '19:17 workflow.merge[15].paths[0]: expected a simpler pattern, got "**/a/**/b/**/c": at most 3 "*" or "**" in a pattern, at most 2 of them "**" (a trailing "/" counts as one) and at most 2 in one folder name, because each one multiplies the time to match a path; split it into several patterns under "paths:"',
    ]);
  });

  it('accept the patterns of the documentation', () => {
    for (const p of ['**/*.json', '**/*.md', 'reports/**', '*.{json,jsonc}', '/build/', 'docs/**/*.md', '**/test/**/*.snap', '.github/**'])
      assert.equal(globProblem(p), undefined, p);
  });
});
