import { describeLinks, type SymlinkOut } from '../findings/symlinks';
import { TappsError } from '../util/errors';

/**
 * Apply refused a result that would write symbolic links pointing out of the repository: a later
 * write through one (by the user's tools, a build, the next step) lands wherever it points. The
 * links are listed for the front end to ask the user; the CLI's flag, the editor's button lets it
 * go ahead.
 */
export class SymlinksOutError extends TappsError {
  readonly links: readonly SymlinkOut[];

  constructor(runId: string, links: readonly SymlinkOut[]) {
    const these = links.length === 1 ? 'a symbolic link' : `${links.length} symbolic links`;
    super(
      'symlinks-out',
      `Cannot apply run ${runId}: its result holds ${these} pointing outside the repository: ${describeLinks(links)}. Look at them in the run's conflicts.md; to apply them anyway: tapps-flow apply ${runId} --allow-symlinks-out. Nothing was changed.`,
    );
    this.name = 'SymlinksOutError';
    this.links = links;
  }

  /** Also across the extension's two bundles, each with its own copy of this class. */
  static override is(value: unknown): value is SymlinksOutError {
    return TappsError.is(value) && value.code === 'symlinks-out' && Array.isArray((value as Partial<SymlinksOutError>).links);
  }
}
