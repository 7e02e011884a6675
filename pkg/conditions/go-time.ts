// Go's time.Time as Kyverno's time functions use it: time.Parse with a reference-time layout
// ("2006-01-02T15:04:05Z07:00", "Mon Jan _2 15:04:05 MST 2006", ...), Format(time.RFC3339), and the arithmetic
// between instants (Sub, Add, Before, After, Truncate). An instant keeps the UTC offset it was written with, as Go's
// fixed zones do, so time_add('...-07:00', '3h') still prints -07:00. Zone abbreviations other than UTC are taken as
// offset 0 (GMT+3 as +3h): Go does that for every abbreviation its local zone does not know, and the webhook, like
// Kyverno's pods, runs in UTC.
import { goQuote } from './go-duration.js';
import { MAX_SCALAR_LENGTH } from './limits.js';

export interface GoTime {
  /** Whole seconds since 1970-01-01T00:00:00Z. */
  readonly seconds: number;
  /** Nanoseconds within the second, 0 to 999999999. */
  readonly nanos: number;
  /** The zone's offset east of UTC, in seconds. */
  readonly offset: number;
}

export const RFC3339_LAYOUT = '2006-01-02T15:04:05Z07:00';

const NANOS_PER_SECOND = 1_000_000_000n;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
/** Seconds from 0001-01-01 to 1970-01-01, where Go's Truncate counts from. */
const SECONDS_FROM_YEAR_ONE = 62_135_596_800n;

const LONG_MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const SHORT_MONTHS = LONG_MONTHS.map((m) => m.slice(0, 3));
const SHORT_DAYS = LONG_DAYS.map((d) => d.slice(0, 3));

/** The numeric zone chunks of a layout: "-0700", "-07:00", "-07", with seconds, and their "Z" forms. */
type NumericZoneChunk =
  '-070000' | '-07:00:00' | '-0700' | '-07:00' | '-07' | 'Z070000' | 'Z07:00:00' | 'Z0700' | 'Z07:00' | 'Z07';

type Chunk =
  | 'January'
  | 'Jan'
  | 'Monday'
  | 'Mon'
  | 'MST'
  | '01'
  | '02'
  | '03'
  | '04'
  | '05'
  | '06'
  | '002'
  | '__2'
  | '15'
  | '1'
  | '2006'
  | '2'
  | '_2'
  | '3'
  | '4'
  | '5'
  | 'PM'
  | 'pm'
  | 'frac0'
  | 'frac9'
  | NumericZoneChunk;

interface NextChunk {
  readonly prefix: string;
  readonly chunk?: Chunk;
  /** For fractional seconds: how many digits the layout writes. */
  readonly digits?: number;
  readonly text: string;
  readonly suffix: string;
}

/** Go's nextStdChunk: the literal text before the first layout element, the element, and the rest. */
function nextChunk(layout: string): NextChunk {
  const at = (i: number, chunk: Chunk, length: number, start = i): NextChunk => ({
    prefix: layout.slice(0, start),
    chunk,
    text: layout.slice(start, i + length),
    suffix: layout.slice(i + length),
  });
  const has = (i: number, s: string) => layout.startsWith(s, i);
  for (let i = 0; i < layout.length; i++) {
    switch (layout[i]) {
      case 'J':
        if (has(i, 'Jan')) {
          if (has(i, 'January')) return at(i, 'January', 7);
          if (!startsWithLowerCase(layout.slice(i + 3))) return at(i, 'Jan', 3);
        }
        break;
      case 'M':
        if (has(i, 'Mon')) {
          if (has(i, 'Monday')) return at(i, 'Monday', 6);
          if (!startsWithLowerCase(layout.slice(i + 3))) return at(i, 'Mon', 3);
        }
        if (has(i, 'MST')) return at(i, 'MST', 3);
        break;
      case '0': {
        const next = layout[i + 1];
        if (next !== undefined && next >= '1' && next <= '6') return at(i, `0${next}` as Chunk, 2);
        if (has(i, '002')) return at(i, '002', 3);
        break;
      }
      case '1':
        if (has(i, '15')) return at(i, '15', 2);
        return at(i, '1', 1);
      case '2':
        if (has(i, '2006')) return at(i, '2006', 4);
        return at(i, '2', 1);
      case '_':
        if (layout[i + 1] === '2') {
          // "_2006" is a literal underscore and a four-digit year.
          if (has(i + 1, '2006')) return { ...at(i + 1, '2006', 4), prefix: layout.slice(0, i + 1) };
          return at(i, '_2', 2);
        }
        if (has(i, '__2')) return at(i, '__2', 3);
        break;
      case '3':
        return at(i, '3', 1);
      case '4':
        return at(i, '4', 1);
      case '5':
        return at(i, '5', 1);
      case 'P':
        if (layout[i + 1] === 'M') return at(i, 'PM', 2);
        break;
      case 'p':
        if (layout[i + 1] === 'm') return at(i, 'pm', 2);
        break;
      case '-':
        for (const zone of ['-070000', '-07:00:00', '-0700', '-07:00', '-07'] as const) {
          if (has(i, zone)) return at(i, zone, zone.length);
        }
        break;
      case 'Z':
        for (const zone of ['Z070000', 'Z07:00:00', 'Z0700', 'Z07:00', 'Z07'] as const) {
          if (has(i, zone)) return at(i, zone, zone.length);
        }
        break;
      case '.':
      case ',': {
        const ch = layout[i + 1];
        if (ch === '0' || ch === '9') {
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          if (!isDigit(layout, j)) {
            return { ...at(i, ch === '0' ? 'frac0' : 'frac9', j - i), digits: j - i - 1 };
          }
        }
        break;
      }
    }
  }
  return { prefix: layout, text: '', suffix: '' };
}

