// Semantic versions as github.com/blang/semver/v4 reads them, which is what Kyverno uses twice: numeric operators
// fall back to comparing versions ("1.5.2" LessThan "1.5.10"), and semver_compare(version, range) tests a range
// (">=1.0.0 <2.0.0 || 3.x"). Strict: no "v" prefix, no leading zeros, MAJOR.MINOR.PATCH always present.
import { MAX_SCALAR_LENGTH } from './limits.js';

export interface Semver {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  /** Pre-release identifiers: numbers as bigint, the others as strings. */
  readonly pre: readonly (bigint | string)[];
}

const UINT64_MAX = (1n << 64n) - 1n;

/** semver.Parse, or undefined where it returns an error. */
export function parseSemver(text: string): Semver | undefined {
  if (text.length === 0 || text.length > MAX_SCALAR_LENGTH) return undefined;
  const first = text.indexOf('.');
  const second = first < 0 ? -1 : text.indexOf('.', first + 1);
  if (second < 0) return undefined;
  const major = parseNumeric(text.slice(0, first));
  const minor = parseNumeric(text.slice(first + 1, second));
  if (major === undefined || minor === undefined) return undefined;
  let rest = text.slice(second + 1);
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    const build = rest.slice(plus + 1).split('.');
    if (build.some((part) => part === '' || !isAlphanumeric(part))) return undefined;
    rest = rest.slice(0, plus);
  }
  const dash = rest.indexOf('-');
  let pre: (bigint | string)[] = [];
  if (dash >= 0) {
    const parsed = rest
      .slice(dash + 1)
      .split('.')
      .map(parsePrerelease);
    if (parsed.some((p) => p === undefined)) return undefined;
    pre = parsed as (bigint | string)[];
    rest = rest.slice(0, dash);
  }
  const patch = parseNumeric(rest);
  if (patch === undefined) return undefined;
  return { major, minor, patch, pre };
}

/** Digits only, no leading zero, within uint64. */
function parseNumeric(part: string): bigint | undefined {
  if (part === '' || !isDigits(part) || (part.length > 1 && part[0] === '0') || part.length > 20) return undefined;
  const n = BigInt(part);
  return n > UINT64_MAX ? undefined : n;
}

function parsePrerelease(part: string): bigint | string | undefined {
  if (part === '') return undefined;
  if (isDigits(part)) return parseNumeric(part);
  return isAlphanumeric(part) ? part : undefined;
}

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Letters, digits and hyphens: blang's "alphanum". */
function isAlphanumeric(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '-')) return false;
  }
  return true;
}

/** Version.Compare: -1, 0 or 1; a release is greater than its pre-releases; build metadata is ignored. */
export function compareSemver(a: Semver, b: Semver): number {
  for (const [x, y] of [
    [a.major, b.major],
    [a.minor, b.minor],
    [a.patch, b.patch],
  ] as const) {
    if (x !== y) return x < y ? -1 : 1;
  }
  if (a.pre.length === 0 && b.pre.length === 0) return 0;
  if (a.pre.length === 0) return 1;
  if (b.pre.length === 0) return -1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const c = comparePrerelease(a.pre[i]!, b.pre[i]!);
    if (c !== 0) return c;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

function comparePrerelease(x: bigint | string, y: bigint | string): number {
  const xn = typeof x === 'bigint';
  const yn = typeof y === 'bigint';
  if (xn && yn) return x === y ? 0 : x < y ? -1 : 1;
  // A numeric identifier has lower precedence than an alphanumeric one.
  if (xn) return -1;
  if (yn) return 1;
  return x === y ? 0 : x < y ? -1 : 1;
}

type Comparator = '=' | '!=' | '>' | '>=' | '<' | '<=';
interface VersionTest {
  readonly comparator: Comparator;
  readonly version: Semver;
}
/** Alternatives (||), each a list of tests that must all hold. */
export type SemverRange = readonly (readonly VersionTest[])[];

/** semver.ParseRange, with blang's handling of "x" wildcards; an error message where it fails. */
export function parseSemverRange(text: string): SemverRange | string {
  if (text.length > MAX_SCALAR_LENGTH) return 'the range is too long';
  const parts = splitAndTrim(text);
  const alternatives: string[][] = [];
  let last = 0;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] !== '||') continue;
    if (i === 0) return "First element in range is '||'";
    alternatives.push(parts.slice(last, i));
    last = i + 1;
  }
  if (last === parts.length) return "Last element in range is '||'";
  alternatives.push(parts.slice(last));
  const range: VersionTest[][] = [];
  for (const alternative of alternatives) {
    const tests: VersionTest[] = [];
    for (const part of expandWildcards(alternative)) {
      const digit = firstDigit(part);
      if (digit < 0) return `Could not get version from string: ${JSON.stringify(part)}`;
      const op = part.slice(0, digit).trim();
      const comparator = COMPARATORS.get(op);
      if (comparator === undefined)
        return `Could not parse comparator ${JSON.stringify(op)} in ${JSON.stringify(part)}`;
      const version = parseSemver(part.slice(digit));
      if (version === undefined) return `Could not parse Range ${JSON.stringify(part)}: invalid version`;
      tests.push({ comparator, version });
    }
    range.push(tests);
  }
  return range;
}

