/** One line of the printed table and of latest.json. */
export interface Row {
  readonly section: string;
  readonly measurement: string;
  /** The measured figure, already formatted with its unit. */
  readonly value: string;
  readonly baseline?: string;
  /** measured / baseline (or the figure the row is about, when the row is itself a ratio). */
  readonly ratio?: number;
  readonly target?: string;
  /** Whether the ratio meets the target; undefined where there is no target. */
  readonly ok?: boolean;
  readonly note?: string;
}

export function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '';
  return r !== 0 && Math.abs(r) < 0.1 ? `${r.toPrecision(2)}×` : `${r.toFixed(2)}×`;
}

export function fmtBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

/** Renders rows as an aligned plain-text table grouped by section. */
export function renderTable(rows: readonly Row[], sectionNotes: Readonly<Record<string, string>> = {}): string {
  const header = ['measurement', 'value', 'baseline', 'ratio', 'target', ''];
  const cells = rows.map((r) => [
    r.measurement,
    r.value,
    r.baseline ?? '',
    fmtRatio(r.ratio),
    r.target ?? '',
    r.ok === undefined ? '' : r.ok ? 'ok' : 'MISS',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === 0 || i === 2 ? x.padEnd(widths[i]) : x.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const out: string[] = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  let section = '';
  rows.forEach((r, i) => {
    if (r.section !== section) {
      section = r.section;
      out.push(`[${section}]${sectionNotes[section] ? ` ${sectionNotes[section]}` : ''}`);
    }
    out.push(line(cells[i]));
    if (r.note) out.push(`    ${r.note}`);
  });
  return out.join('\n');
}

/** The same rows as a Markdown table (for BENCHMARKS.md). */
export function renderMarkdown(rows: readonly Row[], othersCpu: Readonly<Record<string, number>> = {}): string {
  const out = ["| section (others' CPU) | measurement | value | baseline | ratio | target |", '|---|---|---:|---|---:|---|'];
  let section = '';
  for (const r of rows) {
    const target = r.target ? `${r.target}${r.ok === undefined ? '' : r.ok ? ' ✓' : ' ✗'}` : '';
    const head =
      r.section === section
        ? ''
        : `${r.section}${othersCpu[r.section] === undefined ? '' : ` (${(othersCpu[r.section] * 100).toFixed(0)}%)`}`;
    section = r.section;
    out.push(`| ${head} | ${r.measurement.trim()} | ${r.value} | ${r.baseline ?? ''} | ${fmtRatio(r.ratio)} | ${target} |`);
  }
  return out.join('\n');
}