function startsWithLowerCase(s: string): boolean {
  const c = s[0];
  return c !== undefined && c >= 'a' && c <= 'z';
}

export type TimeParse = { readonly ok: true; readonly time: GoTime } | { readonly ok: false; readonly message: string };

/** time.Parse(layout, value), with UTC as the default location. */
export function parseGoTime(layout: string, value: string): TimeParse {
  const fail = (message: string): TimeParse => ({ ok: false, message });
  if (value.length > MAX_SCALAR_LENGTH || layout.length > MAX_SCALAR_LENGTH) {
    return fail('parsing time: the layout or the value is too long');
  }
  const badElement = (element: string, rest: string) =>
    fail(`parsing time ${goQuote(value)} as ${goQuote(layout)}: cannot parse ${goQuote(rest)} as ${goQuote(element)}`);
  const outOfRange = (what: string) => fail(`parsing time ${goQuote(value)}: ${what} out of range`);

  let rest = value;
  let remaining = layout;
  let year = 0;
  let month = -1;
  let day = -1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let pm = false;
  let am = false;
  let utc = false;
  let zoneOffset: number | undefined;
  let zoneName: string | undefined;

  for (;;) {
    const { prefix, chunk, digits, text, suffix } = nextChunk(remaining);
    const skipped = skipLiteral(rest, prefix);
    if (skipped === undefined) return badElement(prefix, rest);
    rest = skipped;
    if (chunk === undefined) {
      if (rest.length !== 0) return fail(`parsing time ${goQuote(value)}: extra text: ${goQuote(rest)}`);
      break;
    }
    remaining = suffix;
    const before = rest;
    let ok = true;
    let range: string | undefined;
    switch (chunk) {
      case '2006': {
        if (rest.length < 4 || !isDigit(rest, 0)) ok = false;
        else {
          const n = atoi(rest.slice(0, 4));
          if (n === undefined) ok = false;
          else {
            year = n;
            rest = rest.slice(4);
          }
        }
        break;
      }
      case '06': {
        const n = rest.length < 2 ? undefined : atoi(rest.slice(0, 2));
        if (n === undefined) ok = false;
        else {
          year = n >= 69 ? n + 1900 : n + 2000;
          rest = rest.slice(2);
        }
        break;
      }
      case 'January':
      case 'Jan': {
        const found = lookupName(rest, chunk === 'January' ? LONG_MONTHS : SHORT_MONTHS);
        if (found === undefined) ok = false;
        else {
          month = found.index + 1;
          rest = found.rest;
        }
        break;
      }
      case 'Monday':
      case 'Mon': {
        // The weekday is read and ignored, as Go does.
        const found = lookupName(rest, chunk === 'Monday' ? LONG_DAYS : SHORT_DAYS);
        if (found === undefined) ok = false;
        else rest = found.rest;
        break;
      }
      case '01':
      case '1': {
        const n = getNumber(rest, chunk === '01');
        if (n === undefined) ok = false;
        else {
          month = n.value;
          rest = n.rest;
          if (month <= 0 || month > 12) range = 'month';
        }
        break;
      }
      case '02':
      case '2':
      case '_2': {
        if (chunk === '_2' && rest[0] === ' ') rest = rest.slice(1);
        const n = getNumber(rest, chunk === '02');
        if (n === undefined) ok = false;
        else {
          day = n.value;
          rest = n.rest;
        }
        break;
      }
      case '002':
      case '__2':
        return fail(
          `parsing time ${goQuote(value)} as ${goQuote(layout)}: the day of the year (${text}) is not supported`,
        );
      case '15': {
        const n = getNumber(rest, false);
        if (n === undefined) ok = false;
        else {
          hour = n.value;
          rest = n.rest;
          if (hour < 0 || hour > 23) range = 'hour';
        }
        break;
      }
      case '03':
      case '3': {
        const n = getNumber(rest, chunk === '03');
        if (n === undefined) ok = false;
        else {
          hour = n.value;
          rest = n.rest;
          if (hour < 0 || hour > 12) range = 'hour';
        }
        break;
      }
      case '04':
      case '4': {
        const n = getNumber(rest, chunk === '04');
        if (n === undefined) ok = false;
        else {
          minute = n.value;
          rest = n.rest;
          if (minute < 0 || minute > 59) range = 'minute';
        }
        break;
      }
      case '05':
      case '5': {
        const n = getNumber(rest, chunk === '05');
        if (n === undefined) {
          ok = false;
          break;
        }
        second = n.value;
        rest = n.rest;
        if (second < 0 || second > 59) {
          range = 'second';
          break;
        }
        // A fractional second the layout does not mention is read all the same.
        if (rest.length >= 2 && (rest[0] === '.' || rest[0] === ',') && isDigit(rest, 1)) {
          const following = nextChunk(remaining).chunk;
          if (following === 'frac0' || following === 'frac9') break;
          let end = 2;
          while (end < rest.length && isDigit(rest, end)) end++;
          nanos = parseNanos(rest, end);
          rest = rest.slice(end);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const p = rest.slice(0, 2);
        const [pmText, amText] = chunk === 'PM' ? ['PM', 'AM'] : ['pm', 'am'];
        if (rest.length < 2 || (p !== pmText && p !== amText)) ok = false;
        else {
          pm = p === pmText;
          am = p === amText;
          rest = rest.slice(2);
        }
        break;
      }
      case 'MST': {
        if (rest.startsWith('UTC')) {
          utc = true;
          rest = rest.slice(3);
          break;
        }
        const length = zoneAbbreviationLength(rest);
        if (length === 0) ok = false;
        else {
          zoneName = rest.slice(0, length);
          rest = rest.slice(length);
        }
        break;
      }
      case 'frac0': {
        const width = 1 + digits!;
        if (rest.length < width || (rest[0] !== '.' && rest[0] !== ',')) ok = false;
        else {
          for (let i = 1; i < width; i++) if (!isDigit(rest, i)) ok = false;
          if (ok) {
            nanos = parseNanos(rest, width);
            rest = rest.slice(width);
          }
        }
        break;
      }
      case 'frac9': {
        if (rest.length < 2 || (rest[0] !== '.' && rest[0] !== ',') || !isDigit(rest, 1)) break;
        let end = 1;
        while (end < rest.length && isDigit(rest, end)) end++;
        nanos = parseNanos(rest, end);
        rest = rest.slice(end);
        break;
      }
      default: {
        const zone = parseNumericZone(chunk, rest);
        if (zone === undefined) ok = false;
        else if (zone === 'Z') {
          utc = true;
          rest = rest.slice(1);
        } else {
          if (zone.range !== undefined) range = zone.range;
          zoneOffset = zone.offset;
          rest = zone.rest;
        }
      }
    }
    if (range !== undefined) return outOfRange(range);
    if (!ok) return badElement(text, before);
  }

  if (pm && hour < 12) hour += 12;
  else if (am && hour === 12) hour = 0;
  if (month < 0) month = 1;
  if (day < 0) day = 1;
  if (day < 1 || day > daysIn(month, year)) return fail(`parsing time ${goQuote(value)}: day out of range`);

  const local = daysFromCivil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
  let offset = 0;
  if (!utc && zoneOffset !== undefined) offset = zoneOffset;
  else if (!utc && zoneName !== undefined && zoneName.startsWith('GMT') && zoneName.length > 3) {
    offset = Number(zoneName.slice(3)) * 3_600;
  }
  return { ok: true, time: { seconds: local - offset, nanos, offset } };
}

/** Go's skip: a literal must match, except that a space in the layout matches any run of spaces. */
function skipLiteral(value: string, prefix: string): string | undefined {
  let v = value;
  let p = prefix;
  while (p.length > 0) {
    if (p[0] === ' ') {
      if (v.length > 0 && v[0] !== ' ') return undefined;
      p = trimLeadingSpaces(p);
      v = trimLeadingSpaces(v);
      continue;
    }
    if (v.length === 0 || v[0] !== p[0]) return undefined;
    p = p.slice(1);
    v = v.slice(1);
  }
  return v;
}

function trimLeadingSpaces(s: string): string {
  let i = 0;
  while (s[i] === ' ') i++;
  return s.slice(i);
}

/** Go's getnum: one or two digits; with `fixed`, exactly two. */
function getNumber(s: string, fixed: boolean): { value: number; rest: string } | undefined {
  if (!isDigit(s, 0)) return undefined;
  if (!isDigit(s, 1)) return fixed ? undefined : { value: s.charCodeAt(0) - 48, rest: s.slice(1) };
  return { value: (s.charCodeAt(0) - 48) * 10 + (s.charCodeAt(1) - 48), rest: s.slice(2) };
}

/** Go's atoi: an optional sign and digits, all of them. */
function atoi(s: string): number | undefined {
  let i = 0;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    i = 1;
  }
  if (i >= s.length) return undefined;
  let n = 0;
  for (; i < s.length; i++) {
    if (!isDigit(s, i)) return undefined;
    n = n * 10 + (s.charCodeAt(i) - 48);
  }
  return negative ? -n : n;
}

