/**
 * The fixed author and committer of every commit the engine makes (base, step results, folds,
 * aggregate). The date comes from the inputs (the base's commit date), never from the clock, so
 * the same inputs give the same commit ids.
 */
export function fixedIdentityEnv(unixSeconds: number): Record<string, string> {
  const date = `@${unixSeconds} +0000`;
  return {
    GIT_AUTHOR_NAME: 'Tapps Flow',
    GIT_AUTHOR_EMAIL: 'tapps-flow@localhost',
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: 'Tapps Flow',
    GIT_COMMITTER_EMAIL: 'tapps-flow@localhost',
    GIT_COMMITTER_DATE: date,
  };
}
