// JSON text as Kyverno writes it when a value is embedded in a string ("replicas: {{ spec.replicas }}") or passed
// to to_string(): Go's encoding/json (through json-iterator's standard-compatible mode), which sorts object members,
// escapes <, > and & for HTML, and prints numbers as JavaScript does. Bounded in depth and length: the value is
// often attacker data.
import { evaluationFailure } from './evaluation-failure.js';
import { compareCodePoints, isJsonObject, type JsonValue } from './json-value.js';
import { MAX_NESTING_DEPTH, MAX_STRING_LENGTH } from './limits.js';
import type { WorkBudget } from './work-budget.js';

export function marshalGoJson(value: JsonValue, budget: WorkBudget): string {
  const parts: string[] = [];
  let length = 0;
  const push = (text: string) => {
    length += text.length;
    if (length > MAX_STRING_LENGTH) {
      throw evaluationFailure(`the value's JSON text is longer than ${MAX_STRING_LENGTH} characters`);
    }
    budget.charge(1 + (text.length >> 4));
    parts.push(text);
  };
  write(value, 0, push);
  return parts.join('');
}

function write(value: JsonValue, depth: number, push: (text: string) => void): void {
  if (depth > MAX_NESTING_DEPTH) throw evaluationFailure(`values are nested deeper than ${MAX_NESTING_DEPTH} levels`);
  if (value === null) return push('null');
  if (typeof value === 'boolean') return push(value ? 'true' : 'false');
  if (typeof value === 'number') return push(formatJsonNumber(value));
  if (typeof value === 'string') return push(quoteGoJsonString(value));
  if (Array.isArray(value)) {
    push('[');
    value.forEach((element, i) => {
      if (i > 0) push(',');
      write(element, depth + 1, push);
    });
    return push(']');
  }
  if (isJsonObject(value)) {
    push('{');
    Object.keys(value)
      .sort(compareCodePoints)
      .forEach((key, i) => {
        push(`${i > 0 ? ',' : ''}${quoteGoJsonString(key)}:`);
        write(value[key]!, depth + 1, push);
      });
    return push('}');
  }
  throw evaluationFailure(`a value of type ${typeof value} is not JSON`);
}

/** Go writes -0 with its sign and otherwise as JavaScript does (exponents below 1e-6 and from 1e21 on). */
function formatJsonNumber(n: number): string {
  if (!Number.isFinite(n)) throw evaluationFailure(`json: unsupported value: ${n}`);
  return Object.is(n, -0) ? '-0' : String(n);
}

const HEX = '0123456789abcdef';

/** A Go JSON string literal: control characters, quotes, backslashes, <, >, &, U+2028 and U+2029 escaped. */
export function quoteGoJsonString(text: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let escape: string | undefined;
    if (c === 0x22) escape = '\\"';
    else if (c === 0x5c) escape = '\\\\';
    else if (c === 0x0a) escape = '\\n';
    else if (c === 0x0d) escape = '\\r';
    else if (c === 0x09) escape = '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      escape = `\\u${HEX[(c >> 12) & 15]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate cannot be UTF-8; Go writes the replacement character for invalid text.
      const pair = c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1));
      if (pair) {
        i++;
        continue;
      }
      escape = '\\ufffd';
    }
    if (escape !== undefined) {
      out += text.slice(start, i) + escape;
      start = i + 1;
    }
  }
  return `${out}${text.slice(start)}"`;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