/** A month or day name, matched without regard to ASCII case. */
function lookupName(value: string, names: readonly string[]): { index: number; rest: string } | undefined {
  for (let index = 0; index < names.length; index++) {
    const name = names[index]!;
    if (value.length >= name.length && value.slice(0, name.length).toLowerCase() === name.toLowerCase()) {
      return { index, rest: value.slice(name.length) };
    }
  }
  return undefined;
}

/** Digits after a point or comma, as nanoseconds (only the first nine count). */
function parseNanos(value: string, end: number): number {
  const digits = value.slice(1, Math.min(end, 10));
  return Number(digits.padEnd(9, '0'));
}

/** Go's parseTimeZone, for the abbreviations it recognises ("MST", "CEST", "ChST", "GMT+3"). */
function zoneAbbreviationLength(value: string): number {
  if (value.length < 3) return 0;
  if (value.startsWith('ChST') || value.startsWith('MeST')) return 4;
  if (value.startsWith('GMT')) return 3 + signedHoursLength(value.slice(3));
  if (value[0] === '+' || value[0] === '-') return signedHoursLength(value);
  let upper = 0;
  while (upper < 6 && upper < value.length && value[upper]! >= 'A' && value[upper]! <= 'Z') upper++;
  if (upper === 5) return value[4] === 'T' ? 5 : 0;
  if (upper === 4) return value[3] === 'T' || value.startsWith('WITA') ? 4 : 0;
  return upper === 3 ? 3 : 0;
}

