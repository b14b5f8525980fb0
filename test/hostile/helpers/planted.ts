import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, lstat, readlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { TempRepo } from '../../unit/helpers/tempRepo';

/** A process that belongs to no run: the victim a planted pid names. Killed by `stop`. */
export function startVictim(env?: NodeJS.ProcessEnv): { pid: number; alive(): boolean; stop(): void } {
  const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore', env });
  child.unref();
  const pid = child.pid!;
  return {
    pid,
    alive: () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    },
    stop: () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    },
  };
}

/** A pid no process has (the highest the kernel hands out, plus one). */
export const DEAD_PID = 4_194_304 + 1;

export interface PlantedStep {
  readonly id: string;
  readonly pid?: number;
  readonly worktree?: string;
  readonly identity?: string | null;
}

/**
 * The events of a run that claims to be running: started by a dead owner on this host, with the
 * given steps started (their pid and worktree whatever the attacker chose).
 */
export function plantedEvents(repo: TempRepo, runId: string, steps: readonly PlantedStep[], owner = DEAD_PID): string {
  const head = repo.git(['rev-parse', 'HEAD']);
  const tree = repo.git(['rev-parse', 'HEAD^{tree}']);
  const time = '2026-01-01T00:00:00.000Z';
  const events: object[] = [
    {
      seq: 0,
      time,
      type: 'run_started',
      runId,
      repo: repo.dir,
      workflow: { file: 'workflows/w.yaml', id: 'w', name: 'Planted' },
      base: { commit: head, tree, head, time: 1700000000 },
      settings: { maxParallel: 8, sequential: false },
      steps: steps.map((s) => ({ id: s.id, dependencies: [] })),
      owner: { pid: owner, host: hostname(), startedAt: time },
    },
  ];
  let seq = 1;
  for (const s of steps) {
    events.push({ seq: seq++, time, type: 'step_queued', step: s.id });
    events.push({
      seq: seq++,
      time,
      type: 'step_started',
      step: s.id,
      worktree: s.worktree ?? '',
      pid: s.pid ?? null,
      ...(s.identity === undefined ? {} : { identity: s.identity }),
      base: head,
    });
  }
  return `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
}

/** Writes a planted run folder under `stateRoot` (a repository's `.tapps-agents/workflow-state`, or anywhere). */
export async function plantRun(folder: string, events: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'events.jsonl'), events);
}

/**
 * A fingerprint of everything under a folder (names, types, contents, link targets): equal
 * fingerprints mean nothing in it was written, added or removed.
 */
export async function fingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (current: string, rel: string): Promise<void> => {
    const stat = await lstat(current).catch(() => undefined);
    if (!stat) {
      hash.update(`missing ${rel}\n`);
      return;
    }
    if (stat.isSymbolicLink()) hash.update(`link ${rel} ${await readlink(current)}\n`);
    else if (stat.isDirectory()) {
      hash.update(`dir ${rel}\n`);
      for (const name of (await readdir(current)).sort()) await walk(path.join(current, name), `${rel}/${name}`);
    } else
      hash.update(
        `file ${rel} ${createHash('sha256')
          .update(await readFile(current))
          .digest('hex')}\n`,
      );
  };
  await walk(dir, '.');
  return hash.digest('hex');
}
