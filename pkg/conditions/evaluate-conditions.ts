// Attestation conditions evaluated against one predicate, as Kyverno's verifyAttestation does: every variable of
// every condition (keys, values and messages) is substituted first, so a variable that cannot be resolved is an
// error even in a condition that would not have been reached; then the blocks are evaluated in order, all of them
// needing to pass, and the first block that fails gives the failures.
//
// Nothing is thrown from here: an evaluation error (an unresolvable variable, a function given the wrong type, a
// limit passed) comes back as an error value naming the field. Kyverno treats such errors as a failed check of the
// attestation, and callers should too: the predicate, not the policy, can cause them.
import { sanitizeText } from '../text/index.js';
import { err, ok, type Result } from '../result/index.js';
import type { CompiledConditions } from './compile-conditions.js';
import type { CompiledCondition } from './compiled-condition.js';
import type { ConditionError } from './condition-error.js';
import {
  describeFalseCondition,
  renderMessage,
  resolveCondition,
  type ResolvedCondition,
} from './condition-outcome.js';
import { evaluateBlock } from './evaluate-block.js';
import { withRun, type EvaluationRun } from './evaluation-run.js';
import type { JsonValue } from './json-value.js';
import { MAX_EVALUATION_WORK } from './limits.js';
import { WorkBudget } from './work-budget.js';

export interface EvaluationOptions {
  /** The current time in milliseconds since the Unix epoch (time_now, time_since with an empty end). */
  readonly now: () => number;
}

export interface ConditionFailure {
  /** The false condition: …conditions[0].all[1]. */
  readonly field: string;
  /** The condition's message, or one naming its key, operator and value. */
  readonly message: string;
}

export type ConditionsVerdict =
  { readonly pass: true } | { readonly pass: false; readonly failures: readonly ConditionFailure[] };

/** Evaluates compiled conditions with `context` (e.g. an attestation's predicate) as the JMESPath root. */
export function evaluateConditions(
  compiled: CompiledConditions,
  context: unknown,
  options: EvaluationOptions,
): Result<ConditionsVerdict, ConditionError> {
  const run: EvaluationRun = { budget: new WorkBudget(MAX_EVALUATION_WORK), now: options.now };
  let field = compiled.field;
  const at = (f: string) => {
    field = f;
  };
  try {
    return ok(withRun(run, () => evaluate(compiled, context as JsonValue, run, at)));
  } catch (e) {
    return err({ field, message: describeError(e) });
  }
}

function evaluate(
  compiled: CompiledConditions,
  root: JsonValue,
  run: EvaluationRun,
  at: (field: string) => void,
): ConditionsVerdict {
  // Substitute everything first, in order, as Kyverno does before it evaluates anything.
  const resolved = new Map<CompiledCondition, { condition: ResolvedCondition; message: string | undefined }>();
  for (const block of compiled.blocks) {
    for (const condition of [...(block.any ?? []), ...(block.all ?? [])]) {
      const r = resolveCondition(condition, root, run, at);
      resolved.set(condition, { condition: r, message: renderMessage(condition, root, run, at) });
    }
  }
  for (const block of compiled.blocks) {
    const outcome = evaluateBlock(block, (c) => resolved.get(c)!.condition, run, at);
    if (!outcome.pass) {
      const failures = outcome.failed.map((f) => ({
        field: f.condition.field,
        message: resolved.get(f.condition)!.message ?? describeFalseCondition(f),
      }));
      if (failures.length === 0) failures.push({ field: `${block.field}.any`, message: EMPTY_ANY });
      return { pass: false, failures };
    }
  }
  return { pass: true };
}

const EMPTY_ANY = 'any lists no conditions, so none of them holds';

/** A message for any error the evaluation raised, ours or a library's, cleaned for admission responses. */
export function describeError(e: unknown): string {
  if (e instanceof RangeError) return 'the evaluation nests too deeply or builds too large a value';
  const message = e instanceof Error ? e.message : String(e);
  return sanitizeText(message, 500);
}
