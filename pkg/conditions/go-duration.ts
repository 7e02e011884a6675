// Go's time.Duration, as Kyverno's operators and functions read and print it: ParseDuration ("1h30m", "1.5s",
// "300ms", "-2h", and "0" alone without a unit) and Duration.String ("1h30m0s", "1.5s", "300ms"). Durations are int64
// nanoseconds, kept as bigint so that values past 2^53 ns (about 104 days) stay exact.
import { MAX_SCALAR_LENGTH } from './limits.js';

export const NANOSECOND = 1n;
export const SECOND = 1_000_000_000n;
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_LIMIT = 1n << 63n;

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n], // U+00B5 micro sign
  ['μs', 1_000n], // U+03BC Greek mu
  ['ms', 1_000_000n],
  ['s', SECOND],
  ['m', 60n * SECOND],
  ['h', 3600n * SECOND],
]);

export type DurationParse =
  { readonly ok: true; readonly nanos: bigint } | { readonly ok: false; readonly message: string };

/** time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+, with Go's overflow rules. */
export function parseGoDuration(text: string): DurationParse {
  const invalid = (): DurationParse => ({ ok: false, message: `time: invalid duration ${goQuote(text)}` });
  if (text.length > MAX_SCALAR_LENGTH) return invalid();
  let s = text;
  let negative = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, nanos: 0n };
  if (s === '') return invalid();
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s, 0))) return invalid();
    // Whole part: digits, with overflow past 2^63 an error.
    let i = 0;
    let whole = 0n;
    while (isDigit(s, i)) {
      whole = whole * 10n + BigInt(s.charCodeAt(i) - 48);
      if (whole > UINT64_LIMIT) return invalid();
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // Fraction: digits kept while they fit, as Go's leadingFraction does; the rest only checked.
    let fraction = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s, j)) {
        if (!overflow) {
          const next = fraction * 10n + BigInt(s.charCodeAt(j) - 48);
          if (next > INT64_MAX) overflow = true;
          else {
            fraction = next;
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) return invalid();
    let u = 0;
    while (u < s.length && !(s[u] === '.' || isDigit(s, u))) u++;
    if (u === 0) return { ok: false, message: `time: missing unit in duration ${goQuote(text)}` };
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = UNITS.get(unitName);
    if (unit === undefined) {
      return { ok: false, message: `time: unknown unit ${goQuote(unitName)} in duration ${goQuote(text)}` };
    }
    if (whole > UINT64_LIMIT / unit) return invalid();
    let v = whole * unit;
    if (fraction > 0n) {
      // float64 arithmetic, as Go does, so that fractions of hours round the same way.
      v += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
      if (v > UINT64_LIMIT) return invalid();
    }
    total += v;
    if (total > UINT64_LIMIT) return invalid();
  }
  if (negative) return { ok: true, nanos: -total };
  if (total > INT64_MAX) return invalid();
  return { ok: true, nanos: total };
}

/** Duration.String: "72h3m0.5s", "1.5ms", "0s". */
export function formatGoDuration(nanos: bigint): string {
  const negative = nanos < 0n;
  let u = negative ? -nanos : nanos;
  let out: string;
  if (u < SECOND) {
    if (u === 0n) return '0s';
    if (u < 1_000n) out = `${u}ns`;
    else if (u < 1_000_000n) out = `${formatFraction(u, 3)}µs`;
    else out = `${formatFraction(u, 6)}ms`;
  } else {
    const seconds = formatFraction(u % (60n * SECOND), 9);
    u /= 60n * SECOND;
    out = `${seconds}s`;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return negative ? `-${out}` : out;
}

/** v / 10^precision with the fraction's trailing zeros (and a bare point) left out, as Go's fmtFrac and fmtInt. */
function formatFraction(v: bigint, precision: number): string {
  const divisor = 10n ** BigInt(precision);
  const whole = v / divisor;
  const fraction = trimTrailingZeros((v % divisor).toString().padStart(precision, '0'));
  return fraction === '' ? `${whole}` : `${whole}.${fraction}`;
}

/** Duration.Seconds(): whole seconds and the nanosecond rest added as float64, as Go computes it. */
export function durationSeconds(nanos: bigint): number {
  return Number(nanos / SECOND) + Number(nanos % SECOND) / 1e9;
}

/**
 * time.Duration(x) * time.Second for a JSON number x: Go converts the float to int64 first, which drops the
 * fraction (1.5 becomes 1s), and the product wraps around as int64 arithmetic does.
 */
export function secondsToDuration(seconds: number): bigint {
  const whole = Number.isFinite(seconds) && Math.abs(seconds) < 2 ** 63 ? BigInt(Math.trunc(seconds)) : -(1n << 63n);
  return BigInt.asIntN(64, whole * SECOND);
}

/** time.Duration(f) for a float64 number of nanoseconds: truncated, and out-of-range values as amd64 converts them. */
export function floatToDuration(nanos: number): bigint {
  if (!Number.isFinite(nanos) || Math.abs(nanos) >= 2 ** 63) return -(1n << 63n);
  return BigInt(Math.trunc(nanos));
}

function trimTrailingZeros(digits: string): string {
  let end = digits.length;
  while (end > 0 && digits[end - 1] === '0') end--;
  return digits.slice(0, end);
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/** Go's strconv.Quote, near enough for messages: the text in double quotes with quotes and backslashes escaped. */
export function goQuote(text: string): string {
  return JSON.stringify(text);
}
