// Kubernetes resource quantities ("100Mi", "1.5", "2k", "1e3", "500m"), as k8s.io/apimachinery's resource package
// parses, compares, adds and prints them, because Kyverno's operators compare strings as quantities ("1Gi" is
// greater than "512Mi") and its arithmetic functions add them ("add('12Ki', '13Ki')" is "25Ki").
//
// A value is unscaled × 10^-scale, exact, in bigint: parsing rounds away from zero to nanos as Kubernetes does, and
// huge exponents ("1e2000000000") stay as a scale, never as 2 billion digits; only arithmetic that would have to
// write such a number out refuses.
import { evaluationFailure } from './evaluation-failure.js';
import { formatGoFloat } from './go-float.js';
import { MAX_SCALAR_LENGTH } from './limits.js';

export type QuantityFormat = 'DecimalExponent' | 'BinarySI' | 'DecimalSI';

export interface Quantity {
  /** The value is unscaled × 10^-scale. */
  readonly unscaled: bigint;
  readonly scale: number;
  /** How the quantity prints: the kind of suffix it was written with. */
  readonly format: QuantityFormat;
  /**
   * The scale of Go's own representation (digits after the point for a quantity parsed on Kubernetes' int64 fast
   * path, 9 otherwise), which sets the precision of Kyverno's divide(quantity, number).
   */
  readonly goScale: number;
}

/** Scale of the nano unit: quantities are rounded to 10^-9. */
const NANO_SCALE = 9;
const INT64_MAX = (1n << 63n) - 1n;
/** Most digits arithmetic writes out when it aligns two quantities. */
const MAX_ALIGNMENT_DIGITS = 4096;

const DECIMAL_SUFFIXES: ReadonlyMap<string, number> = new Map([
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
]);
const BINARY_SUFFIXES: ReadonlyMap<string, number> = new Map([
  ['Ki', 10],
  ['Mi', 20],
  ['Gi', 30],
  ['Ti', 40],
  ['Pi', 50],
  ['Ei', 60],
]);
const DECIMAL_SUFFIX_BY_EXPONENT: ReadonlyMap<number, string> = new Map(
  [...DECIMAL_SUFFIXES].map(([suffix, exponent]) => [exponent, suffix]),
);
const BINARY_SUFFIX_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;
const SUFFIX_CHARACTERS = 'eEinumkKMGTP';

/** resource.ParseQuantity, or undefined where it returns an error. */
export function parseQuantity(text: string): Quantity | undefined {
  if (text.length === 0 || text.length > MAX_SCALAR_LENGTH) return undefined;
  if (text === '0') return { unscaled: 0n, scale: 0, format: 'DecimalSI', goScale: 0 };
  const scanned = scanQuantity(text);
  if (scanned === undefined) return undefined;
  const { positive, num, denom, suffix } = scanned;
  const interpreted = interpretSuffix(suffix);
  if (interpreted === undefined) return undefined;
  const { base, exponent } = interpreted;
  let format = interpreted.format;

  let unscaled = BigInt(num + denom);
  let scale = denom.length;
  if (base === 10) scale -= exponent;
  else unscaled *= 1n << BigInt(exponent);
  const goScale = fitsFastPath(num, denom, base, exponent, format) ? scale : unscaled === 0n ? scale : NANO_SCALE;

  // Round non-zero values up (away from zero) to whole nanos, as Kubernetes does.
  if (unscaled !== 0n && scale > NANO_SCALE) {
    unscaled = divideRoundingUp(unscaled, scale - NANO_SCALE);
    scale = NANO_SCALE;
  }
  if (format === 'BinarySI' && compareMagnitude({ unscaled, scale }, { unscaled: INT64_MAX, scale: 0 }) > 0) {
    unscaled = INT64_MAX;
    scale = 0;
  }
  if (
    format === 'BinarySI' &&
    unscaled !== 0n &&
    compareMagnitude({ unscaled, scale }, { unscaled: 1n, scale: 0 }) < 0
  ) {
    format = 'DecimalSI';
  }
  return { unscaled: positive ? unscaled : -unscaled, scale, format, goScale };
}

interface ScannedQuantity {
  readonly positive: boolean;
  readonly num: string;
  readonly denom: string;
  readonly suffix: string;
}

/** Kubernetes' parseQuantityString: sign, digits, optional point and digits, then a suffix. */
function scanQuantity(str: string): ScannedQuantity | undefined {
  const end = str.length;
  let positive = true;
  let pos = 0;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '' };
  let i = pos;
  while (i < end && isDigit(str, i)) i++;
  let num = str.slice(pos, i);
  pos = i;
  if (num === '') num = '0';
  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    let j = pos;
    while (j < end && isDigit(str, j)) j++;
    denom = str.slice(pos, j);
    pos = j;
  }
  const suffixStart = pos;
  while (pos < end && SUFFIX_CHARACTERS.includes(str[pos]!)) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < end && isDigit(str, pos)) pos++;
  if (pos < end) return undefined;
  return { positive, num, denom, suffix: str.slice(suffixStart) };
}

