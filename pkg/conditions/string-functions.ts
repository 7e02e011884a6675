// Kyverno's string functions (pkg/engine/jmespath/functions.go), with Go's strings package semantics: code points
// where Go works on runes, byte (code point) order where Go compares strings, and a cap on every string made.
import { checkedLength, type EvaluationRun } from './evaluation-run.js';
import { formatGoFloat32Fixed } from './go-float.js';
import { compareCodePoints, type JsonValue } from './json-value.js';
import { functionError, NUMBER, STRING, STRING_OR_NUMBER, type FunctionDefinition } from './function-definition.js';
import { matchWildcard } from './wildcard.js';

export const STRING_FUNCTIONS: readonly FunctionDefinition[] = [
  {
    name: 'compare',
    signature: [STRING, STRING],
    run: ([a, b]) => Math.sign(compareCodePoints(a as string, b as string)),
  },
  {
    name: 'equal_fold',
    signature: [STRING, STRING],
    run: ([a, b], run) => equalFold(a as string, b as string, run),
  },
  {
    name: 'replace',
    signature: [STRING, STRING, STRING, NUMBER],
    // strings.Replace(s, old, new, int(n)): n < 0 replaces every instance.
    run: ([s, old, by, n], run) => replaceGo(s as string, old as string, by as string, Math.trunc(n as number), run),
  },
  {
    name: 'replace_all',
    signature: [STRING, STRING, STRING],
    run: ([s, old, by], run) => replaceGo(s as string, old as string, by as string, -1, run),
  },
  { name: 'to_upper', signature: [STRING], run: ([s], run) => mapCodePoints(s as string, 'upper', run) },
  { name: 'to_lower', signature: [STRING], run: ([s], run) => mapCodePoints(s as string, 'lower', run) },
  {
    name: 'trim',
    signature: [STRING, STRING],
    run: ([s, cutset], run) => trimCutset(s as string, cutset as string, run),
  },
  {
    name: 'trim_prefix',
    signature: [STRING, STRING],
    run: ([s, prefix]) => {
      const text = s as string;
      return text.startsWith(prefix as string) ? text.slice((prefix as string).length) : text;
    },
  },
  { name: 'split', signature: [STRING, STRING], run: ([s, sep], run) => splitGo(s as string, sep as string, run) },
  {
    name: 'truncate',
    signature: [STRING, NUMBER],
    run: ([s, n], run) => truncateCodePoints(s as string, n as number, run),
  },
  {
    name: 'pattern_match',
    signature: [STRING, STRING_OR_NUMBER],
    run: ([pattern, s], run) => matchWildcard(pattern as string, stringOrNumber(s!), run.budget),
  },
  {
    name: 'to_boolean',
    signature: [STRING],
    run: ([s]) => {
      const lower = (s as string).toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      throw functionError('to_boolean', `lowercase argument must be 'true' or 'false' (provided: '${s as string}')`);
    },
  },
  { name: 'path_canonicalize', signature: [STRING], run: ([s], run) => cleanPath(s as string, run) },
];

/** Kyverno's ifaceToString for the string-or-number arguments: numbers as float32, without an exponent. */
export function stringOrNumber(value: JsonValue): string {
  return typeof value === 'number' ? formatGoFloat32Fixed(value) : (value as string);
}

/** strings.EqualFold: equal under Unicode simple case folding, code point by code point. */
function equalFold(a: string, b: string, run: EvaluationRun): boolean {
  run.budget.charge(1 + ((a.length + b.length) >> 2));
  const x = [...a];
  const y = [...b];
  if (x.length !== y.length) return false;
  return x.every((c, i) => {
    const d = y[i]!;
    return c === d || foldOne(c, 'lower') === foldOne(d, 'lower') || foldOne(c, 'upper') === foldOne(d, 'upper');
  });
}

/** One code point's case mapping, kept only when it is again one code point (Go's unicode.ToUpper/ToLower). */
function foldOne(c: string, to: 'upper' | 'lower'): string {
  const mapped = to === 'upper' ? c.toUpperCase() : c.toLowerCase();
  return [...mapped].length === 1 ? mapped : c;
}

function mapCodePoints(s: string, to: 'upper' | 'lower', run: EvaluationRun): string {
  run.budget.charge(1 + s.length);
  const whole = to === 'upper' ? s.toUpperCase() : s.toLowerCase();
  // Fast path: the common case where no code point changes length.
  if (whole.length === s.length) return whole;
  let out = '';
  for (const c of s) out += foldOne(c, to);
  return out;
}

/** strings.Replace, computing the result's length before building it. */
export function replaceGo(s: string, old: string, by: string, n: number, run: EvaluationRun): string {
  if (old === by || n === 0) return s;
  if (old === '') {
    // Go inserts `by` at the start and after each code point, n times at most.
    const codePoints = [...s];
    const count = n < 0 ? codePoints.length + 1 : Math.min(n, codePoints.length + 1);
    checkedLength(s.length + count * by.length, 'the result of replace', run);
    let out = '';
    for (let i = 0; i < codePoints.length; i++) out += (i < count ? by : '') + codePoints[i];
    return count > codePoints.length ? out + by : out;
  }
  let count = 0;
  for (let at = s.indexOf(old); at >= 0 && (n < 0 || count < n); at = s.indexOf(old, at + old.length)) count++;
  if (count === 0) return s;
  checkedLength(s.length + count * (by.length - old.length), 'the result of replace', run);
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const at = s.indexOf(old, start);
    parts.push(s.slice(start, at), by);
    start = at + old.length;
  }
  parts.push(s.slice(start));
  return parts.join('');
}

/** strings.Trim: drop leading and trailing code points that occur in cutset. */
function trimCutset(s: string, cutset: string, run: EvaluationRun): string {
  run.budget.charge(1 + s.length);
  if (s === '' || cutset === '') return s;
  const cut = new Set(cutset);
  const codePoints = [...s];
  let start = 0;
  let end = codePoints.length;
  while (start < end && cut.has(codePoints[start]!)) start++;
  while (end > start && cut.has(codePoints[end - 1]!)) end--;
  return codePoints.slice(start, end).join('');
}

/** strings.Split: an empty separator splits after each code point; an empty string gives [""] (or [] for ""). */
function splitGo(s: string, sep: string, run: EvaluationRun): JsonValue {
  run.budget.charge(1 + s.length);
  if (sep === '') return [...s];
  return s.split(sep);
}

/** aquilax/truncate's CutStrategy: the first n code points; n is truncated toward zero, and below 0 counts as 0. */
function truncateCodePoints(s: string, n: number, run: EvaluationRun): string {
  run.budget.charge(1 + s.length);
  const length = Math.max(0, Math.trunc(n));
  const codePoints = [...s];
  return codePoints.length <= length ? s : codePoints.slice(0, length).join('');
}

/** filepath.Join(p) on Linux: path.Clean, except that an empty path stays empty. */
function cleanPath(p: string, run: EvaluationRun): string {
  run.budget.charge(1 + p.length);
  if (p === '') return '';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}
