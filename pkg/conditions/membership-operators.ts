// In, NotIn (both deprecated), AnyIn, AllIn, AnyNotIn and AllNotIn, as Kyverno's handlers decide them. Keys and
// values are compared as strings: numbers and booleans as Go's fmt.Sprint prints them (1 as "1", 1000000 as
// "1e+06"), array elements likewise.
//
//   - A scalar key is "in" an array value when it matches an element as a wildcard pattern, or the element matches
//     it (both directions); in a string value when that string matches it as a pattern, or (AnyIn and the like)
//     when the string is a range "1-10" that holds it, or a JSON array of strings that contains it exactly.
//   - An array key is compared element by element: AnyIn wants one key element in the value, AllIn every one,
//     AnyNotIn one outside it and AllNotIn none inside. In and NotIn compare array keys exactly, without wildcards,
//     and need every key element to be a string (Kyverno panics otherwise; here it is an evaluation error).
//   - A value of the wrong type makes every one of these operators false, NotIn and the *NotIn ones included.
//
// Both directions of matching mean a key element of "*" matches anything: the attestation, not only the policy,
// can carry wildcards. That is Kyverno's behaviour and is kept, but it makes AllIn a weak allow-list.
import { evaluationFailure } from './evaluation-failure.js';
import { sprintGo } from './go-print.js';
import type { JsonValue } from './json-value.js';
import { MAX_COLLECTION_LENGTH, MAX_PARSE_JSON_LENGTH } from './limits.js';
import { isRangePattern, matchesPattern } from './range-pattern.js';
import { matchWildcard } from './wildcard.js';
import type { WorkBudget } from './work-budget.js';

export type MembershipOperator = 'In' | 'NotIn' | 'AnyIn' | 'AllIn' | 'AnyNotIn' | 'AllNotIn';

/** A lookup that found its value to be of a type the operator cannot search: the operator is then false. */
const INVALID = Symbol('invalid');
type Lookup = boolean | typeof INVALID;

export function evaluateMembership(
  op: MembershipOperator,
  key: JsonValue,
  value: JsonValue,
  budget: WorkBudget,
): boolean {
  if (typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean') {
    const k = typeof key === 'string' ? key : sprintGo(key, budget);
    const found =
      op === 'In' || op === 'NotIn' ? scalarInValue(k, value, budget, false) : scalarInValue(k, value, budget, true);
    if (found === INVALID) return false;
    return op === 'In' || op === 'AnyIn' || op === 'AllIn' ? found : !found;
  }
  if (!Array.isArray(key)) return false;
  checkSize(key, 'key');
  if (op === 'In' || op === 'NotIn') {
    const keys = key.map((element, i) => {
      if (typeof element !== 'string') {
        throw evaluationFailure(`${op} needs an array of strings as its key, but element ${i} is not a string`);
      }
      return element;
    });
    const found = exactSetLookup(keys, value, op === 'NotIn');
    return found === INVALID ? false : found;
  }
  const keys = key.map((element) => sprintGo(element, budget));
  const found =
    op === 'AnyIn' || op === 'AnyNotIn'
      ? anySetLookup(keys, value, op === 'AnyNotIn', budget)
      : allSetLookup(keys, value, op === 'AllNotIn', budget);
  return found === INVALID ? false : found;
}

/**
 * keyExistsInArray (In, NotIn) and anyKeyExistsInArray (the others, which also understand ranges and treat a
 * string that is not JSON as a one-element list).
 */
function scalarInValue(key: string, value: JsonValue, budget: WorkBudget, ranges: boolean): Lookup {
  if (Array.isArray(value)) {
    checkSize(value, 'value');
    return value.some((element) => {
      const e = sprintGo(element, budget);
      return matchWildcard(e, key, budget) || matchWildcard(key, e, budget);
    });
  }
  if (typeof value !== 'string') return INVALID;
  if (matchWildcard(value, key, budget)) return true;
  if (ranges && isRangePattern(value)) return matchesPattern(key, value, budget);
  const list = ranges ? stringListOrSelf(value) : stringList(value);
  return list === INVALID ? INVALID : list.includes(key);
}

