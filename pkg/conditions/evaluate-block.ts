// Kyverno's evaluation of one {any, all} block (evaluateAnyAllConditionsWithContext): "any" holds when one of its
// conditions does (and fails when present but empty), "all" when every one does; both are evaluated in order and
// stop early, any first. The block records which conditions held and which made it fail.
import type { CompiledBlock } from './compile-conditions.js';
import type { CompiledCondition } from './compiled-condition.js';
import { holds, type FieldTracker, type ResolvedCondition } from './condition-outcome.js';
import type { EvaluationRun } from './evaluation-run.js';

export interface BlockOutcome {
  readonly pass: boolean;
  /** Conditions that held, in evaluation order (their messages are a passing deny's message). */
  readonly held: readonly ResolvedCondition[];
  /**
   * The conditions that made the block fail: every "any" condition when none held, and the false "all" one. Empty
   * for a failing block whose "any" list is empty.
   */
  readonly failed: readonly ResolvedCondition[];
}

export function evaluateBlock(
  block: CompiledBlock,
  resolve: (condition: CompiledCondition) => ResolvedCondition,
  run: EvaluationRun,
  at: FieldTracker,
): BlockOutcome {
  const held: ResolvedCondition[] = [];
  const anyFalse: ResolvedCondition[] = [];
  let anyPassed = true;
  if (block.any !== undefined) {
    anyPassed = false;
    for (const condition of block.any) {
      const resolved = resolve(condition);
      if (holds(resolved, run, at)) {
        anyPassed = true;
        held.push(resolved);
        break;
      }
      anyFalse.push(resolved);
    }
  }
  let allFalse: ResolvedCondition | undefined;
  for (const condition of block.all ?? []) {
    const resolved = resolve(condition);
    if (!holds(resolved, run, at)) {
      allFalse = resolved;
      break;
    }
    held.push(resolved);
  }
  const failed = [...(anyPassed ? [] : anyFalse), ...(allFalse === undefined ? [] : [allFalse])];
  return { pass: anyPassed && allFalse === undefined, held, failed };
}
