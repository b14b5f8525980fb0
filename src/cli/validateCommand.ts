import path from 'node:path';
import { openRepository } from '../core/git/repository';
import { EXIT } from '../core/run/runReport';
import { formatIssue, WorkflowError } from '../core/util/errors';
import { containsFromFileList } from '../core/workflow/graph';
import { loadWorkflowFile } from '../core/workflow/loadWorkflow';
import { plural } from '../core/util/words';

/** `tapps-flow validate`: checks a workflow file against the repository's current files. */
export async function validateCommand(file: string, repoDir: string | undefined, json: boolean): Promise<number> {
  const repo = await openRepository(repoDir ?? path.dirname(path.resolve(file)));
  // The files a run's base would hold now: tracked and untracked, not ignored.
  const baseContains = containsFromFileList(await repo.git.run(['ls-files', '-z', '--cached', '--others', '--exclude-standard']));
  try {
    const loaded = await loadWorkflowFile(file, { baseContains });
    const { warnings } = loaded;
    if (json)
      process.stdout.write(`${JSON.stringify({ valid: true, file, steps: loaded.graph.topological, issues: [], warnings }, null, 2)}\n`);
    else {
      process.stdout.write(
        `${file}: valid, ${plural(loaded.workflow.steps.length, 'step')}; order: ${loaded.graph.topological.join(' → ')}${
          warnings.length > 0 ? `; ${plural(warnings.length, 'warning')}` : ''
        }\n`,
      );
      for (const w of warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
    }
    return EXIT.succeeded;
  } catch (error) {
    if (!WorkflowError.is(error)) throw error;
    if (json) process.stdout.write(`${JSON.stringify({ valid: false, file, issues: error.issues, warnings: [] }, null, 2)}\n`);
    else process.stderr.write(`${error.message}\n`);
    return EXIT.usage;
  }
}
