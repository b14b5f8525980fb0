import type { Prng } from '../helpers/prng';

/** One generated workflow file: its text and how it was made (printed when it breaks a property). */
export interface FuzzCase {
  readonly index: number;
  readonly how: string;
  readonly text: string;
}

/** Valid workflows to start from: the documented format, the TappsCodingAgents layouts, anchors and the rarer keys. */
export const SEEDS: readonly string[] = [
  `workflow:
  id: review-and-test
  name: Review and test three services
  settings:
    max_parallel: 8
    timeout_seconds: 900
    kill_grace_seconds: 5
    log_max_bytes: 1048576
  agents:
    reviewer: { preset: claude-code }
    tester:   { command: ["codex", "exec", "{prompt}"], env: { CODEX_MODE: fast } }
  merge:
    - { paths: ["**/*.json"], policy: json }
    - { paths: ["**/*.md"],   policy: markdown }
    - { paths: ["reports/**", "{src/**,lib/**}"], policy: union }
  steps:
    - id: auth-review
      agent: reviewer
      action: review_code
      prompt: Review services/auth and write services/auth/review-report.json
      creates: [services/auth/review-report.json]
    - id: lint
      agent: shell
      run: mkdir -p reports && npx eslint . -f json -o reports/lint.json || true
      creates: [reports/lint.json]
      timeout_seconds: 60
    - id: report
      agent: shell
      run: node scripts/summarize.js
      requires: [services/auth/review-report.json, reports/lint.json]
      creates: [report.md]
      env: { LANG: C }
`,
  `workflow:
  id: feature-sdlc
  name: "Feature SDLC"
  version: "1.0.0"
  type: greenfield
  auto_detect: true
  settings:
    quality_gates: true
    context_tier_default: 2
  steps:
    - id: requirements
      agent: analyst
      action: gather_requirements
      context_tier: 1
      creates:
        - requirements.md
      next: planning
    - id: planning
      agent: planner
      action: create_stories
      requires:
        - requirements.md
      creates:
        - stories/
    - id: review
      agent: reviewer
      action: review_code
      requires: [stories/first.md]
      scoring:
        enabled: true
        thresholds: { overall_min: 70, security_min: 7.0 }
      gate:
        condition: "scoring.passed == true"
        on_pass: complete
      next: [complete]
    - id: complete
      agent: orchestrator
      action: finalize
`,
  `# anchors, needs and every string form
workflow:
  id: anchors
  description: >-
    Folded text
    on two lines
  steps:
    - id: one
      agent: shell
      run: &cmd |
        echo "one" > one.txt
      creates: &made [one.txt]
    - id: two
      agent: shell
      run: *cmd
      requires: *made
      needs: [one]
      notes: 'single ''quoted'''
    - id: three
      agent: shell
      run: "printf '%s\\n' \\"three\\""
      needs: [one]
      next: two
      condition: always
`,
  `# the older TappsCodingAgents layout: the workflow's keys at the top
id: older
name: Older layout
type: utility
steps:
  - id: intent
    agent: analyst
    action: gather-requirements
    context_tier: TIER2
    consults: ["expert-*"]
    creates: ["intent"]
    next: prompt
  - id: prompt
    agent: shell
    run: echo prompt > prompt
    requires: ["intent"]
    creates: ["prompt"]
    condition: optional
    metadata: { instruction: "Be brief" }
`,
  `# steps in sequence: beside workflow:, with gates, outputs and metadata
workflow:
  id: sequenced
  type: brownfield
sequence:
  - step: scan
    agent: shell
    run: echo scan > scan.txt
    parameters: { phase: scan }
    creates: [scan.txt]
    output: |
      - a scan
  - step: judge
    agent: reviewer
    action: review
    requires: [scan, scan.txt]
    gate: { condition: "scoring.passed == true", on_fail: scan }
gates:
  - name: scanned
    condition: scan.status == "success"
    message: The scan must succeed
outputs:
  reports: [{ type: json, path: reports/a.json }]
metadata: { author: fuzz }
`,
  `# verified results: checks on the aggregate and the steps, candidates, a score
workflow:
  id: verified
  agents:
    claude: { preset: claude-code }
    codex: { preset: codex }
  checks:
    - { name: test, run: npm test, timeout_seconds: 600 }
    - { name: lint, run: npx eslint ., on: both, env: { CI: "1" } }
  steps:
    - id: auth-rename
      agent: claude
      candidates: 3
      prompt: Rename the auth module's functions
      score: { run: "echo 1", better: lower }
    - id: docs
      agents: [claude, codex]
      prompt: Write the docs
      score: wc -l < docs.md
      needs: [auth-rename]
`,
];

