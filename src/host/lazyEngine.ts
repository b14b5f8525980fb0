import type * as Engine from './engine';

let loaded: typeof Engine | undefined;

/**
 * The engine bundle (dist/engine.js, beside dist/extension.js), required on first use: loading
 * its schemas and parser costs more than the whole rest of activation.
 */
export function engine(): typeof Engine {
  // A plain require of a sibling file that esbuild leaves external (see esbuild.js).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('./engine.js') as typeof Engine;
  return loaded;
}
