// fmt.Sprint of a decoded JSON value, which is how Kyverno's In-family operators turn numbers, booleans and array
// elements into the strings they compare: 1 prints "1", 1000000 prints "1e+06", true "true", null "<nil>", an array
// "[a b]" and an object "map[k:v]" with its keys sorted. Bounded in depth and length.
import { evaluationFailure } from './evaluation-failure.js';
import { formatGoFloat } from './go-float.js';
import { compareCodePoints, isJsonObject, type JsonValue } from './json-value.js';
import { MAX_NESTING_DEPTH, MAX_STRING_LENGTH } from './limits.js';
import type { WorkBudget } from './work-budget.js';

export function sprintGo(value: JsonValue, budget: WorkBudget): string {
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  let length = 0;
  const push = (text: string) => {
    length += text.length;
    if (length > MAX_STRING_LENGTH)
      throw evaluationFailure(`a value prints longer than ${MAX_STRING_LENGTH} characters`);
    budget.charge(1 + (text.length >> 4));
    parts.push(text);
  };
  write(value, 0, push);
  return parts.join('');
}

function write(value: JsonValue, depth: number, push: (text: string) => void): void {
  if (depth > MAX_NESTING_DEPTH) throw evaluationFailure(`values are nested deeper than ${MAX_NESTING_DEPTH} levels`);
  if (value === null) return push('<nil>');
  if (typeof value === 'boolean') return push(value ? 'true' : 'false');
  if (typeof value === 'number') return push(formatGoFloat(value));
  if (typeof value === 'string') return push(value);
  if (Array.isArray(value)) {
    push('[');
    value.forEach((element, i) => {
      if (i > 0) push(' ');
      write(element, depth + 1, push);
    });
    return push(']');
  }
  if (isJsonObject(value)) {
    push('map[');
    Object.keys(value)
      .sort(compareCodePoints)
      .forEach((key, i) => {
        push(`${i > 0 ? ' ' : ''}${key}:`);
        write(value[key]!, depth + 1, push);
      });
    return push(']');
  }
  throw evaluationFailure(`a value of type ${typeof value} is not JSON`);
}
