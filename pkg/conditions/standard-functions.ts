// Standard JMESPath functions whose @jmespath-community implementation differs from the go-jmespath one Kyverno
// runs, replaced with Go's behaviour: sort, max and min compare strings by code point (not by locale) and sort
// numbers as numbers; max_by and min_by accept string keys; contains compares deeply; merge keeps every member as
// data; to_string writes Go's JSON; to_number reads with strconv.ParseFloat; reverse works on long strings.
import {
  TYPE_ANY,
  TYPE_ARRAY,
  TYPE_ARRAY_NUMBER,
  TYPE_ARRAY_STRING,
  TYPE_EXPREF,
  TYPE_OBJECT,
  TYPE_STRING,
  type InputSignature,
} from '@jmespath-community/jmespath';
import type { EvaluationRun } from './evaluation-run.js';
import { ANY, functionError, type FunctionDefinition } from './function-definition.js';
import { parseGoFloat } from './go-float.js';
import { marshalGoJson } from './go-json.js';
import { compareCodePoints, deepEqualJson, type JsonObject, type JsonValue } from './json-value.js';
import { jsonObject } from './object-functions.js';

const NUMBERS_OR_STRINGS: InputSignature = { types: [TYPE_ARRAY_NUMBER, TYPE_ARRAY_STRING] };
const EXPREF: InputSignature = { types: [TYPE_EXPREF] };

/** Applies an expression reference to a value; supplied by the interpreter, which owns exprefs. */
export type ExprefApplier = (expref: JsonValue, value: JsonValue) => JsonValue;

export function standardFunctions(apply: ExprefApplier): readonly FunctionDefinition[] {
  return [
    { name: 'sort', signature: [NUMBERS_OR_STRINGS], run: ([list], run) => sortValues(list as JsonValue[], run) },
    { name: 'max', signature: [NUMBERS_OR_STRINGS], run: ([list], run) => extreme(list as JsonValue[], 1, run) },
    { name: 'min', signature: [NUMBERS_OR_STRINGS], run: ([list], run) => extreme(list as JsonValue[], -1, run) },
    {
      name: 'max_by',
      signature: [{ types: [TYPE_ARRAY] }, EXPREF],
      run: ([list, expref], run) => extremeBy('max_by', list as JsonValue[], expref!, 1, apply, run),
    },
    {
      name: 'min_by',
      signature: [{ types: [TYPE_ARRAY] }, EXPREF],
      run: ([list, expref], run) => extremeBy('min_by', list as JsonValue[], expref!, -1, apply, run),
    },
    {
      name: 'merge',
      signature: [{ types: [TYPE_OBJECT], variadic: true }],
      run: (objects, run) => {
        const entries: [string, JsonValue][] = [];
        for (const object of objects as JsonObject[]) {
          for (const key of Object.keys(object)) entries.push([key, object[key]!]);
        }
        run.budget.charge(entries.length);
        return jsonObject(entries);
      },
    },
    {
      name: 'contains',
      signature: [{ types: [TYPE_ARRAY, TYPE_STRING] }, { types: [TYPE_ANY] }],
      run: ([subject, search], run) => {
        if (typeof subject === 'string') return typeof search === 'string' && subject.includes(search);
        return (subject as JsonValue[]).some((element) => deepEqualJson(element, search!, run.budget));
      },
    },
    {
      name: 'to_string',
      signature: [ANY],
      run: ([value], run) => (typeof value === 'string' ? value : marshalGoJson(value!, run.budget)),
    },
    {
      name: 'to_number',
      signature: [ANY],
      run: ([value]) => {
        if (typeof value === 'number') return value;
        if (typeof value === 'string') {
          const parsed = parseGoFloat(value);
          return parsed === undefined || !Number.isFinite(parsed) ? null : parsed;
        }
        return null;
      },
    },
    {
      name: 'reverse',
      signature: [{ types: [TYPE_STRING, TYPE_ARRAY] }],
      run: ([value], run) => {
        run.budget.charge(1 + (typeof value === 'string' ? value.length : (value as JsonValue[]).length));
        return typeof value === 'string' ? [...value].reverse().join('') : [...(value as JsonValue[])].reverse();
      },
    },
  ];
}

function compareValues(a: JsonValue, b: JsonValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  return compareCodePoints(a as string, b as string);
}

function sortValues(list: JsonValue[], run: EvaluationRun): JsonValue[] {
  run.budget.charge(1 + list.length * Math.ceil(Math.log2(list.length + 1)));
  return [...list].sort(compareValues);
}

function extreme(list: JsonValue[], direction: 1 | -1, run: EvaluationRun): JsonValue {
  run.budget.charge(1 + list.length);
  let best: JsonValue = null;
  for (const value of list) if (best === null || compareValues(value, best) * direction > 0) best = value;
  return best;
}

function extremeBy(
  fn: string,
  list: JsonValue[],
  expref: JsonValue,
  direction: 1 | -1,
  apply: ExprefApplier,
  run: EvaluationRun,
): JsonValue {
  run.budget.charge(1 + list.length);
  if (list.length === 0) return null;
  if (list.length === 1) return list[0]!;
  const first = apply(expref, list[0]!);
  if (typeof first !== 'number' && typeof first !== 'string') {
    throw functionError(fn, 'invalid type, must be number of string');
  }
  let best: JsonValue = list[0]!;
  let bestKey: string | number = first;
  for (const item of list.slice(1)) {
    const key = apply(expref, item);
    if (typeof key !== typeof first) throw functionError(fn, `invalid type, must be ${typeof first}`);
    if (compareValues(key, bestKey) * direction > 0) {
      best = item;
      bestKey = key as string | number;
    }
  }
  return best;
}
