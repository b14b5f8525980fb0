import { pickCandidate } from '../core/apply/pickCandidate';
import { EXIT } from '../core/run/runReport';
import { TappsError } from '../core/util/errors';
import { plural } from '../core/util/words';
import { commandName } from './commandName';
import { shellArg } from './words';

const print = (text: string) => process.stdout.write(`${text}\n`);

/**
 * `tapps-flow pick <run-id> <step> <candidate>`: what "Use This Candidate" does in the editor.
 * The step's result becomes that candidate's, and the aggregate is folded again with it.
 */
export async function pickCommand(repoFlag: string | undefined, runId: string, step: string, candidate: string): Promise<number> {
  const n = /^[1-8]$/.test(candidate) ? Number(candidate) : NaN;
  if (!Number.isInteger(n)) throw new TappsError('usage', `pick expects a candidate number from 1 to 8, got "${candidate}"`);
  const picked = await pickCandidate(repoFlag ?? process.cwd(), runId, step, n);
  if (picked.unchanged) {
    print(`Candidate ${n} is step ${step}'s result already; nothing was changed.`);
    return EXIT.succeeded;
  }
  const flag = repoFlag === undefined ? '' : ` --repo ${shellArg(repoFlag)}`;
  print(`Step ${step} of run ${runId} now uses candidate ${n}; the aggregate was folded again: ${picked.aggregate.commit}.`);
  if (picked.conflicts > 0) print(`${plural(picked.conflicts, 'conflict')} to resolve: see ${commandName()} status ${runId}${flag}`);
  else {
    if (picked.checksDropped) print("The aggregate's checks ran on the old result; they were not run on this one.");
    print(`Apply it with: ${commandName()} apply ${runId}${flag}`);
  }
  return EXIT.succeeded;
}
