// Deciding one condition during an evaluation: its key and value resolved, the operator applied, and, when it is
// false, the message a person reads (the policy's own message, or one that names the key, operator and value).
import { quoteText, sanitizeText } from '../text/index.js';
import type { CompiledCondition } from './compiled-condition.js';
import type { EvaluationRun } from './evaluation-run.js';
import type { JsonValue } from './json-value.js';
import type { Operand } from './operand.js';
import { applyOperator } from './operators.js';
import { renderText } from './template.js';
import { renderOperand } from './value-template.js';

/** Longest message a condition contributes: it ends up in admission responses, events and logs. */
export const MAX_MESSAGE_LENGTH = 1024;

export interface ResolvedCondition {
  readonly condition: CompiledCondition;
  readonly key: Operand;
  readonly value: Operand;
}

/** Where an evaluation is, so that an error names the field it happened in. */
export type FieldTracker = (field: string) => void;

export function resolveCondition(
  condition: CompiledCondition,
  root: JsonValue,
  run: EvaluationRun,
  at: FieldTracker,
): ResolvedCondition {
  at(`${condition.field}.key`);
  const key = renderOperand(condition.key, root, run);
  at(`${condition.field}.value`);
  const value = renderOperand(condition.value, root, run);
  return { condition, key, value };
}

export function holds(resolved: ResolvedCondition, run: EvaluationRun, at: FieldTracker): boolean {
  at(resolved.condition.field);
  return applyOperator(resolved.condition.operator, resolved.key, resolved.value, run.budget);
}

/** The policy's message with its variables filled in, or undefined when the condition has none. */
export function renderMessage(
  condition: CompiledCondition,
  root: JsonValue,
  run: EvaluationRun,
  at: FieldTracker,
): string | undefined {
  if (condition.message === undefined) return undefined;
  at(`${condition.field}.message`);
  return sanitizeText(renderText(condition.message, root, run), MAX_MESSAGE_LENGTH);
}

/** A message for a false condition without one of its own: the key and value as written, and what they became. */
export function describeFalseCondition(resolved: ResolvedCondition): string {
  const { condition, key, value } = resolved;
  const details: string[] = [];
  if (condition.key.kind !== 'literal') details.push(`the key resolved to ${quoteText(key.value)}`);
  if (condition.value.kind !== 'literal') details.push(`the value resolved to ${quoteText(value.value)}`);
  const text = `${describeWritten(condition.keySource)} ${condition.operator} ${describeWritten(condition.valueSource)} is false`;
  return details.length > 0 ? `${text}: ${details.join(', ')}` : text;
}

/** A key or value as the policy wrote it, quoted and shortened. */
function describeWritten(written: unknown): string {
  if (typeof written === 'string') return quoteText(written, 200);
  if (written === undefined) return 'null';
  let json: string;
  try {
    json = JSON.stringify(written) ?? 'null';
  } catch {
    json = quoteText(written);
  }
  return sanitizeText(json, 200);
}
