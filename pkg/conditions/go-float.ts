// Go's float64 text, both ways, as Kyverno's operators see numbers inside strings and print numbers into strings:
// strconv.ParseFloat (decimal, hexadecimal with a p exponent, "inf", "infinity", "nan"; an overflow is an error),
// fmt's %v (shortest digits, in exponent form below 1e-4 and from 1e6 on: 1e+06), and
// strconv.FormatFloat(x, 'f', -1, 32), the float32 form Kyverno's regex_match and friends turn numbers into.
// Scanners, not regular expressions: the text is often attacker data.
import { MAX_SCALAR_LENGTH } from './limits.js';

/** strconv.ParseFloat(text, 64), or undefined where Go returns an error. */
export function parseGoFloat(text: string): number | undefined {
  if (text.length === 0 || text.length > MAX_SCALAR_LENGTH) return undefined;
  const special = parseSpecial(text);
  if (special !== undefined) return special;
  let i = 0;
  let sign = '';
  if (text[0] === '+' || text[0] === '-') {
    sign = text[0] === '-' ? '-' : '';
    i = 1;
  }
  const hex = text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && i + 2 < text.length;
  if (hex) return parseHexFloat(text, i + 2, sign === '-');
  // Decimal: digits, an optional point and digits, an optional exponent; at least one mantissa digit.
  let digits = '';
  let sawDigit = false;
  let sawPoint = false;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c >= '0' && c <= '9') {
      digits += c;
      sawDigit = true;
    } else if (c === '_') {
      continue;
    } else if (c === '.' && !sawPoint) {
      digits += c;
      sawPoint = true;
    } else break;
  }
  if (!sawDigit) return undefined;
  let exponent = '';
  if (i < text.length && (text[i] === 'e' || text[i] === 'E')) {
    i++;
    let expSign = '';
    if (text[i] === '+' || text[i] === '-') expSign = text[i++]!;
    let expDigits = '';
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (c >= '0' && c <= '9') expDigits += c;
      else if (c !== '_') break;
    }
    if (expDigits === '') return undefined;
    exponent = `e${expSign}${expDigits}`;
  }
  if (i !== text.length || !underscoresOk(text)) return undefined;
  const value = Number(`${sign}${digits}${exponent}`);
  // Go reports an overflow (more than half an ULP past the largest float64) as an error, not as infinity.
  return Number.isFinite(value) ? value : undefined;
}

/** "inf", "+Inf", "-infinity", "NaN" (case-insensitive, nothing after). */
function parseSpecial(text: string): number | undefined {
  const lower = text.toLowerCase();
  let rest = lower;
  let sign = 1;
  if (rest[0] === '+' || rest[0] === '-') {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  } else if (rest === 'nan') {
    return Number.NaN;
  }
  return rest === 'inf' || rest === 'infinity' ? sign * Number.POSITIVE_INFINITY : undefined;
}

/** 0x1.8p3: hexadecimal digits with an optional point, and a binary exponent that Go requires. */
function parseHexFloat(text: string, start: number, negative: boolean): number | undefined {
  let mantissa = 0n;
  let fractionDigits = 0;
  let sawDigit = false;
  let sawPoint = false;
  let i = start;
  for (; i < text.length; i++) {
    const c = text[i]!;
    const d = hexDigit(c);
    if (d >= 0) {
      if (mantissa < 1n << 80n) {
        mantissa = mantissa * 16n + BigInt(d);
        if (sawPoint) fractionDigits++;
      } else if (!sawPoint) {
        fractionDigits--;
      }
      sawDigit = true;
    } else if (c === '.' && !sawPoint) sawPoint = true;
    else if (c !== '_') break;
  }
  if (!sawDigit || (text[i] !== 'p' && text[i] !== 'P')) return undefined;
  i++;
  let expSign = 1;
  if (text[i] === '+' || text[i] === '-') expSign = text[i++] === '-' ? -1 : 1;
  let exp = 0;
  let sawExp = false;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c >= '0' && c <= '9') {
      exp = Math.min(exp * 10 + (c.charCodeAt(0) - 48), 100_000);
      sawExp = true;
    } else if (c !== '_') break;
  }
  if (!sawExp || i !== text.length || !underscoresOk(text)) return undefined;
  const value = Number(mantissa) * 2 ** (expSign * exp - 4 * fractionDigits);
  if (!Number.isFinite(value)) return undefined;
  return negative ? -value : value;
}

function hexDigit(c: string): number {
  if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
  const l = c.toLowerCase();
  if (l >= 'a' && l <= 'f') return l.charCodeAt(0) - 87;
  return -1;
}

/** Go's underscoreOK: an underscore only between digits, or between a base prefix and a digit. */
function underscoresOk(text: string): boolean {
  if (!text.includes('_')) return true;
  let s = text;
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let saw: '^' | '0' | '_' | '!' = '^';
  let i = 0;
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1]!)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && hexDigit(c) >= 0)) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** Shortest decimal digits of x (no sign) and the position of the point: x = 0.DIGITS × 10^point. */
function shortestDigits(x: number): { digits: string; point: number } {
  // toExponential() without an argument gives the shortest digits that read back as x, as Go's shortest form does.
  const [mantissa, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  return { digits, point: Number(exp) + 1 };
}

/**
 * fmt.Sprint(float64): %v is %g with the shortest digits, and strconv then uses the exponent form when the decimal
 * exponent is below -4 or at least 6 (a constant for the shortest precision), so 1000000 prints as "1e+06".
 */
export function formatGoFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const { digits, point } = shortestDigits(x);
  const exp = point - 1;
  if (exp < -4 || exp >= 6) return sign + exponentForm(digits, exp);
  return sign + fixedForm(digits, point);
}

/** strconv.FormatFloat(x, 'f', -1, 32): x rounded to float32, then its shortest float32 digits, never an exponent. */
export function formatGoFloat32Fixed(x: number): string {
  const f = Math.fround(x);
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // The fewest significant digits that read back as the same float32.
  let text = '';
  for (let precision = 1; precision <= 9; precision++) {
    text = Math.abs(f).toPrecision(precision);
    if (Math.fround(Number(text)) === Math.abs(f)) break;
  }
  const [mantissa, expPart] = Number(text).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  return (f < 0 ? '-' : '') + fixedForm(digits, Number(expPart) + 1);
}

function exponentForm(digits: string, exp: number): string {
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const magnitude = Math.abs(exp);
  return `${mantissa}e${exp < 0 ? '-' : '+'}${magnitude < 10 ? '0' : ''}${magnitude}`;
}

function fixedForm(digits: string, point: number): string {
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}
