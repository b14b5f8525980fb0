import * as z from 'zod/mini';
import { CheckNameSchema, ConflictSchema, FindingSchema, IdSchema, type Conflict, type Finding } from '../state/events';
import type { FoldDecision } from './fold';

export const CONFLICT_REPORT_VERSION = 1;

/**
 * A check the aggregate failed, as the conflict report lists it: the smallest set of steps whose
 * results, folded together over the base, still fail it (`found`), or that the base fails it too,
 * or that it passed when run again; with the log of the run that shows the failure.
 */
export const CheckEntrySchema = z.object({
  kind: z.literal('check'),
  check: CheckNameSchema,
  command: z.string(),
  outcome: z.enum(['found', 'base-fails', 'not-reproduced']),
  steps: z.array(IdSchema),
  /** The log of the failing run, relative to the run's state folder; null when none shows it. */
  log: z.nullable(z.string()),
  detail: z.string(),
});
export type CheckEntry = z.infer<typeof CheckEntrySchema>;

/** What a check entry says, for a person. */
export function checkEntryDetail(command: string, outcome: CheckEntry['outcome'], steps: readonly string[]): string {
  const cmd = `\`${command}\``;
  const named = steps.map((s) => `\`${s}\``);
  switch (outcome) {
    case 'found':
      return named.length === 1
        ? `${cmd} fails once ${named[0]}'s result is folded in`
        : `${cmd} fails when ${named.slice(0, -1).join(', ')} and ${named[named.length - 1]} are combined`;
    case 'base-fails':
      return `${cmd} fails on the run's base already: no step broke it`;
    case 'not-reproduced':
      return `${cmd} failed on the aggregate but passed when run again: it may be flaky`;
  }
}

export const ConflictReportSchema = z.object({
  version: z.literal(CONFLICT_REPORT_VERSION),
  conflicts: z.array(ConflictSchema),
  decisions: z.array(
    z.object({ path: z.string(), policy: z.enum(['first', 'last']), steps: z.tuple([z.string(), z.string()]), kept: z.string() }),
  ),
  /** Not conflicts, but for the user's eye (see `FindingSchema`); sorted by kind, then path. Absent in reports before findings existed. */
  findings: z._default(z.array(FindingSchema), []),
  /** Checks the aggregate failed, with the steps that broke each (see `CheckEntrySchema`). Absent in reports before checks existed. */
  checks: z._default(z.array(CheckEntrySchema), []),
});
export type ConflictReport = z.infer<typeof ConflictReportSchema>;

/** `conflicts.json`: stable bytes for the same conflicts (they arrive sorted by path, then steps). */
export function conflictsJson(
  conflicts: readonly Conflict[],
  decisions: readonly FoldDecision[],
  findings: readonly Finding[] = [],
  checks: readonly CheckEntry[] = [],
): string {
  const report: ConflictReport = ConflictReportSchema.parse({
    version: CONFLICT_REPORT_VERSION,
    conflicts,
    decisions,
    findings: sortFindings(findings),
    checks,
  });
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** `conflicts.md`: the same report for a person. */
export function conflictsMarkdown(
  workflowName: string,
  conflicts: readonly Conflict[],
  decisions: readonly FoldDecision[],
  partial: boolean,
  findings: readonly Finding[] = [],
  checks: readonly CheckEntry[] = [],
): string {
  const lines = [`# Conflicts: ${workflowName}`, ''];
  if (partial) lines.push('This is a partial aggregate: not every step succeeded.', '');
  if (checks.length > 0) {
    lines.push('## Checks that fail', '');
    for (const c of checks) lines.push(`- ${c.check}: ${c.detail}${c.log ? ` (log: ${c.log})` : ''}`);
    lines.push('');
  }
  if (conflicts.length === 0) lines.push('No conflicts: every step result was folded in.', '');
  else {
    lines.push(
      `${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}. Each path keeps the earlier step's version until it is resolved.`,
      '',
    );
    lines.push('| path | kind | steps | where | what |', '| --- | --- | --- | --- | --- |');
    for (const c of conflicts)
      lines.push(`| \`${c.path}\` | ${c.kind} | ${c.steps[0]} ↔ ${c.steps[1]} | ${c.location ?? ''} | ${c.detail.replace(/\|/g, '\\|')} |`);
    lines.push('');
  }
  if (decisions.length > 0) {
    lines.push('## Picked by policy', '');
    for (const d of decisions)
      lines.push(
        `- \`${d.path}\`: policy \`${d.policy}\` kept ${d.kept}'s version (steps ${d.steps[0]} and ${d.steps[1]} both changed it)`,
      );
    lines.push('');
  }
  if (findings.length > 0) {
    lines.push('## Needs your eye', '');
    for (const f of sortFindings(findings))
      lines.push(`- ${FINDING_TITLES[f.kind]} \`${f.path}\` (${f.steps.join(', ') || 'no step running'}): ${f.detail}`);
    lines.push('');
  }
  return lines.join('\n');
}

const FINDING_TITLES: Record<Finding['kind'], string> = {
  symlink_out: 'Symlink out of the repository:',
  submodule_write: 'Written into a submodule (not captured):',
  mode_change: 'Made executable outside "creates":',
  escape: 'Written outside the worktrees:',
};

/** Findings in one order whatever order they were found in: by kind, path, then steps. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const key = (f: Finding) => `${f.kind}\0${f.escape ?? ''}\0${f.path}\0${f.steps.join(',')}`;
  return [...findings].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
