import { closest } from '../util/didYouMean';
import { CreatorIndex } from './creators';
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

/** Lists longer than this are not printed in a message, nor searched for a likely typo. */
const LISTED_IDS = 30;

/**
 * Builds the graph from `requires`/`creates`, `needs` and `next`. `baseContains` tells whether the
 * run's base already holds a required path that no step creates. Time is about linear in the
 * size of the steps, so that a large hostile file is rejected as quickly as a small one.
 */
export function buildGraph(
  steps: readonly Step[],
  baseContains: (path: string) => boolean,
): { graph: StepGraph; problems: GraphProblem[] } {
  const problems: GraphProblem[] = [];
  const index = new Map<string, number>();
  const folded = new Map<string, number>();
  steps.forEach((s, i) => {
    const same = index.get(s.id);
    const sameButCase = folded.get(s.id.toLowerCase());
    if (same !== undefined) {
      problems.push({ stepIndex: i, field: 'id', message: `duplicate step id "${s.id}": it is already used by step ${same + 1}` });
    } else if (sameButCase !== undefined) {
      // Each id names a folder of the run's state and a worktree: on a case-insensitive file system these would be one.
      problems.push({
        stepIndex: i,
        field: 'id',
        message: `duplicate step id "${s.id}": step ${sameButCase + 1} is "${steps[sameButCase].id}", which differs only in case; expected ids that differ in more than case, because each names a folder and some file systems ignore case`,
      });
    } else {
      index.set(s.id, i);
      folded.set(s.id.toLowerCase(), i);
    }
  });
  const ids = [...index.keys()];
  const deps = new Map<string, Set<string>>(ids.map((id) => [id, new Set<string>()]));
  const unknownStep = (name: string) => {
    const sameButCase = folded.get(name.toLowerCase());
    const near = sameButCase !== undefined ? steps[sameButCase].id : ids.length <= LISTED_IDS ? closest(name, ids) : undefined;
    const expected = ids.length <= LISTED_IDS ? `one of: ${ids.join(', ')}` : 'the id of a step of this workflow';
    return `unknown step "${name}"${near ? ` (did you mean "${near}"?)` : ''}; expected ${expected}`;
  };
  const itself = (field: 'needs' | 'next') =>
    `"${field}" names the step itself; expected the ids of other steps ${field === 'needs' ? 'that must succeed first' : 'that run after it'}`;
  // Steps whose id is taken by an earlier one with another case are left out: their id is not in the graph.
  const creators = new CreatorIndex(steps.map((s) => (index.has(s.id) ? s.creates : undefined)));

  steps.forEach((step, i) => {
    if (index.get(step.id) !== i) return;
    const mine = deps.get(step.id)!;
    step.requires.forEach((required, r) => {
      let produced = false;
      creators.creatorsOf(required, (p) => {
        if (steps[p].id === step.id) return;
        produced = true;
        mine.add(steps[p].id);
      });
      if (!produced && !baseContains(required)) {
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
      else if (name === step.id) problems.push({ stepIndex: i, field: 'needs', itemIndex: n, message: itself('needs') });
      else mine.add(name);
    });
    step.next.forEach((name, n) => {
      if (!index.has(name)) problems.push({ stepIndex: i, field: 'next', itemIndex: n, message: unknownStep(name) });
      else if (name === step.id) problems.push({ stepIndex: i, field: 'next', itemIndex: n, message: itself('next') });
      else deps.get(name)!.add(step.id);
    });
  });

  const byOrder = (a: string, b: string) => index.get(a)! - index.get(b)!;
  const dependencies = new Map<string, readonly string[]>(ids.map((id) => [id, [...deps.get(id)!].sort(byOrder)]));
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) for (const d of dependencies.get(id)!) dependents.get(d)!.push(id);
  for (const list of dependents.values()) list.sort(byOrder);

  const topological = stableTopologicalOrder(ids, dependencies);
  if (topological.length < ids.length) {
    const ordered = new Set(topological);
    for (const cycle of findCycles(
      ids.filter((id) => !ordered.has(id)),
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

/**
 * Kahn's algorithm, always taking the ready step that comes first in the workflow (a binary heap
 * of positions keeps that O(log n) a step rather than a scan of every step).
 */
export function stableTopologicalOrder(ids: readonly string[], dependencies: ReadonlyMap<string, readonly string[]>): string[] {
  const position = new Map(ids.map((id, i) => [id, i]));
  const waiting = new Map<string, number>();
  const waiters = new Map<string, string[]>(ids.map((id) => [id, []]));
  const ready = new MinHeap();
  for (const id of ids) {
    const own = dependencies.get(id)!;
    waiting.set(id, own.length);
    for (const d of own) waiters.get(d)?.push(id);
    if (own.length === 0) ready.push(position.get(id)!);
  }
  const order: string[] = [];
  for (let next = ready.pop(); next !== undefined; next = ready.pop()) {
    const id = ids[next];
    order.push(id);
    for (const w of waiters.get(id)!) {
      const left = waiting.get(w)! - 1;
      waiting.set(w, left);
      if (left === 0) ready.push(position.get(w)!);
    }
  }
  return order;
}

/** A binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = [];

  push(value: number): void {
    const a = this.items;
    a.push(value);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= a[i]) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }

  pop(): number | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/** The cycles among `remaining` steps, each printed in run order, starting at its earliest step. */
function findCycles(remaining: readonly string[], dependencies: ReadonlyMap<string, readonly string[]>): string[][] {
  const order = new Map(remaining.map((id, i) => [id, i]));
  const left = new Set(remaining);
  // Where each step's search for a dependency still in `left` resumes: `left` only shrinks, so
  // each list is scanned once in all, however many walks pass through the step.
  const cursor = new Map<string, number>();
  const nextLeft = (id: string): string | undefined => {
    const own = dependencies.get(id)!;
    let i = cursor.get(id) ?? 0;
    while (i < own.length && !left.has(own[i])) i++;
    cursor.set(id, i);
    return own[i];
  };
  const cycles: string[][] = [];
  let first = 0;
  while (left.size > 0) {
    while (!left.has(remaining[first])) first++;
    // Walk dependencies backwards until a step repeats; that stretch of the walk is a cycle.
    const walk: string[] = [];
    const onWalk = new Map<string, number>();
    let current: string | undefined = remaining[first];
    while (current !== undefined && !onWalk.has(current)) {
      onWalk.set(current, walk.length);
      walk.push(current);
      current = nextLeft(current);
    }
    if (current === undefined) {
      // The walk ended at a step that waits for no step left: it is on no cycle.
      left.delete(walk[walk.length - 1]);
      continue;
    }
    const cycle = walk.slice(onWalk.get(current)).reverse(); // dependency first: run order
    const earliest = cycle.reduce((a, b) => (order.get(a)! <= order.get(b)! ? a : b));
    const k = cycle.indexOf(earliest);
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
