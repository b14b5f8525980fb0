import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startProcessTree } from '../../src/core/process/processTree';
import { confine, sandboxSupport } from '../../src/core/process/sandbox';
import { fmtMs, type Row } from '../lib/table';
import { log, median, now, round } from '../lib/util';

export const CONTAINMENT_SECTION = 'step start: plain, PID namespace, sandbox (`true`)';

export interface ContainmentStudy {
  readonly reps: number;
  /** Median ms from spawn to exit of `true`, per way of starting it. */
  readonly plainMs: number;
  readonly namespaceMs?: number;
  readonly sandboxMs?: number;
  readonly namespaceRatio?: number;
  readonly sandboxRatio?: number;
  /** What the extra cost of a start is worth against an 8 × 2 s run: (start overhead) / 2 s. */
  readonly sandboxShareOfTwoSecondStep?: number;
  readonly rows: Row[];
}

/**
 * What a step's start costs with bubblewrap around it: `true` started and waited for, plain (a
 * process group, as without bubblewrap), in a PID namespace only (isolation detect/off), and in
 * the sandbox (isolation sandbox), alternating so that drift of the machine hits all three alike.
 */
export async function containmentStudy(workDir: string, reps: number): Promise<ContainmentStudy> {
  const section = CONTAINMENT_SECTION;
  const worktree = path.join(workDir, 'containment', 'worktree');
  const commonDir = path.join(workDir, 'containment', 'git');
  for (const dir of [worktree, path.join(commonDir, 'objects'), path.join(commonDir, 'worktrees', 'w')])
    await mkdir(dir, { recursive: true });
  const paths = {
    worktree,
    gitEntry: path.join(commonDir, 'worktrees', 'w'),
    commonDir,
    mainCheckout: path.join(workDir, 'containment'),
    writable: [],
  };
  const ways: Array<{ name: string; argv: readonly string[]; info: boolean }> = [{ name: 'plain', argv: ['true'], info: false }];
  if (sandboxSupport().bwrap) {
    ways.push({ name: 'namespace', argv: confine(['true'], 'detect', paths).argv, info: true });
    ways.push({ name: 'sandbox', argv: confine(['true'], 'sandbox', paths).argv, info: true });
  } else log(`containment: ${sandboxSupport().missing}; only plain starts measured`);
  const times = new Map<string, number[]>(ways.map((w) => [w.name, []]));
  for (let r = 0; r < reps; r++) {
    for (const way of r % 2 === 0 ? ways : [...ways].reverse()) {
      const t0 = now();
      const tree = await startProcessTree(way.argv, { cwd: worktree, env: process.env, onOutput: () => undefined, sandboxInfo: way.info });
      await tree.exited;
      times.get(way.name)!.push(now() - t0);
    }
  }
  const m = (name: string) => (times.get(name)!.length > 0 ? round(median(times.get(name)!), 2) : undefined);
  const plainMs = m('plain')!;
  const namespaceMs = m('namespace');
  const sandboxMs = m('sandbox');
  const rows: Row[] = [{ section, measurement: `plain process group (baseline), median of ${reps}`, value: fmtMs(plainMs) }];
  const study: ContainmentStudy = {
    reps,
    plainMs,
    ...(namespaceMs === undefined ? {} : { namespaceMs, namespaceRatio: round(namespaceMs / plainMs, 2) }),
    ...(sandboxMs === undefined
      ? {}
      : { sandboxMs, sandboxRatio: round(sandboxMs / plainMs, 2), sandboxShareOfTwoSecondStep: round((sandboxMs - plainMs) / 2000, 4) }),
    rows,
  };
  const baseline = fmtMs(plainMs);
  if (namespaceMs !== undefined)
    rows.push({
      section,
      measurement: 'in a PID namespace (bubblewrap)',
      value: fmtMs(namespaceMs),
      baseline,
      ratio: namespaceMs / plainMs,
    });
  if (sandboxMs !== undefined)
    rows.push({
      section,
      measurement: 'in the sandbox (bubblewrap, read-only file system)',
      value: fmtMs(sandboxMs),
      baseline,
      ratio: sandboxMs / plainMs,
      note: `+${fmtMs(sandboxMs - plainMs)} per step start: ${(((sandboxMs - plainMs) / 2000) * 100).toFixed(2)} % of a 2 s step`,
    });
  log(
    `containment: plain ${fmtMs(plainMs)}, namespace ${namespaceMs ? fmtMs(namespaceMs) : '-'}, sandbox ${sandboxMs ? fmtMs(sandboxMs) : '-'}`,
  );
  return study;
}
