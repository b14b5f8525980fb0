import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunsLocation } from '../state/runLocation';

/**
 * Finds the repository holding `dir` from the file system alone, without running git: for an
 * untrusted workspace, where git must not run (it would run the repository's `core.fsmonitor`
 * program, say). Enough to read past runs; nothing found this way is written to.
 */
export async function locateRepository(dir: string): Promise<RunsLocation | undefined> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const dotGit = path.join(current, '.git');
    const stat = await lstat(dotGit).catch(() => undefined);
    if (stat?.isDirectory()) return { root: current, commonDir: dotGit };
    if (stat?.isFile()) {
      const text = await readFile(dotGit, 'utf8').catch(() => '');
      const gitDir = /^gitdir: (.+)$/m.exec(text)?.[1]?.trim();
      if (gitDir) {
        const resolved = path.resolve(current, gitDir);
        const common = (await readFile(path.join(resolved, 'commondir'), 'utf8').catch(() => '')).trim();
        return { root: current, commonDir: common ? path.resolve(resolved, common) : resolved };
      }
    }
    if (path.dirname(current) === current) return undefined;
  }
}
