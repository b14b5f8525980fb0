import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkflowRun } from '../../../src/core/run/workflowRun';
import { WorkflowError } from '../../../src/core/util/errors';
import { MAX_REPORTED_ISSUES } from '../../../src/core/workflow/limits';
import { parseWorkflow } from '../../../src/core/workflow/loadWorkflow';
import { Prng } from '../helpers/prng';
import { makeTempRepo } from '../helpers/tempRepo';
import { writeWorkflow } from '../helpers/workflowRun';
import { generateCases, SEEDS, type FuzzCase } from './workflowMutations';

const SEED = 20_240_601;
const CASES = 1200;
/** A hang detector, not a speed assertion: the slowest accepted input (a 50,000-key file) takes about a second. */
const HANG_MS = 5000;

interface Outcome {
  readonly fuzz: FuzzCase;
  readonly rejected: boolean;
  readonly ms: number;
}

/** Why one outcome breaks the properties, or `undefined`. */
function brokenProperty(fuzz: FuzzCase, error: unknown, ms: number): string | undefined {
  if (ms > HANG_MS) return `took ${ms.toFixed(0)} ms`;
  if (error === undefined) return undefined;
  if (!WorkflowError.is(error)) return `crashed: ${error instanceof Error ? error.stack : JSON.stringify(error)}`;
  const lineCount = fuzz.text.split(/\r\n|\r|\n/).length;
  if (error.issues.length === 0) return 'a WorkflowError without issues';
  if (error.issues.length > MAX_REPORTED_ISSUES + 1) return `${error.issues.length} issues`;
  for (const issue of error.issues) {
    const where = `${issue.line}:${issue.column}`;
    if (!Number.isInteger(issue.line) || !Number.isInteger(issue.column)) return `an issue at ${where}`;
    if (issue.line < 1 || issue.column < 1 || issue.line > lineCount + 1) return `an issue at ${where} of a file of ${lineCount} lines`;
    if (issue.file !== 'fuzz.yaml' || typeof issue.message !== 'string' || issue.message === '') return `a malformed issue at ${where}`;
  }
  return undefined;
}

let outcomes: Outcome[] | undefined;
let failures: string[] = [];

/** Every generated case through `parseWorkflow`, once for the whole suite. */
function runCases(): Outcome[] {
  if (outcomes) return outcomes;
  outcomes = [];
  failures = [];
  for (const fuzz of generateCases(new Prng(SEED), CASES)) {
    let error: unknown;
    const started = performance.now();
    try {
      parseWorkflow(fuzz.text, 'fuzz.yaml');
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - started;
    const broken = brokenProperty(fuzz, error, ms);
    if (broken) failures.push(`case ${fuzz.index} (${fuzz.how}): ${broken}`);
    outcomes.push({ fuzz, rejected: error !== undefined, ms });
  }
  return outcomes;
}

describe('fuzz: generated workflow files', function () {
  this.timeout(600_000);

  it(`${CASES} files from seed ${SEED}: each loads or is rejected with positioned issues; none crashes or hangs`, () => {
    const all = runCases();
    assert.equal(all.length, CASES);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${CASES} cases broke a property`);
    assert.deepEqual(
      all.slice(0, SEEDS.length).map((o) => o.rejected),
      SEEDS.map(() => false),
      'every seed workflow loads',
    );
    const rejected = all.filter((o) => o.rejected).length;
    // Both outcomes must be common, or the mutations test only one side.
    assert.ok(rejected > CASES * 0.5 && rejected < CASES, `${rejected} of ${CASES} rejected`);
    const slowest = all.reduce((a, b) => (b.ms > a.ms ? b : a));
    console.log(`      ${rejected} rejected, ${CASES - rejected} loaded; slowest ${slowest.ms.toFixed(0)} ms (${slowest.fuzz.how})`);
  });

  it('0 writes to the repository: WorkflowRun.prepare rejects every 20th rejected file and changes nothing (needs prepare to validate before it captures the base)', async () => {
    const sample = runCases()
      .filter((o) => o.rejected)
      .filter((_, i) => i % 20 === 0);
    assert.ok(sample.length >= 20, `${sample.length} files sampled`);
    const repo = await makeTempRepo({ 'README.md': '# fuzz\n', 'src/a.ts': 'export const a = 1;\n' });
    try {
      await repo.write('uncommitted.txt', 'a change of the user, not committed\n');
      const objects = () => repo.git(['count-objects', '-v']);
      const refs = () => repo.git(['for-each-ref']);
      const before = { objects: objects(), refs: refs() };
      const stateFolder = path.join(repo.dir, '.tapps-agents', 'workflow-state');
      for (const { fuzz } of sample) {
        const workflowFile = await writeWorkflow(repo, fuzz.text, 'fuzz.yaml');
        const outcome = await WorkflowRun.prepare({ repoDir: repo.dir, workflowFile, runId: `fuzz-${fuzz.index}` }).then(
          () => 'prepared',
          (e: unknown) => e,
        );
        assert.ok(WorkflowError.is(outcome), `case ${fuzz.index} (${fuzz.how}): expected a WorkflowError, got ${String(outcome)}`);
        const after = { objects: objects(), refs: refs() };
        assert.deepEqual(after, before, `case ${fuzz.index} (${fuzz.how}) wrote to the repository`);
        assert.ok(!existsSync(stateFolder), `case ${fuzz.index} (${fuzz.how}) made ${stateFolder}`);
      }
    } finally {
      await repo.cleanup();
    }
  });
});
