import { closest } from '../util/didYouMean';
import type { Step } from './schema';

/** The dependency graph of a workflow's steps. Every list is in workflow-definition order. */
export interface StepGraph {
  /** Step ids in workflow-definition order. */
  readonly ids: readonly string[];
  /** id -> the steps it waits for. */
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
  /** id -> the steps that wait for it. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
  /** A stable topological order: among ready steps, workflow-definition order first. */
  readonly topological: readonly string[];
}

/** A problem found while building the graph, tied to a step and the field that causes it. */
export interface GraphProblem {
  readonly stepIndex: number;
  readonly field: 'id' | 'requires' | 'needs' | 'next';
  readonly itemIndex?: number;
  readonly message: string;
}

/** Whether a declared `creates` entry produces what a `requires` entry asks for. */
export function produces(created: string, required: string): boolean {
  if (created === required) return true;
  if (required.endsWith('/') && created.startsWith(required)) return true; // a file inside a required folder
  if (created.endsWith('/') && required.startsWith(created)) return true; // a file inside a created folder
  return false;
}

/**
 * Builds the graph from `requires`/`creates`, `needs` and `next`. `baseContains` tells whether the
 * run's base already holds a required path that no step creates.
 */
export function buildGraph(
  steps: readonly Step[],
  baseContains: (path: string) => boolean,
): { graph: StepGraph; problems: GraphProblem[] } {
  const problems: GraphProblem[] = [];
  const index = new Map<string, number>();
  steps.forEach((s, i) => {
    if (index.has(s.id))
      problems.push({
        stepIndex: i,
        field: 'id',
        message: `duplicate step id "${s.id}": it is already used by step ${index.get(s.id)! + 1}`,
      });
    else index.set(s.id, i);
  });
  const ids = [...index.keys()];
  const deps = new Map<string, Set<string>>(ids.map((id) => [id, new Set<string>()]));
  const unknownStep = (name: string) => {
    const near = ids.find((id) => id.toLowerCase() === name.toLowerCase()) ?? closest(name, ids);
    return `unknown step "${name}"${near ? ` (did you mean "${near}"?)` : ''}; expected one of: ${ids.join(', ')}`;
  };

  steps.forEach((step, i) => {
    if (index.get(step.id) !== i) return;
    const mine = deps.get(step.id)!;
    step.requires.forEach((required, r) => {
      const producers = steps.filter((other) => other.id !== step.id && other.creates.some((c) => produces(c, required)));
      for (const p of producers) mine.add(p.id);
      if (producers.length === 0 && !baseContains(required)) {
        problems.push({
          stepIndex: i,
          field: 'requires',
          itemIndex: r,
          message: `"${required}" is required, but no step creates it and the repository does not contain it; expected a path listed in another step's "creates" or present in the repository`,
        });
      }
    });
    step.needs.forEach((name, n) => {
      if (!index.has(name)) problems.push({ stepIndex: i, field: 'needs', itemIndex: n, message: unknownStep(name) });
      else if (name !== step.id) mine.add(name);
    });
    step.next.forEach((name, n) => {
      if (!index.has(name)) problems.push({ stepIndex: i, field: 'next', itemIndex: n, message: unknownStep(name) });
      else if (name !== step.id) deps.get(name)!.add(step.id);
    });
  });

  const byOrder = (a: string, b: string) => index.get(a)! - index.get(b)!;
  const dependencies = new Map<string, readonly string[]>(ids.map((id) => [id, [...deps.get(id)!].sort(byOrder)]));
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) for (const d of dependencies.get(id)!) dependents.get(d)!.push(id);
  for (const list of dependents.values()) list.sort(byOrder);

  const topological = stableTopologicalOrder(ids, dependencies);
  if (topological.length < ids.length) {
    for (const cycle of findCycles(
      ids.filter((id) => !topological.includes(id)),
      dependencies,
    )) {
      problems.push({
        stepIndex: index.get(cycle[0])!,
        field: 'id',
        message: `the steps depend on each other in a cycle: ${[...cycle, cycle[0]].join(' → ')}; expected each step to run after the steps it depends on, so remove one of these dependencies`,
      });
    }
  }
  return { graph: { ids, dependencies, dependents, topological }, problems };
}

/** Kahn's algorithm, always taking the ready step that comes first in the workflow. */
export function stableTopologicalOrder(ids: readonly string[], dependencies: ReadonlyMap<string, readonly string[]>): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  for (;;) {
    const next = ids.find((id) => !done.has(id) && dependencies.get(id)!.every((d) => done.has(d)));
    if (next === undefined) return order;
    done.add(next);
    order.push(next);
  }
}

/** The cycles among `remaining` steps, each printed in run order, starting at its earliest step. */
function findCycles(remaining: readonly string[], dependencies: ReadonlyMap<string, readonly string[]>): string[][] {
  const left = new Set(remaining);
  const cycles: string[][] = [];
  while (left.size > 0) {
    const start = remaining.find((id) => left.has(id))!;
    // Walk dependencies backwards until a step repeats; that stretch of the walk is a cycle.
    const walk: string[] = [];
    let current: string | undefined = start;
    while (current !== undefined && !walk.includes(current)) {
      walk.push(current);
      current = dependencies.get(current)!.find((d) => left.has(d));
    }
    if (current === undefined) {
      left.delete(start);
      continue;
    }
    const cycle = walk.slice(walk.indexOf(current)).reverse(); // dependency first: run order
    const first = cycle.reduce((a, b) => (remaining.indexOf(a) <= remaining.indexOf(b) ? a : b));
    const k = cycle.indexOf(first);
    cycles.push([...cycle.slice(k), ...cycle.slice(0, k)]);
    for (const id of cycle) left.delete(id);
  }
  return cycles;
}

/**
 * A `baseContains` over a list of files (NUL-separated git output): true for a listed file and for
 * any folder holding one, written with or without its trailing `/`. Built once, O(1) per lookup.
 */
export function containsFromFileList(nulSeparated: string): (path: string) => boolean {
  const present = new Set<string>();
  for (const file of nulSeparated.split('\0')) {
    if (file === '') continue;
    present.add(file);
    for (let i = file.indexOf('/'); i > 0; i = file.indexOf('/', i + 1)) present.add(file.slice(0, i));
  }
  return (p) => present.has(p.replace(/\/+$/, ''));
}
