import { strict as assert } from 'node:assert';
import { Prng } from '../helpers/prng';
import { editStep } from '../helpers/stepFiles';
import { makeTempRepo, type Files, type TempRepo } from '../helpers/tempRepo';
import { readStateFile, runWorkflow, type StepSpec, type WorkflowSpec } from '../helpers/workflowRun';

const STEPS = 8;
const TEXT_LINES = 24;

interface Generated {
  readonly base: Files;
  readonly steps: ReadonlyArray<{ readonly id: string; readonly write: Files; readonly sleep: number; readonly needs: readonly string[] }>;
}

/** Seeded edits of shared text, JSON and Markdown files by 8 steps, with random sleeps and a few dependencies. */
function generate(seed: number): Generated {
  const rng = new Prng(seed);
  const text = Array.from({ length: TEXT_LINES }, (_, i) => `shared line ${i}`);
  const data: Record<string, unknown> = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, i]));
  const sections = ['Summary', 'Findings', 'Risks', 'Next steps'];
  const markdown = (bodies: ReadonlyMap<string, string>, extra: readonly string[]) =>
    [
      '# Report',
      '',
      'Preamble.',
      '',
      ...sections.flatMap((s) => [`## ${s}`, '', bodies.get(s) ?? `About ${s.toLowerCase()}.`, '']),
      ...extra.flatMap((e) => [e, '']),
    ].join('\n');
  const base: Files = {
    'shared.txt': `${text.join('\n')}\n`,
    'data.json': `${JSON.stringify(data, null, 2)}\n`,
    'report.md': markdown(new Map(), []),
  };
  const steps = Array.from({ length: STEPS }, (_, i) => {
    const id = `s${i}`;
    const write: Record<string, string> = { [`own/${id}.txt`]: `${id} ${rng.int(0, 1e6)}\n` };
    if (rng.chance(0.7)) {
      const lines = [...text];
      for (let n = rng.int(1, 2); n > 0; n--) lines[rng.int(0, TEXT_LINES - 1)] = `${id} edit ${rng.int(0, 99)}`;
      write['shared.txt'] = `${lines.join('\n')}\n`;
    }
    if (rng.chance(0.7)) {
      const edited: Record<string, unknown> = { ...data };
      for (let n = rng.int(1, 2); n > 0; n--) edited[`k${rng.int(0, 11)}`] = `${id}-${rng.int(0, 9)}`;
      if (rng.chance(0.2)) delete edited[`k${rng.int(0, 7)}`];
      write['data.json'] = `${JSON.stringify(edited, null, 2)}\n`;
    }
    if (rng.chance(0.6)) {
      const bodies = new Map<string, string>();
      if (rng.chance(0.4)) bodies.set(rng.pick(sections), `${id} rewrote this.`);
      write['report.md'] = markdown(bodies, rng.chance(0.7) ? [`## Notes of ${id}`, '', `Written by ${id}.`] : []);
    }
    const needs = i > 1 && rng.chance(0.25) ? [`s${rng.int(1, i - 1)}`] : [];
    // s0 sleeps longest: it finishes last when steps run in parallel, first when they run one by one.
    return { id, write, sleep: i === 0 ? 0.6 : rng.int(0, 30) / 100, needs };
  });
  return { base, steps };
}

interface Outcome {
  readonly tree: string;
  readonly commit: string;
  readonly manifest: string;
  readonly conflictsJson: string;
  readonly conflictsMd: string;
  readonly completion: string;
}

describe('aggregate: determinism', function () {
  this.timeout(120_000);
  const repos: TempRepo[] = [];
  after(async () => {
    for (const repo of repos) await repo.cleanup();
  });

  for (const seed of [7, 2024]) {
    it(`gives byte-identical aggregates and reports whatever the parallelism and completion order (seed ${seed})`, async () => {
      const generated = generate(seed);
      const repo = await makeTempRepo(generated.base);
      repos.push(repo);
      const steps: StepSpec[] = [];
      for (const s of generated.steps)
        steps.push(await editStep(repo, s.id, { write: s.write, sleep: s.sleep }, s.needs.length > 0 ? { needs: s.needs } : {}));
      const spec: WorkflowSpec = {
        merge: [
          { paths: ['**/*.json'], policy: 'json' },
          { paths: ['**/*.md'], policy: 'markdown' },
        ],
        steps,
      };
      const rng = new Prng(seed * 31 + 1);
      const configs = [
        { runId: `seed${seed}-a`, maxParallel: 8 },
        { runId: `seed${seed}-b`, maxParallel: rng.int(2, 8) },
        { runId: `seed${seed}-c`, maxParallel: rng.int(1, 8) },
        { runId: `seed${seed}-sequential`, sequential: true },
      ];
      const outcomes: Outcome[] = [];
      for (const config of configs) {
        const { run, snapshot, events } = await runWorkflow(repo, spec, config);
        assert.ok(
          ['succeeded', 'conflicted'].includes(snapshot.status),
          `${config.runId}: ${snapshot.status} ${JSON.stringify(snapshot.steps.map((s) => [s.id, s.status, s.error]))}`,
        );
        outcomes.push({
          tree: snapshot.aggregate!.tree,
          commit: snapshot.aggregate!.commit,
          manifest: await readStateFile(run, 'manifest.json'),
          conflictsJson: await readStateFile(run, 'conflicts.json'),
          conflictsMd: await readStateFile(run, 'conflicts.md'),
          completion: events.flatMap((e) => (e.type === 'step_succeeded' ? [e.step] : [])).join(' '),
        });
      }
      const [first, ...others] = outcomes;
      others.forEach((o, i) => {
        const label = configs[i + 1].runId;
        assert.equal(o.tree, first.tree, `${label}: aggregate tree`);
        assert.equal(o.commit, first.commit, `${label}: aggregate commit`);
        assert.equal(o.manifest, first.manifest, `${label}: manifest.json bytes`);
        assert.equal(o.conflictsJson, first.conflictsJson, `${label}: conflicts.json bytes`);
        assert.equal(o.conflictsMd, first.conflictsMd, `${label}: conflicts.md bytes`);
      });
      assert.ok(
        new Set(outcomes.map((o) => o.completion)).size > 1,
        `the steps finished in different orders: ${outcomes.map((o) => o.completion).join(' | ')}`,
      );
      assert.ok(first.manifest.includes(first.tree));
      // The seeds are chosen so that the reports have something in them: conflicts of several kinds.
      assert.ok((JSON.parse(first.conflictsJson) as { conflicts: unknown[] }).conflicts.length > 0, 'the generated edits clash somewhere');
    });
  }
});
