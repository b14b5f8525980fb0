// The limits a workflow file must stay within, in one place so that the README can quote them.
// Each one keeps the cost of reading a hostile file bounded; the figures are from a 2-core machine.

/**
 * The largest workflow file accepted, in bytes (1 MiB), checked before the file is parsed (a
 * 10 MB file is refused in 6 ms). Real workflow files are a few kilobytes; a file of 50,000
 * unknown keys (600 to 800 kB) still fits, so that it is rejected with positioned problems, in
 * under a second. What the limit bounds is the YAML parser's time, measured on a busy 2-core
 * machine: 1 to 4 s for the worst MiB found (a list of 500,000 items, a million syntax errors),
 * so about 40 s for the worst 10 MB.
 */
export const MAX_WORKFLOW_BYTES = 1024 * 1024;

/**
 * The deepest nesting of lists and mappings accepted, checked as the parser goes. Its cost per
 * level is high (a MiB of `[` took 5 s and 470 MB; it is now refused in 5 ms), and a workflow
 * file needs about 8 levels.
 */
export const MAX_YAML_NESTING = 64;

/**
 * How many times aliases may repeat anchored content, counting aliases inside aliases: the
 * `maxAliasCount` of the `yaml` library, its guard against "billion laughs" files.
 */
export const MAX_ALIAS_COUNT = 100;

/** The problems listed in one error, in file order; the rest are counted in one more line. */
export const MAX_REPORTED_ISSUES = 50;

/**
 * The most steps a workflow may have. At most 8 run at once, and a workflow of agent steps has
 * tens; the bound keeps the graph checks (dependencies, cycles) fast on a hostile file.
 */
export const MAX_STEPS = 1000;
