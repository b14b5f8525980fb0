// The engine's heavy parts (its zod schemas, the YAML parser, the scheduler), bundled on their own
// as dist/engine.js and loaded on first use through `engine()` (lazyEngine.ts), so that the
// extension's activation loads only the host. This file is that bundle's boundary, not a barrel:
// the host imports the engine through it lazily, and nothing else imports it.
export { applyResult, branchFromResult } from '../core/apply/applyResult';
export { resolveConflict } from '../core/apply/resolveConflict';
export { pickCandidate } from '../core/apply/pickCandidate';
export { cleanup, deleteRun, keptWorktrees, removeKeptWorktree } from '../core/cleanup/cleanup';
export { restoreEscapes } from '../core/escape/restore';
export { WorkflowRun } from '../core/run/workflowRun';
export { TERMINAL_STEP_STATUSES } from '../core/state/events';
export { sendRequest } from '../core/state/requests';
export { holdsRun, listRuns, loadRun, sweepOrphans, trackedRunIds } from '../core/state/runs';
export { parseWorkflow } from '../core/workflow/loadWorkflow';
