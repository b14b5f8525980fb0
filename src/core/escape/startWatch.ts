import type { Repository } from '../git/repository';
import type { EffectiveSettings } from '../run/settings';
import { readBaseline, writeBaseline } from './baseline';
import { EscapeWatch } from './escapeWatch';

/** The watch of a new run's checkout, unless its isolation is `off` (detection runs for `detect` and `sandbox`). */
export function watchCheckout(
  repo: Repository,
  settings: Pick<EffectiveSettings, 'isolation' | 'worktreeRoot'>,
): Promise<EscapeWatch | undefined> {
  if (settings.isolation === 'off') return Promise.resolve(undefined);
  return EscapeWatch.start(repo, { worktreeRoot: settings.worktreeRoot });
}

/**
 * The watch of a resumed run, from the baseline its start recorded (what a crash's aftermath is
 * compared with). A baseline that is missing or not one Tapps Flow wrote is taken again now: what
 * happened before cannot be checked then, and `problem` says why.
 */
export async function watchResumedCheckout(
  repo: Repository,
  settings: Pick<EffectiveSettings, 'isolation' | 'worktreeRoot'>,
  stateDir: string,
): Promise<{ watch: EscapeWatch | undefined; problem?: string }> {
  if (settings.isolation === 'off') return { watch: undefined };
  const recorded = await readBaseline(stateDir);
  if (!('problem' in recorded))
    return { watch: await EscapeWatch.start(repo, { worktreeRoot: settings.worktreeRoot, baseline: recorded }) };
  const watch = await EscapeWatch.start(repo, { worktreeRoot: settings.worktreeRoot });
  await writeBaseline(stateDir, watch.baseline).catch(() => undefined);
  return { watch, problem: recorded.problem };
}
