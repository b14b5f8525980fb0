import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod/mini';
import { IdSchema } from './events';
import { removeRetrying } from '../util/paths';

/** A request to the process that owns a run, from another one (the editor cancelling a CLI run, say). */
export const ControlRequestSchema = z.object({
  type: z.literal('cancel'),
  /** The step to cancel; the whole run when absent. */
  step: z.optional(IdSchema),
});
export type ControlRequest = z.infer<typeof ControlRequestSchema>;

/** How often the owner of a run looks for requests. */
export const REQUEST_POLL_MS = 500;

let requestCounter = 0;

export async function sendRequest(dir: string, request: ControlRequest): Promise<void> {
  const folder = path.join(dir, 'requests');
  await mkdir(folder, { recursive: true });
  await writeFile(
    path.join(folder, `${Date.now()}-${process.pid}-${++requestCounter}.json`),
    JSON.stringify(ControlRequestSchema.parse(request)),
  );
}

/** Reads and removes the pending requests, oldest first; anything that is not a valid request is dropped. */
export async function takeRequests(dir: string): Promise<ControlRequest[]> {
  const folder = path.join(dir, 'requests');
  const names = await readdir(folder).catch(() => [] as string[]);
  const requests: ControlRequest[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(folder, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
      const parsed = ControlRequestSchema.safeParse(JSON.parse(text));
      if (parsed.success) requests.push(parsed.data);
    } catch {
      // A request being written right now: take it next time.
      continue;
    }
    await removeRetrying(file, { force: true });
  }
  return requests;
}
