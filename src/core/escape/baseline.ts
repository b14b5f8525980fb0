import { constants } from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { writeFileAtomic } from '../state/atomicWrite';
import { gitFileOf, isGitFileKey } from './gitFiles';
import { CONFIG_ROLES, HOOK_FOLDERS, OWN_REFS, type GitState } from './gitState';
import { openNoFollow } from '../util/openNoFollow';

/**
 * `escape-baseline.json` in a run's state folder: the repository's HEAD, refs, config files and
 * hooks as they were when the run started, which is what a resume compares with after a crash
 * (the working tree's files are in the run's base commit). Like every state file it is read back
 * trusting nothing: a regular file only, of bounded size, every field checked.
 */
export const BASELINE_FILE = 'escape-baseline.json';
const MAX_BASELINE_BYTES = 64 * 1024 * 1024;
const MAX_REFS = 500_000;

const Oid = z.string().check(z.regex(/^[0-9a-f]{40,64}$/, 'expected a git object id'));
const Digest = z.object({
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected a sha256')),
  size: z.int().check(z.nonnegative()),
  executable: z.boolean(),
  link: z.optional(z.boolean()),
  oid: z.optional(Oid),
});
const RefName = z
  .string()
  .check(
    z.refine(
      (n) => n.startsWith('refs/') && !n.startsWith(OWN_REFS) && !/[\s\0\\]/.test(n) && !n.split('/').includes('..'),
      'expected a ref name',
    ),
  );
const RefValue = z.string().check(z.regex(/^([0-9a-f]{40,64}|ref: \S+)$/, 'expected a commit id or a symbolic ref'));
const HookName = z.string().check(z.refine((n) => /^[^/\\\0]+$/.test(n) && n !== '.' && n !== '..', 'expected a file name'));

const GitFileKeySchema = z.string().check(
  z.maxLength(4096),
  z.refine(
    (k) => isGitFileKey(k) && gitFileOf({ gitDir: '/g', commonDir: '/c' }, k) !== undefined && !/[\0\\]/.test(k),
    'expected a git file key',
  ),
);

const BaselineSchema = z.object({
  version: z.literal(1),
  head: z.string().check(z.maxLength(4096)),
  refs: z.array(z.tuple([RefName, RefValue])).check(z.maxLength(MAX_REFS)),
  configs: z.array(z.object({ role: z.enum(CONFIG_ROLES), digest: z.nullable(Digest) })).check(z.maxLength(CONFIG_ROLES.length)),
  hooks: z.array(z.object({ folder: z.enum(HOOK_FOLDERS), name: HookName, digest: Digest })).check(z.maxLength(2000)),
  /** Absent in a baseline written before these files were watched: then they are read when the run resumes. */
  files: z.optional(z.array(z.object({ key: GitFileKeySchema, digest: Digest })).check(z.maxLength(20_000))),
});

/** Writes the baseline into a run's state folder. */
export async function writeBaseline(stateDir: string, state: GitState): Promise<void> {
  const doc: z.infer<typeof BaselineSchema> = {
    version: 1,
    head: state.head,
    refs: [...state.refs].sort(([a], [b]) => (a < b ? -1 : 1)),
    configs: CONFIG_ROLES.map((role) => ({ role, digest: state.configs.get(role) ?? null })),
    hooks: [...state.hooks].map(([key, digest]) => {
      const slash = key.indexOf('/');
      return { folder: key.slice(0, slash) as (typeof HOOK_FOLDERS)[number], name: key.slice(slash + 1), digest };
    }),
    files: [...state.files].map(([key, digest]) => ({ key, digest })),
  };
  await writeFileAtomic(path.join(stateDir, BASELINE_FILE), `${JSON.stringify(doc)}\n`);
}

/** Reads a run's baseline back: the state, or why it cannot be used (absent, not a file, invalid). */
export async function readBaseline(stateDir: string): Promise<GitState | { problem: string }> {
  const file = path.join(stateDir, BASELINE_FILE);
  let text: string;
  try {
    const handle = await openNoFollow(file, constants.O_RDONLY);
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return { problem: `${BASELINE_FILE} is not a regular file` };
      if (stat.size > MAX_BASELINE_BYTES) return { problem: `${BASELINE_FILE} is larger than a run writes (${stat.size} bytes)` };
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? `${BASELINE_FILE} is missing` : `${BASELINE_FILE} cannot be read (${code ?? String(error)})` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problem: `${BASELINE_FILE} is not JSON` };
  }
  const parsed = BaselineSchema.safeParse(raw);
  if (!parsed.success) return { problem: `${BASELINE_FILE} is not one Tapps Flow wrote (${parsed.error.issues[0]?.message ?? 'invalid'})` };
  const b = parsed.data;
  return {
    head: b.head,
    refs: new Map(b.refs),
    configs: new Map(b.configs.map((c) => [c.role, c.digest])),
    hooks: new Map(b.hooks.map((h) => [`${h.folder}/${h.name}`, h.digest])),
    files: new Map((b.files ?? []).map((f) => [f.key, f.digest])),
    ...(b.files === undefined ? { filesUnknown: true } : {}),
  };
}
