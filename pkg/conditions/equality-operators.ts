// Equals and NotEquals (and their deprecated spellings Equal and NotEqual), as Kyverno's EqualHandler and
// NotEqualHandler decide them. The key's type leads:
//   - a boolean equals only the same boolean;
//   - a number equals the same number, or a string that strconv.ParseFloat reads as it ("1" Equals 1 is false, but
//     1 Equals "1" is true: the key decides);
//   - a string is compared as durations when either side is one ("1h" Equals 3600), else as quantities when the key
//     is one ("1Gi" Equals "1024Mi"; a quantity key never equals a non-quantity string), else against the value as a
//     wildcard pattern ("ghcr.io/org/*");
//   - objects and arrays are compared deeply;
//   - null equals nothing, and is not "not equal" to anything either.
// NotEquals is not always the negation: each handler has its own answer for mismatched types, kept here.
import { durationPair } from './duration-pair.js';
import { durationSeconds } from './go-duration.js';
import { deepEqualJson, isJsonObject } from './json-value.js';
import type { Operand } from './operand.js';
import { compareQuantities } from './quantity.js';
import { matchWildcard } from './wildcard.js';
import type { WorkBudget } from './work-budget.js';

export function evaluateEquals(key: Operand, value: Operand, budget: WorkBudget): boolean {
  const k = key.value;
  const v = value.value;
  if (typeof k === 'boolean') return typeof v === 'boolean' && k === v;
  if (typeof k === 'number') {
    if (typeof v === 'number') return k === v;
    return typeof v === 'string' && value.float === k;
  }
  if (typeof k === 'string') {
    const durations = durationPair(key, value);
    if (durations !== undefined) return durationSeconds(durations[0]) === durationSeconds(durations[1]);
    const keyQuantity = key.quantity;
    if (keyQuantity !== undefined && typeof v === 'string') {
      const valueQuantity = value.quantity;
      return valueQuantity !== undefined && compareQuantities(keyQuantity, valueQuantity) === 0;
    }
    return typeof v === 'string' && matchWildcard(v, k, budget);
  }
  if (Array.isArray(k)) return Array.isArray(v) && deepEqualJson(k, v, budget);
  if (isJsonObject(k)) return isJsonObject(v) && deepEqualJson(k, v, budget);
  return false;
}

export function evaluateNotEquals(key: Operand, value: Operand, budget: WorkBudget): boolean {
  const k = key.value;
  const v = value.value;
  if (typeof k === 'boolean') return typeof v !== 'boolean' || k !== v;
  if (typeof k === 'number') {
    if (typeof v === 'number') return k !== v;
    if (typeof v !== 'string') return true;
    const parsed = value.float;
    return parsed === undefined || parsed !== k;
  }
  if (typeof k === 'string') {
    const durations = durationPair(key, value);
    if (durations !== undefined) return durationSeconds(durations[0]) !== durationSeconds(durations[1]);
    const keyQuantity = key.quantity;
    if (keyQuantity !== undefined && typeof v === 'string') {
      if (v === '') return !matchWildcard(v, k, budget);
      const valueQuantity = value.quantity;
      return valueQuantity === undefined || compareQuantities(keyQuantity, valueQuantity) !== 0;
    }
    return typeof v !== 'string' || !matchWildcard(v, k, budget);
  }
  if (Array.isArray(k)) return !Array.isArray(v) || !deepEqualJson(k, v, budget);
  if (isJsonObject(k)) return !isJsonObject(v) || !deepEqualJson(k, v, budget);
  return false;
}
