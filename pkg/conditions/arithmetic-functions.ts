// Kyverno's arithmetic functions (pkg/engine/jmespath/arithmetic.go). Each operand is a number, or a string read
// first as a Kubernetes quantity and then as a Go duration ("1m" is a milli-quantity, not a minute), and the
// operand kinds decide the result:
//   number ± number → number; quantity ± quantity → quantity string; duration ± duration → duration string;
//   quantity × number and number × quantity → quantity; duration × number → duration;
//   quantity ÷ quantity and duration ÷ duration → number; quantity ÷ number → quantity; duration ÷ number → duration;
//   modulo on two integers, two integral quantities or two durations; round(number, places).
// Every other pairing is "Types mismatch", as in Kyverno.
import { evaluationFailure } from './evaluation-failure.js';
import type { EvaluationRun } from './evaluation-run.js';
import { ANY, ARRAY, functionError, NUMBER, type FunctionDefinition } from './function-definition.js';
import { durationSeconds, floatToDuration, formatGoDuration, parseGoDuration } from './go-duration.js';
import type { JsonValue } from './json-value.js';
import { MAX_COLLECTION_LENGTH } from './limits.js';
import {
  addQuantities,
  approximateQuantity,
  divideQuantity,
  formatQuantity,
  integerQuantity,
  multiplyQuantity,
  parseQuantity,
  subtractQuantities,
  type Quantity,
} from './quantity.js';

type ArithmeticOperand =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'quantity'; readonly value: Quantity }
  | { readonly kind: 'duration'; readonly value: bigint };

export const ARITHMETIC_FUNCTIONS: readonly FunctionDefinition[] = [
  { name: 'add', signature: [ANY, ANY], run: ([a, b]) => add('add', a!, b!) },
  {
    name: 'sum',
    signature: [ARRAY],
    run: ([items], run) => {
      const list = items as readonly JsonValue[];
      if (list.length === 0) throw functionError('sum', 'at least one element in the array is required');
      if (list.length > MAX_COLLECTION_LENGTH) {
        throw functionError('sum', `the array has more than ${MAX_COLLECTION_LENGTH} elements`);
      }
      run.budget.charge(list.length * 8);
      return list.slice(1).reduce<JsonValue>((total, item) => add('sum', total, item), list[0]!);
    },
  },
  { name: 'subtract', signature: [ANY, ANY], run: ([a, b]) => subtract(a!, b!) },
  { name: 'multiply', signature: [ANY, ANY], run: ([a, b]) => multiply(a!, b!) },
  { name: 'divide', signature: [ANY, ANY], run: ([a, b]) => divide(a!, b!) },
  { name: 'modulo', signature: [ANY, ANY], run: ([a, b]) => modulo(a!, b!) },
  { name: 'round', signature: [NUMBER, NUMBER], run: ([x, places], run) => round(x as number, places as number, run) },
];

function operand(fn: string, value: JsonValue): ArithmeticOperand {
  if (typeof value === 'number') return { kind: 'number', value };
  if (typeof value === 'string') {
    const quantity = parseQuantity(value);
    if (quantity !== undefined) return { kind: 'quantity', value: quantity };
    const duration = parseGoDuration(value);
    if (duration.ok) return { kind: 'duration', value: duration.nanos };
  }
  throw functionError(fn, 'invalid operand');
}

function mismatch(fn: string): Error {
  return functionError(fn, 'Types mismatch');
}

function add(fn: string, a: JsonValue, b: JsonValue): JsonValue {
  const x = operand(fn, a);
  const y = operand(fn, b);
  if (x.kind === 'number' && y.kind === 'number') return x.value + y.value;
  if (x.kind === 'quantity' && y.kind === 'quantity') return formatQuantity(addQuantities(x.value, y.value));
  // Go's Duration is int64: the sum wraps around.
  if (x.kind === 'duration' && y.kind === 'duration') return formatGoDuration(BigInt.asIntN(64, x.value + y.value));
  throw mismatch(fn);
}

