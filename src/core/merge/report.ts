import * as z from 'zod/mini';
import { ConflictSchema, type Conflict } from '../state/events';
import type { FoldDecision } from './fold';

export const CONFLICT_REPORT_VERSION = 1;

export const ConflictReportSchema = z.object({
  version: z.literal(CONFLICT_REPORT_VERSION),
  conflicts: z.array(ConflictSchema),
  decisions: z.array(
    z.object({ path: z.string(), policy: z.enum(['first', 'last']), steps: z.tuple([z.string(), z.string()]), kept: z.string() }),
  ),
});
export type ConflictReport = z.infer<typeof ConflictReportSchema>;

/** `conflicts.json`: stable bytes for the same conflicts (they arrive sorted by path, then steps). */
export function conflictsJson(conflicts: readonly Conflict[], decisions: readonly FoldDecision[]): string {
  const report: ConflictReport = ConflictReportSchema.parse({ version: CONFLICT_REPORT_VERSION, conflicts, decisions });
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** `conflicts.md`: the same report for a person. */
export function conflictsMarkdown(
  workflowName: string,
  conflicts: readonly Conflict[],
  decisions: readonly FoldDecision[],
  partial: boolean,
): string {
  const lines = [`# Conflicts: ${workflowName}`, ''];
  if (partial) lines.push('This is a partial aggregate: not every step succeeded.', '');
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
  return lines.join('\n');
}
