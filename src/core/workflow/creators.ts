/** A folder of the created paths, by path component. */
interface PathNode {
  readonly children: Map<string, PathNode>;
  /** Steps (by index) whose `creates` names this path as a file. */
  readonly files: number[];
  /** Steps whose `creates` names this path as a folder (with a trailing `/`). */
  readonly folders: number[];
  /** Memo of `inside`: the steps creating this folder or anything below it. */
  inside?: readonly number[];
}

const newNode = (): PathNode => ({ children: new Map(), files: [], folders: [] });

/** A path as its components and whether it names a folder (`a/b/` is `["a", "b"]`, a folder). */
function components(path: string): { names: string[]; folder: boolean } {
  const folder = path.endsWith('/');
  return { names: (folder ? path.slice(0, -1) : path).split('/'), folder };
}

/**
 * Which steps create what a `requires` entry asks for, by the rule of `produces`: the same path,
 * a file inside a required folder, or a created folder holding the required path. A tree of the
 * created paths answers in time proportional to the path and the answer, where comparing every
 * `requires` with every `creates` is quadratic (minutes for a file of thousands of each).
 */
export class CreatorIndex {
  private readonly root = newNode();

  /** `creates[i]` is the list of step `i`; a step is left out where `creates[i]` is `undefined`. */
  constructor(creates: ReadonlyArray<readonly string[] | undefined>) {
    creates.forEach((paths, step) => {
      for (const path of paths ?? []) {
        const { names, folder } = components(path);
        let node = this.root;
        for (const name of names) {
          let child = node.children.get(name);
          if (!child) node.children.set(name, (child = newNode()));
          node = child;
        }
        (folder ? node.folders : node.files).push(step);
      }
    });
  }

  /** Calls `found` with every step that creates what `required` asks for (a step may come more than once). */
  creatorsOf(required: string, found: (step: number) => void): void {
    const { names, folder } = components(required);
    let node: PathNode | undefined = this.root;
    for (const name of names) {
      // A created folder above the required path holds it.
      if (node !== this.root) node.folders.forEach(found);
      node = node.children.get(name);
      if (!node) return;
    }
    if (folder) this.inside(node).forEach(found);
    else node.files.forEach(found);
  }

  /**
   * The steps that create the folder `node` or anything below it. Memoized per folder: the memos
   * hold each created path once per folder above it, so their total size is that of the paths.
   */
  private inside(node: PathNode): readonly number[] {
    if (node.inside) return node.inside;
    const steps = new Set<number>(node.folders);
    for (const child of node.children.values()) {
      for (const step of child.files) steps.add(step);
      for (const step of this.inside(child)) steps.add(step);
    }
    node.inside = [...steps];
    return node.inside;
  }
}
