// GreaterThan, GreaterThanOrEquals, LessThan and LessThanOrEquals, as Kyverno's NumericOperatorHandler decides
// them, and the deprecated Duration* operators (DurationOperatorHandler).
//
// The numeric operators try, in order: durations when either side is a duration string ("1h" > "30m", and a
// number on the other side counts as seconds); quantities when both are quantity strings ("1Gi" > "512Mi"); a key
// string that strconv.ParseFloat reads, compared as that number; and semantic versions ("1.10.0" > "1.9.2"). A
// boolean, null, array or object key is never greater or smaller than anything.
//
// The Duration* operators read both sides as durations, numbers as whole seconds, and are false otherwise.
import { durationPair } from './duration-pair.js';
import { durationSeconds, secondsToDuration } from './go-duration.js';
import { Operand } from './operand.js';
import { compareQuantities } from './quantity.js';
import { compareSemver } from './semver.js';

export type OrderingOperator = 'GreaterThan' | 'GreaterThanOrEquals' | 'LessThan' | 'LessThanOrEquals';

export function evaluateOrdering(op: OrderingOperator, key: Operand, value: Operand): boolean {
  const k = key.value;
  if (typeof k === 'number') return compareNumberWith(op, key, value);
  if (typeof k !== 'string') return false;
  const durations = durationPair(key, value);
  if (durations !== undefined) return holds(op, durationSeconds(durations[0]), durationSeconds(durations[1]));
  const keyQuantity = key.quantity;
  const valueQuantity = value.quantity;
  if (keyQuantity !== undefined && valueQuantity !== undefined) {
    return holds(op, compareQuantities(keyQuantity, valueQuantity), 0);
  }
  const keyNumber = key.float;
  if (keyNumber !== undefined) return compareNumberWith(op, new Operand(keyNumber), value);
  const keyVersion = key.semver;
  if (keyVersion !== undefined) {
    const valueVersion = value.semver;
    return valueVersion !== undefined && holds(op, compareSemver(keyVersion, valueVersion), 0);
  }
  return false;
}

/** validateValueWithFloatPattern: a number key against a number, a duration string or a number in a string. */
function compareNumberWith(op: OrderingOperator, key: Operand, value: Operand): boolean {
  const k = key.value as number;
  const v = value.value;
  if (typeof v === 'number') return holds(op, k, v);
  if (typeof v !== 'string') return false;
  const durations = durationPair(key, value);
  if (durations !== undefined) return holds(op, durationSeconds(durations[0]), durationSeconds(durations[1]));
  const parsed = value.float;
  return parsed !== undefined && holds(op, k, parsed);
}

function holds(op: OrderingOperator, a: number, b: number): boolean {
  switch (op) {
    case 'GreaterThan':
      return a > b;
    case 'GreaterThanOrEquals':
      return a >= b;
    case 'LessThan':
      return a < b;
    case 'LessThanOrEquals':
      return a <= b;
  }
}

export type DurationOperator =
  'DurationGreaterThan' | 'DurationGreaterThanOrEquals' | 'DurationLessThan' | 'DurationLessThanOrEquals';

export function evaluateDurationOrdering(op: DurationOperator, key: Operand, value: Operand): boolean {
  const k = asDuration(key);
  const v = asDuration(value);
  if (k === undefined || v === undefined) return false;
  switch (op) {
    case 'DurationGreaterThan':
      return k > v;
    case 'DurationGreaterThanOrEquals':
      return k >= v;
    case 'DurationLessThan':
      return k < v;
    case 'DurationLessThanOrEquals':
      return k <= v;
  }
}

function asDuration(operand: Operand): bigint | undefined {
  if (typeof operand.value === 'number') return secondsToDuration(operand.value);
  return typeof operand.value === 'string' ? operand.duration : undefined;
}
