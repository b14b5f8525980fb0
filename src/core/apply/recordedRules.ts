import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod/mini';
import { MergeRuleSchema, type MergeRule } from '../workflow/schema';

const RulesSchema = z.array(MergeRuleSchema);

/**
 * The merge rules a run used, as its manifest.json recorded them (`policies`): the workflow file
 * may have changed since, and re-reading it would merge the user's edits under rules the result
 * was not made with. Whatever does not validate is not trusted, and no rules means the `text`
 * policy everywhere, git's own 3-way merge.
 */
export async function recordedMergeRules(runDir: string): Promise<readonly MergeRule[]> {
  const manifest = await readFile(path.join(runDir, 'manifest.json'), 'utf8').then(parseJson, () => undefined);
  const policies = typeof manifest === 'object' && manifest !== null ? (manifest as Record<string, unknown>).policies : undefined;
  const fromManifest = RulesSchema.safeParse(policies);
  return fromManifest.success ? fromManifest.data : [];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
