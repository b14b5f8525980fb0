/** The three versions of one file; undefined means the file is absent in that version. */
export interface ThreeWayInput {
  readonly base: string | undefined;
  /** The fold so far: the earlier steps in workflow order. */
  readonly ours: string | undefined;
  /** The step being folded in (later in workflow order). */
  readonly theirs: string | undefined;
}

/** One clash a merge policy could not resolve on its own. */
export interface PolicyConflict {
  readonly kind: 'json-key' | 'markdown-section' | 'content';
  /** JSON key path like `$.scripts.build` or `$.items[2]`, or the Markdown heading line such as `## Findings`; absent for whole-file problems. */
  readonly location?: string;
  /** One sentence for a user: what clashed. */
  readonly detail: string;
}

/** The outcome of a policy: the merged text, or every conflict that stopped it. */
export type PolicyMergeResult =
  | { readonly status: 'merged'; readonly content: string | undefined } // undefined: the file is deleted
  | { readonly status: 'conflict'; readonly conflicts: readonly PolicyConflict[] };