/** setExistsInArray: every key in the value (In), or some key outside it (NotIn), compared exactly. */
function exactSetLookup(keys: readonly string[], value: JsonValue, notIn: boolean): Lookup {
  let values: readonly string[];
  if (Array.isArray(value)) {
    checkSize(value, 'value');
    if (!value.every((v): v is string => typeof v === 'string')) return INVALID;
    values = value;
  } else if (typeof value === 'string') {
    // A single key equal to the value holds for both operators, as Kyverno has it.
    if (keys.length === 1 && keys[0] === value) return true;
    const list = stringList(value);
    if (list === INVALID) return INVALID;
    values = list;
  } else {
    return INVALID;
  }
  const set = new Set(values);
  return notIn ? keys.some((k) => !set.has(k)) : keys.every((k) => set.has(k));
}

/** anySetExistsInArray: AnyIn (some key element matches some value element) and AnyNotIn (some key matches none). */
function anySetLookup(keys: readonly string[], value: JsonValue, notIn: boolean, budget: WorkBudget): Lookup {
  let values: readonly string[];
  if (Array.isArray(value)) {
    checkSize(value, 'value');
    values = value.map((v) => sprintGo(v, budget));
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    values = [sprintGo(value, budget)];
  } else if (typeof value === 'string') {
    if (keys.length === 1 && keys[0] === value) return !notIn;
    if (isRangePattern(value)) {
      // Kyverno turns "a-b" into "a!-b" (outside the range) for AnyNotIn.
      const pattern = notIn ? value.replace('-', '!-') : value;
      return keys.some((k) => matchesPattern(k, pattern, budget));
    }
    const list = stringListOrSelf(value);
    if (list === INVALID) return INVALID;
    values = list;
  } else {
    return INVALID;
  }
  const matched = (k: string) => values.some((v) => matchWildcard(k, v, budget) || matchWildcard(v, k, budget));
  return notIn ? keys.some((k) => !matched(k)) : keys.some(matched);
}

/** allSetExistsInArray: AllIn (every key element matches a value element) and AllNotIn (no key element does). */
function allSetLookup(keys: readonly string[], value: JsonValue, notIn: boolean, budget: WorkBudget): Lookup {
  let values: readonly string[];
  if (Array.isArray(value)) {
    checkSize(value, 'value');
    values = value.map((v) => sprintGo(v, budget));
  } else if (typeof value === 'string') {
    if (keys.length === 1 && keys[0] === value) return !notIn;
    if (isRangePattern(value)) {
      const inRange = (k: string) => matchesPattern(k, value, budget);
      return notIn ? !keys.some(inRange) : keys.every(inRange);
    }
    const list = stringListOrSelf(value);
    if (list === INVALID) return INVALID;
    values = list;
  } else {
    return INVALID;
  }
  const matched = (k: string) => values.some((v) => matchWildcard(k, v, budget) || matchWildcard(v, k, budget));
  return notIn ? !keys.some(matched) : keys.every(matched);
}

/** json.Unmarshal into []string: null is an empty list, a null element an empty string; anything else is invalid. */
function stringList(text: string): readonly string[] | typeof INVALID {
  return toStringList(parseJson(text));
}

/** A string that is valid JSON must be a list of strings; any other string is a list of itself. */
function stringListOrSelf(text: string): readonly string[] | typeof INVALID {
  const parsed = parseJson(text);
  return parsed === INVALID ? [text] : toStringList(parsed);
}

function toStringList(parsed: unknown): readonly string[] | typeof INVALID {
  if (parsed === INVALID) return INVALID;
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) return INVALID;
  checkSize(parsed, 'value');
  const list: string[] = [];
  for (const element of parsed as unknown[]) {
    if (element === null) list.push('');
    else if (typeof element === 'string') list.push(element);
    else return INVALID;
  }
  return list;
}

function parseJson(text: string): unknown {
  if (text.length > MAX_PARSE_JSON_LENGTH) return INVALID;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID;
  }
}

function checkSize(list: readonly unknown[], side: string): void {
  if (list.length > MAX_COLLECTION_LENGTH) {
    throw evaluationFailure(`the ${side} has ${list.length} elements, more than the ${MAX_COLLECTION_LENGTH} compared`);
  }
}
