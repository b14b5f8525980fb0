import type { Git } from '../git/git';
import { SUBMODULE_WRITE_LIMITS, type SubmoduleWrite } from '../git/submoduleWrites';
import { addedOrChanged, EXECUTABLE_MODE, type RawChange } from '../git/treeDiff';
import type { FoldItem } from '../merge/fold';
import type { Finding } from '../state/events';
import type { StepSnapshot } from '../state/snapshot';
import { linkDetail, linksOutAmong } from './symlinks';

/**
 * What the step results hold that needs the user's eye without being a conflict: links out of the
 * repository, files made executable outside the step's `creates` (`undeclared`), and files the
 * step wrote into a submodule's folder that its result could not hold. Each result is compared
 * with its own parent (the step's base), so a dependent step is not blamed for what it inherited.
 * Deterministic: the same results give the same findings whatever order they are given in (the
 * report sorts them).
 */
export async function resultFindings(git: Git, items: readonly FoldItem[], steps: readonly StepSnapshot[]): Promise<Finding[]> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const perStep = await Promise.all(
    items.map(async (item) => {
      const step = byId.get(item.step);
      const changes = item.changed.length === 0 ? [] : await addedOrChanged(git, item.parentTree, item.commit);
      return [
        ...(await linksOutAmong(git, item.commit, changes, item.parentTree)).map((link): Finding => ({
          kind: 'symlink_out',
          path: link.path,
          steps: [item.step],
          detail: linkDetail(link),
        })),
        ...madeExecutable(changes, new Set(step?.undeclared ?? [])).map((c): Finding => ({
          kind: 'mode_change',
          path: c.path,
          steps: [item.step],
          detail: modeDetail(c),
        })),
        ...(step?.submoduleWrites ?? []).map((w): Finding => ({
          kind: 'submodule_write',
          path: w.submodule,
          steps: [item.step],
          detail: submoduleDetail(w),
        })),
      ];
    }),
  );
  return perStep.flat();
}

/** Files that became executable (a new 100755 file, or any other mode turned 100755) among the undeclared paths. */
function madeExecutable(changes: readonly RawChange[], undeclared: ReadonlySet<string>): RawChange[] {
  return changes.filter((c) => c.newMode === EXECUTABLE_MODE && c.oldMode !== EXECUTABLE_MODE && undeclared.has(c.path));
}

function modeDetail(c: RawChange): string {
  const what = /^0+$/.test(c.oldMode) ? 'added as an executable file (mode 100755)' : `made executable (mode ${c.oldMode} → 100755)`;
  return `${what}, outside the step's "creates"`;
}

function submoduleDetail(w: SubmoduleWrite): string {
  const count = w.count >= SUBMODULE_WRITE_LIMITS.counted ? `${w.count} or more files` : `${w.count} file${w.count === 1 ? '' : 's'}`;
  const listed = w.files.map((f) => JSON.stringify(f)).join(', ');
  return `${count} written inside this submodule's folder, not in the step's result (git records only the submodule's commit): ${listed}${w.count > w.files.length ? ', …' : ''}`;
}