/** A sign and an hour offset of at most 12 (Go's parseSignedOffset), or 0. */
function signedHoursLength(value: string): number {
  if (value[0] !== '+' && value[0] !== '-') return 0;
  let end = 1;
  while (isDigit(value, end)) end++;
  if (end === 1) return 0;
  const hours = Number(value.slice(1, end));
  return hours <= 12 ? end : 0;
}
/** Numeric zones: "-0700", "-07:00", "-07", with seconds, or "Z" for the ISO 8601 forms. */
function parseNumericZone(
  chunk: NumericZoneChunk,
  value: string,
): 'Z' | { offset: number; rest: string; range?: string } | undefined {
  if (chunk.startsWith('Z') && value[0] === 'Z') return 'Z';
  const colon = chunk.endsWith('07:00') || chunk.endsWith('07:00:00');
  const withSeconds = chunk.endsWith('0000') || chunk.endsWith(':00:00');
  const short = chunk.endsWith('07');
  let hh: string;
  let mm = '00';
  let ss = '00';
  let rest: string;
  if (colon && !withSeconds) {
    if (value.length < 6 || value[3] !== ':') return undefined;
    [hh, mm, rest] = [value.slice(1, 3), value.slice(4, 6), value.slice(6)];
  } else if (short) {
    if (value.length < 3) return undefined;
    [hh, rest] = [value.slice(1, 3), value.slice(3)];
  } else if (colon && withSeconds) {
    if (value.length < 9 || value[3] !== ':' || value[6] !== ':') return undefined;
    [hh, mm, ss, rest] = [value.slice(1, 3), value.slice(4, 6), value.slice(7, 9), value.slice(9)];
  } else if (withSeconds) {
    if (value.length < 7) return undefined;
    [hh, mm, ss, rest] = [value.slice(1, 3), value.slice(3, 5), value.slice(5, 7), value.slice(7)];
  } else {
    if (value.length < 5) return undefined;
    [hh, mm, rest] = [value.slice(1, 3), value.slice(3, 5), value.slice(5)];
  }
  const h = getNumber(hh, true);
  const m = getNumber(mm, true);
  const s = getNumber(ss, true);
  if (h === undefined || m === undefined || s === undefined) return undefined;
  if (value[0] !== '+' && value[0] !== '-') return undefined;
  // Go accepts offsets of 24 hours or 60 minutes, which some people write.
  const range =
    h.value > 24
      ? 'time zone offset hour'
      : m.value > 60
        ? 'time zone offset minute'
        : s.value > 60
          ? 'time zone offset second'
          : undefined;
  const magnitude = (h.value * 60 + m.value) * 60 + s.value;
  return { offset: value[0] === '-' ? -magnitude : magnitude, rest, ...(range === undefined ? {} : { range }) };
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days from 1970-01-01 to the given proleptic Gregorian date (year 0 exists, as in Go). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** The wall clock in the instant's own zone. */
export function wallClock(t: GoTime): {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
} {
  const local = t.seconds + t.offset;
  const days = Math.floor(local / 86_400);
  const inDay = local - days * 86_400;
  return {
    ...civilFromDays(days),
    hour: Math.floor(inDay / 3_600),
    minute: Math.floor((inDay % 3_600) / 60),
    second: inDay % 60,
    // 1970-01-01 was a Thursday; Go counts weekdays from Sunday.
    weekday: (((days + 4) % 7) + 7) % 7,
  };
}

/** Format(time.RFC3339): "2006-01-02T15:04:05Z" or with "+07:00"; fractions of a second are left out. */
export function formatRfc3339(t: GoTime): string {
  const w = wallClock(t);
  const year = w.year < 0 ? `-${pad(-w.year, 4)}` : pad(w.year, 4);
  const date = `${year}-${pad(w.month, 2)}-${pad(w.day, 2)}T${pad(w.hour, 2)}:${pad(w.minute, 2)}:${pad(w.second, 2)}`;
  if (t.offset === 0) return `${date}Z`;
  const minutes = Math.trunc(t.offset / 60);
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${date}${sign}${pad(Math.trunc(m / 60), 2)}:${pad(m % 60, 2)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function toUtc(t: GoTime): GoTime {
  return { ...t, offset: 0 };
}

/** The instant for a Unix time in milliseconds (what the caller's clock gives), in UTC. */
export function fromUnixMillis(millis: number): GoTime {
  const seconds = Math.floor(millis / 1000);
  return { seconds, nanos: Math.round((millis - seconds * 1000) * 1e6), offset: 0 };
}

export function fromUnixSeconds(seconds: number): GoTime {
  return { seconds, nanos: 0, offset: 0 };
}

function totalNanos(t: GoTime): bigint {
  return BigInt(t.seconds) * NANOS_PER_SECOND + BigInt(t.nanos);
}

/** t.Sub(u), saturated to the int64 range as Go does. */
export function subtractTimes(t: GoTime, u: GoTime): bigint {
  const d = totalNanos(t) - totalNanos(u);
  return d > INT64_MAX ? INT64_MAX : d < INT64_MIN ? INT64_MIN : d;
}

/** t.Add(d), keeping t's zone. */
export function addDuration(t: GoTime, d: bigint): GoTime {
  const total = totalNanos(t) + d;
  const seconds = floorDivide(total, NANOS_PER_SECOND);
  return { seconds: Number(seconds), nanos: Number(total - seconds * NANOS_PER_SECOND), offset: t.offset };
}

/** -1, 0 or 1 as t is before, at or after u. */
export function compareTimes(t: GoTime, u: GoTime): number {
  const a = totalNanos(t);
  const b = totalNanos(u);
  return a === b ? 0 : a < b ? -1 : 1;
}

/** t.Truncate(d): rounded down to a multiple of d since year 1, independent of the zone; d <= 0 leaves t. */
export function truncateTime(t: GoTime, d: bigint): GoTime {
  if (d <= 0n) return t;
  const sinceYearOne = (BigInt(t.seconds) + SECONDS_FROM_YEAR_ONE) * NANOS_PER_SECOND + BigInt(t.nanos);
  const remainder = ((sinceYearOne % d) + d) % d;
  return addDuration(t, -remainder);
}

function floorDivide(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