function subtract(a: JsonValue, b: JsonValue): JsonValue {
  const x = operand('subtract', a);
  const y = operand('subtract', b);
  if (x.kind === 'number' && y.kind === 'number') return x.value - y.value;
  if (x.kind === 'quantity' && y.kind === 'quantity') return formatQuantity(subtractQuantities(x.value, y.value));
  if (x.kind === 'duration' && y.kind === 'duration') return formatGoDuration(BigInt.asIntN(64, x.value - y.value));
  throw mismatch('subtract');
}

function multiply(a: JsonValue, b: JsonValue): JsonValue {
  const x = operand('multiply', a);
  const y = operand('multiply', b);
  if (x.kind === 'number' && y.kind === 'number') return x.value * y.value;
  const [other, factor] = x.kind === 'number' ? [y, x.value] : y.kind === 'number' ? [x, y.value] : [undefined, 0];
  if (other?.kind === 'quantity') return formatQuantity(multiplyQuantity(other.value, factor));
  if (other?.kind === 'duration') {
    // Go computes seconds × factor in float64 and converts back to nanoseconds.
    return formatGoDuration(floatToDuration(durationSeconds(other.value) * factor * 1e9));
  }
  throw mismatch('multiply');
}

function divide(a: JsonValue, b: JsonValue): JsonValue {
  const x = operand('divide', a);
  const y = operand('divide', b);
  const zero = () => functionError('divide', 'Zero divisor passed');
  if (x.kind === 'number' && y.kind === 'number') {
    if (y.value === 0) throw zero();
    return x.value / y.value;
  }
  if (x.kind === 'quantity' && y.kind === 'quantity') {
    const divisor = approximateQuantity(y.value);
    if (divisor === 0) throw zero();
    return approximateQuantity(x.value) / divisor;
  }
  if (x.kind === 'quantity' && y.kind === 'number') {
    if (y.value === 0) throw zero();
    return formatQuantity(divideQuantity(x.value, y.value));
  }
  if (x.kind === 'duration' && y.kind === 'duration') {
    if (durationSeconds(y.value) === 0) throw zero();
    return durationSeconds(x.value) / durationSeconds(y.value);
  }
  if (x.kind === 'duration' && y.kind === 'number') {
    if (y.value === 0) throw zero();
    return formatGoDuration(floatToDuration((durationSeconds(x.value) / y.value) * 1e9));
  }
  throw mismatch('divide');
}

function modulo(a: JsonValue, b: JsonValue): JsonValue {
  const x = operand('modulo', a);
  const y = operand('modulo', b);
  const nonInteger = () => functionError('modulo', 'Non-integer argument(s) passed for modulo');
  const zero = () => functionError('modulo', 'Zero divisor passed');
  if (x.kind === 'number' && y.kind === 'number') {
    const [i, j] = [asInt64(x.value), asInt64(y.value)];
    if (i === undefined || j === undefined) throw nonInteger();
    if (j === 0n) throw zero();
    return Number(i % j);
  }
  if (x.kind === 'quantity' && y.kind === 'quantity') {
    const [i, j] = [asInt64(approximateQuantity(x.value)), asInt64(approximateQuantity(y.value))];
    if (i === undefined || j === undefined) throw nonInteger();
    if (j === 0n) throw zero();
    return formatQuantity(integerQuantity(i % j, x.value.format));
  }
  if (x.kind === 'duration' && y.kind === 'duration') {
    if (y.value === 0n) throw zero();
    return formatGoDuration(x.value % y.value);
  }
  throw mismatch('modulo');
}

/** int64(f), when it converts back to exactly f (Go's integer check for modulo). */
function asInt64(f: number): bigint | undefined {
  if (!Number.isInteger(f) || f >= 2 ** 63 || f < -(2 ** 63)) return undefined;
  return BigInt(f);
}

function round(x: number, places: number, run: EvaluationRun): number {
  run.budget.charge(1);
  if (!Number.isInteger(places)) throw functionError('round', 'Non-integer argument(s) passed for round off');
  if (places < 0) throw evaluationFailure("JMESPath function 'round': argument is out of bounds");
  const shift = 10 ** places;
  // Go's math.Round rounds half away from zero; JavaScript's Math.round rounds half up.
  const scaled = x * shift;
  const rounded = Math.sign(scaled) * Math.round(Math.abs(scaled));
  return rounded / shift;
}