function interpretSuffix(
  suffix: string,
): { readonly base: 2 | 10; readonly exponent: number; readonly format: QuantityFormat } | undefined {
  const decimal = DECIMAL_SUFFIXES.get(suffix);
  if (decimal !== undefined) return { base: 10, exponent: decimal, format: 'DecimalSI' };
  const binary = BINARY_SUFFIXES.get(suffix);
  if (binary !== undefined) return { base: 2, exponent: binary, format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    const exponent = parseGoInt64(suffix.slice(1));
    // Go parses an int64 and keeps its low 32 bits.
    if (exponent !== undefined)
      return { base: 10, exponent: Number(BigInt.asIntN(32, exponent)), format: 'DecimalExponent' };
  }
  return undefined;
}

/** Whether Kubernetes would hold the parsed value in its int64 form, which keeps the written scale. */
function fitsFastPath(num: string, denom: string, base: 2 | 10, exponent: number, format: QuantityFormat): boolean {
  let precision: number;
  let scale: number;
  if (format === 'BinarySI') {
    if (exponent < 0 || denom.length > 0) return false;
    precision = 15 - num.length - Math.trunc((Math.fround(exponent) * 3) / 10) - 1;
    scale = 0;
  } else {
    precision = 18 - (num.length + denom.length);
    scale = exponent;
  }
  if (precision < 0 || scale - denom.length < -NANO_SCALE) return false;
  const value = BigInt(num + denom) * (base === 2 ? 1n << BigInt(exponent) : 1n);
  return value <= INT64_MAX;
}

/** |u| / 10^digits, rounded away from zero, with u's sign. */
function divideRoundingUp(u: bigint, digits: number): bigint {
  const negative = u < 0n;
  const magnitude = negative ? -u : u;
  const q = digits >= digitCount(magnitude) ? 1n : ceilDivide(magnitude, 10n ** BigInt(digits));
  return negative ? -q : q;
}

function ceilDivide(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function digitCount(magnitude: bigint): number {
  return magnitude === 0n ? 0 : magnitude.toString().length;
}

function abs(u: bigint): bigint {
  return u < 0n ? -u : u;
}

type Decimal = Pick<Quantity, 'unscaled' | 'scale'>;

/** Compares |a| and |b| without writing out a huge exponent. */
function compareMagnitude(a: Decimal, b: Decimal): number {
  const ma = abs(a.unscaled);
  const mb = abs(b.unscaled);
  if (ma === 0n || mb === 0n) return ma === mb ? 0 : ma === 0n ? -1 : 1;
  // The order of magnitude: the value lies in [10^(order-1), 10^order).
  const oa = digitCount(ma) - a.scale;
  const ob = digitCount(mb) - b.scale;
  if (oa !== ob) return oa > ob ? 1 : -1;
  // Same order, so the scales differ by at most the digit counts: aligning is cheap.
  const [x, y] = align(ma, a.scale, mb, b.scale);
  return x === y ? 0 : x > y ? 1 : -1;
}

function align(a: bigint, aScale: number, b: bigint, bScale: number): [bigint, bigint] {
  if (aScale === bScale) return [a, b];
  if (aScale > bScale) return [a, b * 10n ** BigInt(aScale - bScale)];
  return [a * 10n ** BigInt(bScale - aScale), b];
}

/** Quantity.Cmp: -1, 0 or 1. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const sa = sign(a.unscaled);
  const sb = sign(b.unscaled);
  if (sa !== sb) return sa < sb ? -1 : 1;
  return sa * compareMagnitude(a, b);
}

function sign(u: bigint): number {
  return u === 0n ? 0 : u < 0n ? -1 : 1;
}

function alignedForArithmetic(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  if (scale - Math.min(a.scale, b.scale) > MAX_ALIGNMENT_DIGITS) {
    throw evaluationFailure('the quantities differ too much in size to be added or subtracted');
  }
  const [x, y] = align(a.unscaled, a.scale, b.unscaled, b.scale);
  return [x, y, scale];
}

/** Quantity.Add: the sum keeps the first quantity's format, or takes the second's when the first is zero. */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  const [x, y, scale] = alignedForArithmetic(a, b);
  const format = a.unscaled === 0n ? b.format : a.format;
  return { unscaled: x + y, scale, format, goScale: scale };
}