/** Values that are wrong somewhere or everywhere: types, bounds, YAML features, characters. */
const HOSTILE_VALUES: readonly string[] = [
  '[]',
  '{}',
  'null',
  '~',
  'true',
  '0',
  '-1',
  '-0',
  '1e400',
  '-1e400',
  '1e-400',
  '.nan',
  '.inf',
  '-.inf',
  '9007199254740993',
  '604801',
  '2147483648',
  '0x7fffffff',
  '0o17',
  '08',
  '1_000',
  '2001-12-14',
  '"\\0"',
  '"a\\0b"',
  '"\\u0001\\u007f\\u0085"',
  '"\\u202e\\ufeff"',
  '"🚀 ünïcödé"',
  '"x.lock"',
  '"a..b"',
  '"Shell"',
  '"../../etc/passwd"',
  '"/abs"',
  '"src/.git/hooks/pre-commit"',
  '"{src/**"',
  '"**/a/**/b/**/c/**/d"',
  '*nope',
  '&a x',
  '!!binary aGVsbG8=',
  '!!set { a, b }',
  '!!omap [a: 1]',
  '!custom x',
  '!!str',
  '|',
  '>-',
  "'it''s'",
  '"unterminated',
  '[',
  '{',
  ']',
  '- x',
  '? x',
  '@x',
  '`x',
  '%x',
  '<<: *nope',
  '[a, [b, [c, {d: e}]]]',
];

const ODD_TEXT: readonly string[] = [
  '\0',
  '\u0001',
  '\u0007',
  '\t',
  '\r',
  '\u0085',
  '\u2028',
  '\uFEFF',
  '\uD800',
  '\uDFFF',
  '🚀',
  'é',
  '\u202e',
  '"',
  "'",
  '\\',
  ':',
  '#',
  '&',
  '*',
  '!',
  '|',
  '>',
  '%',
  '@',
  '`',
];

type Mutation = (text: string, rng: Prng) => string;

const lines = (text: string) => text.split('\n');
const keyLines = (text: string) => lines(text).flatMap((l, i) => (/^\s*(- )?[A-Za-z_][\w-]*:/.test(l) ? [i] : []));

function atKeyLine(text: string, rng: Prng, edit: (line: string, all: string[], i: number) => void): string {
  const all = lines(text);
  const candidates = keyLines(text);
  if (candidates.length === 0) return text;
  const i = rng.pick(candidates);
  edit(all[i], all, i);
  return all.join('\n');
}

function aliasBomb(rng: Prng): string {
  return aliasBombLines(rng.int(3, 12));
}

