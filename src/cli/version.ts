// The version comes from the manifest at build time (esbuild keeps only this field of it), so the
// bundle prints its own version wherever it is copied.
import { version } from '../../package.json';

/** The package version `tapps-flow --version` prints. */
export const VERSION: string = version;
