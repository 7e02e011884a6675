// One condition ({key, operator, value, message}) compiled: the operator checked, key, value and message parsed for
// variables, literal readings worked out. Shared by attestation conditions and validate.deny.
import { err, ok, type Result } from '../result/index.js';
import type { ConditionError } from './condition-error.js';
import { parseGoDuration } from './go-duration.js';
import { isJsonObject } from './json-value.js';
import { CONDITION_OPERATORS, isConditionOperator, type ConditionOperator } from './operators.js';
import { compileTemplate, type CompiledTemplate } from './template.js';
import { compileValueTemplate, type ValueTemplate } from './value-template.js';

export interface CompiledCondition {
  /** Where the condition is: spec.rules[0]...conditions[0].all[1]. */
  readonly field: string;
  readonly operator: ConditionOperator;
  readonly key: ValueTemplate;
  readonly value: ValueTemplate;
  /** The key and value as written, for messages. */
  readonly keySource: unknown;
  readonly valueSource: unknown;
  readonly message?: CompiledTemplate;
}

/** The members a condition may have; others are refused rather than ignored (a misspelt "vaule" would be null). */
const MEMBERS = new Set(['key', 'operator', 'value', 'message']);

export function compileCondition(condition: unknown, field: string): Result<CompiledCondition, ConditionError[]> {
  if (!isJsonObject(condition)) return err([{ field, message: 'must be an object with key, operator and value' }]);
  const errors: ConditionError[] = [];
  for (const name of Object.keys(condition)) {
    if (!MEMBERS.has(name))
      errors.push({
        field: `${field}.${name}`,
        message: 'unknown field; a condition has key, operator, value and message',
      });
  }
  const { key, operator, value, message } = condition as Record<string, unknown>;
  if (operator === undefined || operator === '') {
    errors.push({ field: `${field}.operator`, message: `is required: one of ${CONDITION_OPERATORS.join(', ')}` });
  } else if (!isConditionOperator(operator)) {
    errors.push({
      field: `${field}.operator`,
      message: `unknown operator ${JSON.stringify(operator)}; one of ${CONDITION_OPERATORS.join(', ')}`,
    });
  }
  if (key === undefined) errors.push({ field: `${field}.key`, message: 'is required, e.g. "{{ builder.id }}"' });
  const compiledKey = compileValueTemplate(key, `${field}.key`);
  const compiledValue = compileValueTemplate(value, `${field}.value`);
  if (!compiledKey.ok) errors.push(...compiledKey.error);
  if (!compiledValue.ok) errors.push(...compiledValue.error);
  let compiledMessage: CompiledTemplate | undefined;
  if (message !== undefined && message !== '') {
    if (typeof message !== 'string') errors.push({ field: `${field}.message`, message: 'must be a string' });
    else {
      const template = compileTemplate(message, `${field}.message`);
      if (template.ok) compiledMessage = template.value;
      else errors.push(...template.error);
    }
  }
  if (isConditionOperator(operator) && compiledKey.ok && compiledValue.ok) {
    errors.push(...checkLiterals(operator, compiledKey.value, compiledValue.value, field));
  }
  if (errors.length > 0 || !isConditionOperator(operator) || !compiledKey.ok || !compiledValue.ok) return err(errors);
  return ok({
    field,
    operator,
    key: compiledKey.value,
    value: compiledValue.value,
    keySource: key,
    valueSource: value,
    ...(compiledMessage === undefined ? {} : { message: compiledMessage }),
  });
}

/**
 * Literal keys and values that make a condition always false, or always an error, in Kyverno: a Duration* operator
 * with a side that is no duration, and an In or NotIn key array with an element that is no string.
 */
function checkLiterals(
  op: ConditionOperator,
  key: ValueTemplate,
  value: ValueTemplate,
  field: string,
): ConditionError[] {
  const errors: ConditionError[] = [];
  if (op.startsWith('Duration')) {
    for (const [side, template] of [
      ['key', key],
      ['value', value],
    ] as const) {
      if (template.kind !== 'literal') continue;
      const literal = template.operand.value;
      const isDuration = typeof literal === 'number' || (typeof literal === 'string' && parseGoDuration(literal).ok);
      if (!isDuration) {
        errors.push({
          field: `${field}.${side}`,
          message: `${op} compares durations, and ${JSON.stringify(literal)} is neither a Go duration (e.g. 1h30m) nor a number of seconds`,
        });
      }
    }
  }
  if ((op === 'In' || op === 'NotIn') && key.kind === 'literal' && Array.isArray(key.operand.value)) {
    if (key.operand.value.some((element) => typeof element !== 'string')) {
      errors.push({ field: `${field}.key`, message: `${op} needs an array of strings as its key; use AnyIn or AllIn` });
    }
  }
  return errors;
}