function aliasBombLines(levels: number): string {
  const out = ['  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < levels; i++) out.push(`  l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
  return out.join('\n');
}

/** The mutations, by name; each takes a workflow text and returns another. */
export const MUTATIONS: Readonly<Record<string, Mutation>> = {
  deleteKey: (text, rng) => atKeyLine(text, rng, (_, all, i) => all.splice(i, 1)),
  duplicateKey: (text, rng) => atKeyLine(text, rng, (line, all, i) => all.splice(i + 1, 0, line.replace(/^(\s*)- /, '$1  '))),
  wrongValue: (text, rng) =>
    atKeyLine(text, rng, (line, all, i) => {
      all[i] = `${line.replace(/:.*$/, ':')} ${rng.pick(HOSTILE_VALUES)}`;
    }),
  hugeNumber: (text, rng) =>
    atKeyLine(text, rng, (line, all, i) => {
      all[i] =
        `${line.replace(/:.*$/, ':')} ${rng.pick(['1e308', '-1e308', '1e400', '-5', '0', '4294967296', '1e21', '.inf', '.nan', '123456789012345678901234567890'])}`;
    }),
  oddCharacters: (text, rng) => {
    const at = rng.int(0, text.length);
    const inserted = Array.from({ length: rng.int(1, 4) }, () => rng.pick(ODD_TEXT)).join('');
    return text.slice(0, at) + inserted + text.slice(at);
  },
  aliasBomb: (text, rng) => text.replace(/^workflow:\n/, `workflow:\n${aliasBomb(rng)}\n`),
  undefinedAlias: (text, rng) =>
    atKeyLine(text, rng, (line, all, i) => {
      all[i] = `${line.replace(/:.*$/, ':')} *undefined${rng.int(0, 9)}`;
    }),
  selfAlias: (text) => text.replace(/^workflow:\n/, 'workflow: &root\n  loop: *root\n'),
  manyKeys: (text, rng) => {
    const count = rng.pick([1000, 50_000]);
    return text.replace(/^workflow:\n/, `workflow:\n${Array.from({ length: count }, (_, i) => `  key${i}: ${i}\n`).join('')}`);
  },
  deepNesting: (text, rng) => {
    const depth = rng.pick([10, 63, 64, 65, 100, 1000, 100_000]);
    const value = rng.chance(0.5)
      ? `${'['.repeat(depth)}${rng.chance(0.5) ? ']'.repeat(depth) : ''}`
      : `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
    return atKeyLine(text, rng, (line, all, i) => {
      all[i] = `${line.replace(/:.*$/, ':')} ${value}`;
    });
  },
  deepBlock: (text, rng) => `${text}extra:\n${'- '.repeat(rng.pick([50, 70, 5000]))}x\n`,
  bom: (text) => `\uFEFF${text}`,
  crlf: (text) => text.replace(/\n/g, '\r\n'),
  lonelyCr: (text) => text.replace(/\n/g, '\r'),
  binary: (text, rng) => {
    const at = rng.int(0, text.length);
    const bytes = Array.from({ length: rng.int(1, 64) }, () => String.fromCharCode(rng.int(0, 255))).join('');
    return text.slice(0, at) + bytes + text.slice(at);
  },
  allBinary: (_, rng) => Array.from({ length: rng.int(0, 2000) }, () => String.fromCharCode(rng.int(0, 255))).join(''),
  empty: () => '',
  onlyComment: () => '# nothing here\n',
  truncate: (text, rng) => text.slice(0, rng.int(0, text.length)),
  dropLine: (text, rng) => {
    const all = lines(text);
    all.splice(rng.int(0, all.length - 1), 1);
    return all.join('\n');
  },
  shuffleIndent: (text, rng) => {
    const all = lines(text);
    const i = rng.int(0, all.length - 1);
    all[i] = rng.chance(0.5) ? ` ${all[i]}` : all[i].replace(/^ /, '');
    return all.join('\n');
  },
  tabIndent: (text, rng) => {
    const all = lines(text);
    const i = rng.int(0, all.length - 1);
    all[i] = all[i].replace(/^ {2}/, '\t');
    return all.join('\n');
  },
  secondDocument: (text) => `${text}---\nworkflow: {}\n`,
  yaml11: (text) => `%YAML 1.1\n---\n${text.replace(/^workflow:\n/, 'workflow:\n  base: &base { a: 1 }\n  merged: { <<: *base, b: 2 }\n')}`,
  tag: (text, rng) =>
    atKeyLine(text, rng, (line, all, i) => {
      all[i] = line.replace(
        /:\s*(\S.*)$/,
        `: ${rng.pick(['!!str', '!!int', '!!map', '!!seq', '!!float', '!!bool', '!foo', '!<tag:x>'])} $1`,
      );
    }),
  longString: (text, rng) =>
    atKeyLine(text, rng, (line, all, i) => {
      all[i] = `${line.replace(/:.*$/, ':')} ${'x'.repeat(rng.pick([100, 10_000, 500_000]))}`;
    }),
  manySteps: (text, rng) => {
    const count = rng.pick([200, 3000]);
    const steps = Array.from(
      { length: count },
      (_, i) => `    - { id: s${i}, agent: shell, run: x, requires: [f${i - 1}], creates: [f${i}] }\n`,
    ).join('');
    return text.replace(/^ {2}steps:\n/m, `  steps:\n${steps}`);
  },
};

const NAMES = Object.keys(MUTATIONS);

/** Mutations that make big files: used once in a while so that the whole run stays short. */
const EXPENSIVE = new Set(['manyKeys', 'manySteps', 'longString']);

const chain = (count: number) =>
  Array.from({ length: count }, (_, i) => `    - { id: s${i}, agent: shell, run: x, requires: [f${i - 1}], creates: [f${i}] }\n`).join('');

/** The extremes, always in: random picks would reach them rarely, or never. */
const EXTREMES: ReadonlyArray<readonly [string, string]> = [
  [
    '50,000 keys in workflow',
    `workflow:\n${Array.from({ length: 50_000 }, (_, i) => `  k${i}: 1\n`).join('')}${SEEDS[0].slice('workflow:\n'.length)}`,
  ],
  ['50,000 unknown keys in a step', `${SEEDS[2]}${Array.from({ length: 50_000 }, (_, i) => `      k${i}: 1\n`).join('')}`],
  ['100,000 nested lists', `workflow: ${'['.repeat(100_000)}`],
  ['5,000 nested block lists', `workflow:\n  - ${'- '.repeat(5000)}x\n`],
  ['an alias bomb of 12 levels', `workflow:\n${aliasBombLines(12)}\n${SEEDS[0].slice('workflow:\n'.length)}`],
  [
    'a merge-key alias bomb (YAML 1.1)',
    `%YAML 1.1\n---\na: &a {x: 1}\nb: &b {<<: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}\nc: &c {<<: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}\nd: {<<: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}\n`,
  ],
  ['2,000 duplicate keys', `${SEEDS[2]}      env:\n${'        A: x\n'.repeat(2000)}`],
  ['1,000 steps in a chain', `workflow:\n  id: chain\n  steps:\n${chain(1000)}`],
  ['1,001 steps', `workflow:\n  id: chain\n  steps:\n${chain(1001)}`],
  ['an empty file', ''],
  ['a byte order mark alone', '\uFEFF'],
  ['line ends alone', '\r\n'.repeat(1000)],
  ['NUL bytes alone', '\0'.repeat(1000)],
  ['a scalar document', 'workflow'],
  ['a list document', '- workflow\n'],
];

/** `count` cases from `rng`: the seeds, the extremes, then a seed workflow with one to three mutations each. */
export function generateCases(rng: Prng, count: number): FuzzCase[] {
  const cases: FuzzCase[] = SEEDS.map((text, index) => ({ index, how: `seed ${index}`, text }));
  for (const [how, text] of EXTREMES) cases.push({ index: cases.length, how, text });
  while (cases.length < count) {
    const seed = rng.int(0, SEEDS.length - 1);
    let text = SEEDS[seed];
    const applied: string[] = [];
    for (let n = rng.int(1, 3); n > 0; n--) {
      let name = rng.pick(NAMES);
      if (EXPENSIVE.has(name) && !rng.chance(0.1)) name = 'wrongValue';
      text = MUTATIONS[name](text, rng);
      applied.push(name);
    }
    cases.push({ index: cases.length, how: `seed ${seed} + ${applied.join(' + ')}`, text });
  }
  return cases;
}