/** Quantity.Sub, with Add's rule for the format. */
export function subtractQuantities(a: Quantity, b: Quantity): Quantity {
  const [x, y, scale] = alignedForArithmetic(a, b);
  const format = a.unscaled === 0n ? b.format : a.format;
  return { unscaled: x - y, scale, format, goScale: scale };
}

/**
 * Kyverno's quantity × number: the number is printed with %v and parsed as a quantity, then multiplied exactly
 * (no rounding to nanos), keeping the quantity's format.
 */
export function multiplyQuantity(q: Quantity, factor: number): Quantity {
  const f = parseQuantity(formatGoFloat(factor));
  if (f === undefined) throw evaluationFailure(`cannot multiply a quantity by ${formatGoFloat(factor)}`);
  const scale = q.scale + f.scale;
  if (Math.abs(scale) > MAX_ALIGNMENT_DIGITS * 4) throw evaluationFailure('the product is too large a quantity');
  return { unscaled: q.unscaled * f.unscaled, scale, format: q.format, goScale: scale };
}

/**
 * Kyverno's quantity ÷ number: the quotient truncated toward zero at the larger of the two operands' Go scales
 * (so divide('10', `3`) is "3" but divide('10.0', `3`) is "3300m"), keeping the quantity's format.
 */
export function divideQuantity(q: Quantity, divisor: number): Quantity {
  const d = parseQuantity(formatGoFloat(divisor));
  if (d === undefined) throw evaluationFailure(`cannot divide a quantity by ${formatGoFloat(divisor)}`);
  const scale = Math.max(q.goScale, d.goScale);
  // q / d at `scale` digits: (q.u × 10^-q.scale) / (d.u × 10^-d.scale) × 10^scale.
  const shift = scale - q.scale + d.scale;
  if (Math.abs(shift) > MAX_ALIGNMENT_DIGITS) throw evaluationFailure('the quotient is too large a quantity');
  const numerator = shift >= 0 ? q.unscaled * 10n ** BigInt(shift) : q.unscaled;
  const denominator = shift >= 0 ? d.unscaled : d.unscaled * 10n ** BigInt(-shift);
  return { unscaled: numerator / denominator, scale, format: q.format, goScale: scale };
}

/** resource.NewQuantity(n, format). */
export function integerQuantity(n: bigint, format: QuantityFormat): Quantity {
  return { unscaled: n, scale: 0, format, goScale: 0 };
}

/** Quantity.AsApproximateFloat64: the unscaled value as a float64 times 10^-scale. */
export function approximateQuantity(q: Quantity): number {
  const base = Number(q.unscaled);
  if (q.scale === 0) return base;
  return base * Number(`1e${-q.scale}`);
}

/** Quantity.String: the canonical form ("1536Mi", "1500m", "2k", "1e3"). */
export function formatQuantity(q: Quantity): string {
  if (q.unscaled === 0n) return '0';
  if (-q.scale > MAX_ALIGNMENT_DIGITS * 4) throw evaluationFailure('the quantity is too large to print');
  let format = q.format;
  if (format === 'BinarySI') {
    // Between -1024 and 1024, or with a fraction, a binary quantity prints in decimal so that nothing is rounded.
    if (compareMagnitude(q, { unscaled: 1024n, scale: 0 }) < 0 || !isInteger(q)) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    let n = q.scale <= 0 ? q.unscaled * 10n ** BigInt(-q.scale) : q.unscaled / 10n ** BigInt(q.scale);
    let power = 0;
    while (n % 1024n === 0n && power < BINARY_SUFFIX_BY_POWER.length - 1) {
      n /= 1024n;
      power++;
    }
    return `${n}${BINARY_SUFFIX_BY_POWER[power]}`;
  }
  let mantissa = q.unscaled;
  let exponent = -q.scale;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  while (exponent % 3 !== 0) {
    mantissa *= 10n;
    exponent--;
  }
  if (format === 'DecimalExponent') return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
  // Kubernetes has no decimal suffix past E or below n; such values print with an exponent instead.
  const suffix = DECIMAL_SUFFIX_BY_EXPONENT.get(exponent);
  return suffix === undefined ? `${mantissa}e${exponent}` : `${mantissa}${suffix}`;
}

function isInteger(q: Decimal): boolean {
  return q.scale <= 0 || q.unscaled % 10n ** BigInt(q.scale) === 0n;
}

/** strconv.ParseInt(s, 10, 64). */
export function parseGoInt64(s: string): bigint | undefined {
  if (s.length === 0 || s.length > 25) return undefined;
  let i = 0;
  if (s[0] === '+' || s[0] === '-') i = 1;
  if (i === s.length) return undefined;
  for (let j = i; j < s.length; j++) if (!isDigit(s, j)) return undefined;
  const n = BigInt(s);
  return n > INT64_MAX || n < -(1n << 63n) ? undefined : n;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}
