// Kyverno's object functions: label_match, lookup, items and object_from_lists. Objects made here hold their
// members as own data properties, so a member named "__proto__" from an attestation stays a member.
import {
  ARRAY,
  functionError,
  OBJECT,
  OBJECT_OR_ARRAY,
  STRING,
  STRING_OR_NUMBER,
  type FunctionDefinition,
} from './function-definition.js';
import { compareCodePoints, deepEqualJson, ownMember, type JsonObject, type JsonValue } from './json-value.js';
import { stringOrNumber } from './string-functions.js';

export const OBJECT_FUNCTIONS: readonly FunctionDefinition[] = [
  {
    name: 'label_match',
    signature: [OBJECT, OBJECT],
    // Every label of the first object is in the second with an equal value.
    run: ([labels, target], run) => {
      const wanted = labels as JsonObject;
      const have = target as JsonObject;
      return Object.keys(wanted).every((key) => {
        const value = ownMember(have, key);
        return value !== undefined && deepEqualJson(value, wanted[key]!, run.budget);
      });
    },
  },
  {
    name: 'lookup',
    signature: [OBJECT_OR_ARRAY, STRING_OR_NUMBER],
    run: ([collection, key]) => {
      if (Array.isArray(collection)) {
        if (typeof key !== 'number') throw functionError('lookup', 'argument #2 is not of type Number');
        if (!Number.isInteger(key)) {
          throw functionError('lookup', `argument #2: expected an integer number but got: ${key}`);
        }
        return key < 0 || key >= collection.length ? null : collection[key]!;
      }
      if (typeof key !== 'string') throw functionError('lookup', 'argument #2 is not of type String');
      return ownMember(collection as JsonObject, key) ?? null;
    },
  },
  {
    name: 'items',
    signature: [OBJECT_OR_ARRAY, STRING, STRING],
    run: ([collection, keyName, valueName], run) => {
      const k = keyName as string;
      const v = valueName as string;
      const entries: [JsonValue, JsonValue][] = Array.isArray(collection)
        ? collection.map((value: JsonValue, index: number) => [index, value])
        : Object.keys(collection as JsonObject)
            .sort(compareCodePoints)
            .map((key) => [key, (collection as JsonObject)[key]!]);
      run.budget.charge(entries.length * 4);
      return entries.map(([key, value]) =>
        jsonObject([
          [k, key],
          [v, value],
        ]),
      );
    },
  },
  {
    name: 'object_from_lists',
    signature: [ARRAY, ARRAY],
    run: ([keys, values], run) => {
      const k = keys as readonly JsonValue[];
      const v = values as readonly JsonValue[];
      run.budget.charge(k.length * 4);
      return jsonObject(
        k.map((key, i) => {
          if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') {
            throw functionError('object_from_lists', 'argument #1 is not of type StringArray');
          }
          return [typeof key === 'boolean' ? String(key) : stringOrNumber(key), i < v.length ? v[i]! : null];
        }),
      );
    },
  },
];

/** An object from [key, value] pairs, later pairs winning, every key an own data property. */
export function jsonObject(entries: Iterable<readonly [string, JsonValue]>): JsonObject {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
