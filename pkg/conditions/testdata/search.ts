// Test helper: one JMESPath expression evaluated as a condition variable would be, with a fixed clock.
import { withRun } from '../evaluation-run.js';
import { compileExpression, evaluateExpression } from '../expression.js';
import type { JsonValue } from '../json-value.js';
import { MAX_EVALUATION_WORK } from '../limits.js';
import { WorkBudget } from '../work-budget.js';

export const FIXED_NOW = Date.parse('2024-05-06T07:08:09Z');

export type SearchOutcome =
  | { readonly value: JsonValue }
  | { readonly missing: string }
  | { readonly compileError: string }
  | { readonly error: string };

export function search(expression: string, data: unknown = {}, work = MAX_EVALUATION_WORK): SearchOutcome {
  const compiled = compileExpression(expression);
  if (!compiled.ok) return { compileError: compiled.error };
  try {
    return withRun({ budget: new WorkBudget(work), now: () => FIXED_NOW }, () => {
      const result = evaluateExpression(compiled.value, data as JsonValue);
      return result.found ? { value: result.value } : { missing: result.missingKey };
    });
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The value of an expression that must evaluate. */
export function value(expression: string, data: unknown = {}): JsonValue {
  const outcome = search(expression, data);
  if (!('value' in outcome)) throw new Error(`${expression}: ${JSON.stringify(outcome)}`);
  return outcome.value;
}

/** The error of an expression that must fail while evaluating. */
export function errorOf(expression: string, data: unknown = {}): string {
  const outcome = search(expression, data);
  if (!('error' in outcome)) throw new Error(`${expression}: expected an error, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}
