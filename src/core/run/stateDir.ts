import path from 'node:path';
import { STATE_FOLDER } from '../git/repository';

/** `<repo>/.tapps-agents/workflow-state`: where every run's folder lives. */
export function runsDir(repoRoot: string): string {
  return path.join(repoRoot, STATE_FOLDER, 'workflow-state');
}

/** The state folder of one run. */
export function runDir(repoRoot: string, runId: string): string {
  return path.join(runsDir(repoRoot), runId);
}

/** The ref namespace of a run: its base, step results and aggregate. */
export function runRef(runId: string, ...rest: string[]): string {
  return ['refs/tapps-flow/runs', runId, ...rest].join('/');
}