export function semverInRange(version: Semver, range: SemverRange): boolean {
  return range.some((tests) =>
    tests.every(({ comparator, version: bound }) => {
      const c = compareSemver(version, bound);
      switch (comparator) {
        case '=':
          return c === 0;
        case '!=':
          return c !== 0;
        case '>':
          return c > 0;
        case '>=':
          return c >= 0;
        case '<':
          return c < 0;
        case '<=':
          return c <= 0;
      }
    }),
  );
}

const COMPARATORS: ReadonlyMap<string, Comparator> = new Map([
  ['', '='],
  ['=', '='],
  ['==', '='],
  ['!', '!='],
  ['!=', '!='],
  ['>', '>'],
  ['>=', '>='],
  ['<', '<'],
  ['<=', '<='],
]);

/** blang's splitAndTrim: split on spaces, except a space right after an operator character. */
function splitAndTrim(s: string): string[] {
  const result: string[] = [];
  let last = 0;
  let lastChar = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ' ' && !(lastChar !== '' && '<>='.includes(lastChar))) {
      if (last < i - 1) result.push(s.slice(last, i));
      last = i + 1;
    } else if (s[i] !== ' ') {
      lastChar = s[i]!;
    }
  }
  if (last < s.length - 1) result.push(s.slice(last));
  return result.map((part) => part.split(' ').join(''));
}

/** blang's expandWildcardVersion: "1.2.x" and "1.x" become bounds; only a lower-case x counts. */
function expandWildcards(parts: readonly string[]): string[] {
  const expanded: string[] = [];
  for (let part of parts) {
    if (part.includes('x')) {
      const digit = firstDigit(part);
      const op = digit < 0 ? part.trim() : part.slice(0, digit).trim();
      const version = digit < 0 ? '' : part.slice(digit);
      const kind = wildcardKind(version);
      const flat = flattenWildcard(version);
      let operator = '';
      let increment = false;
      switch (op) {
        case '>':
          operator = '>=';
          increment = true;
          break;
        case '>=':
          operator = '>=';
          break;
        case '<':
          operator = '<';
          break;
        case '<=':
          operator = '<';
          increment = true;
          break;
        case '':
        case '=':
        case '==':
          expanded.push(`>=${flat}`);
          operator = '<';
          increment = true;
          break;
        case '!=':
        case '!':
          expanded.push(`<${flat}`);
          operator = '>=';
          increment = true;
          break;
      }
      let result = flat;
      if (increment)
        result = kind === 'patch' ? incrementPart(flat, 1) : kind === 'minor' ? incrementPart(flat, 0) : '';
      part = operator + result;
    }
    expanded.push(part);
  }
  return expanded;
}

function wildcardKind(version: string): 'minor' | 'patch' | 'none' {
  const parts = version.split('.');
  if (parts[parts.length - 1] !== 'x') return 'none';
  return parts.length === 2 ? 'minor' : parts.length === 3 ? 'patch' : 'none';
}

function flattenWildcard(version: string): string {
  const flat = version.replace('.x.x', '.x').replace('.x', '.0');
  return flat.split('.').length === 2 ? `${flat}.0` : flat;
}

function incrementPart(version: string, index: number): string {
  const parts = version.split('.');
  const text = parts[index] ?? '';
  // Go's strconv.Atoi; on an error blang goes on with an empty version, which then fails to parse.
  if (!isDigits(text) || text === '' || text.length > 15) return '';
  const n = Number(text);
  parts[index] = String(n + 1);
  return parts.join('.');
}

function firstDigit(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return i;
  }
  return -1;
}
