// The values conditions work on: JSON as JSON.parse makes it, which is also what Kyverno's engine sees after its own
// json.Unmarshal (every number a float64). Helpers here never follow an object's prototype, since the documents are
// attacker-chosen and a member called "constructor" or "__proto__" must be data, not a way into JavaScript.
import { evaluationFailure } from './evaluation-failure.js';
import { MAX_NESTING_DEPTH } from './limits.js';
import type { WorkBudget } from './work-budget.js';

export type JsonValue = null | boolean | number | string | JsonArray | JsonObject;
export type JsonArray = readonly JsonValue[];
export interface JsonObject {
  readonly [member: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The member of an object that the object itself holds, never one it inherits. */
export function ownMember(object: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

/**
 * Go's reflect.DeepEqual over decoded JSON, which is what Kyverno's Equals uses for maps and arrays: the same kinds,
 * the same members, and numbers equal as float64. Bounded in depth and in work, since both sides may be attacker data.
 */
export function deepEqualJson(a: JsonValue, b: JsonValue, budget: WorkBudget, depth = 0): boolean {
  budget.charge(1);
  if (depth > MAX_NESTING_DEPTH) throw evaluationFailure(`values are nested deeper than ${MAX_NESTING_DEPTH} levels`);
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqualJson(a[i]!, b[i]!, budget, depth + 1)) return false;
    return true;
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const key of keys) {
      const other = ownMember(b, key);
      if (other === undefined || !deepEqualJson(a[key]!, other, budget, depth + 1)) return false;
    }
    return true;
  }
  return false;
}

/** Compares strings as Go's sort.Strings does: by Unicode code point (UTF-8 byte order), not by UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (a code point above U+FFFF) sorts after every BMP unit in UTF-8 order.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
