// Kyverno's regular-expression functions: regex_match, regex_replace_all (with Go's $1 / ${name} templates) and
// regex_replace_all_literal. Patterns are Go (RE2) syntax and run on re2js, a linear-time port of RE2, because both
// the pattern and the text may come from an attestation: a backtracking engine would let either stall admission.
// Replacement follows Go's Regexp.ReplaceAll, including how it steps past empty matches.
import { RE2JS, type Matcher } from 're2js';
import type { EvaluationRun } from './evaluation-run.js';
import { functionError, STRING, STRING_OR_NUMBER, type FunctionDefinition } from './function-definition.js';
import { MAX_REGEX_LENGTH, MAX_STRING_LENGTH, REGEX_CACHE_SIZE } from './limits.js';
import { stringOrNumber } from './string-functions.js';

export const REGEX_FUNCTIONS: readonly FunctionDefinition[] = [
  {
    name: 'regex_match',
    signature: [STRING, STRING_OR_NUMBER],
    run: ([pattern, text], run) => {
      const re = compileRegex('regex_match', pattern as string);
      const input = checkedInput('regex_match', stringOrNumber(text!), re, run);
      return re.test(input);
    },
  },
  {
    name: 'regex_replace_all',
    signature: [STRING, STRING_OR_NUMBER, STRING_OR_NUMBER],
    run: ([pattern, text, replacement], run) => {
      const re = compileRegex('regex_replace_all', pattern as string);
      const template = stringOrNumber(replacement!);
      const input = checkedInput('regex_replace_all', stringOrNumber(text!), re, run);
      return replaceAllGo(re, input, (m) => expandTemplate(re, m, template), run);
    },
  },
  {
    name: 'regex_replace_all_literal',
    signature: [STRING, STRING_OR_NUMBER, STRING_OR_NUMBER],
    run: ([pattern, text, replacement], run) => {
      const re = compileRegex('regex_replace_all_literal', pattern as string);
      const literal = stringOrNumber(replacement!);
      const input = checkedInput('regex_replace_all_literal', stringOrNumber(text!), re, run);
      return replaceAllGo(re, input, () => literal, run);
    },
  },
];

/** Compiled patterns, most recently used last: policies repeat the same few literals. */
const cache = new Map<string, RE2JS | Error>();

function compileRegex(fn: string, pattern: string): RE2JS {
  if (pattern.length > MAX_REGEX_LENGTH) {
    throw functionError(fn, `the regular expression is longer than ${MAX_REGEX_LENGTH} characters`);
  }
  let compiled = cache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = RE2JS.compile(pattern);
    } catch (e) {
      compiled = e instanceof Error ? e : new Error(String(e));
    }
    if (cache.size >= REGEX_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  } else {
    cache.delete(pattern);
  }
  cache.set(pattern, compiled);
  if (compiled instanceof Error) throw functionError(fn, compiled.message);
  return compiled;
}

/** Charges the matching work (input length × program size, RE2's bound) before any is done. */
function checkedInput(fn: string, input: string, re: RE2JS, run: EvaluationRun): string {
  if (input.length > MAX_STRING_LENGTH) {
    throw functionError(fn, `the text is longer than ${MAX_STRING_LENGTH} characters`);
  }
  run.budget.charge(1 + input.length * Math.max(1, Math.ceil(re.programSize() / 16)));
  return input;
}

/** Regexp.ReplaceAll's loop: replace every match, but not an empty match right after the previous one. */
function replaceAllGo(re: RE2JS, src: string, replacement: (m: Matcher) => string, run: EvaluationRun): string {
  const m = re.matcher(src);
  const parts: string[] = [];
  let length = 0;
  let lastMatchEnd = 0;
  let searchPos = 0;
  const push = (text: string) => {
    length += text.length;
    if (length > MAX_STRING_LENGTH) {
      throw functionError('regex_replace_all', `the result would be more than ${MAX_STRING_LENGTH} characters long`);
    }
    run.budget.charge(1 + (text.length >> 2));
    parts.push(text);
  };
  while (searchPos <= src.length) {
    if (!m.find(searchPos)) break;
    const start = m.start();
    const end = m.end();
    push(src.slice(lastMatchEnd, start));
    if (end > lastMatchEnd || start === 0) push(replacement(m));
    lastMatchEnd = end;
    // Advance past this match, always by at least one character.
    const width = searchPos < src.length ? codePointWidth(src, searchPos) : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  push(src.slice(lastMatchEnd));
  return parts.join('');
}

function codePointWidth(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
}

/** Letters, digits and underscores, as Go's Expand reads a group name ($name, ${name}). */
const NAME_CHARACTER = RE2JS.compile('[\\pL\\p{Nd}_]');

/** Regexp.Expand: $$ is a dollar, $1 / ${1} / $name / ${name} a group (empty when absent), a malformed $ itself. */
function expandTemplate(re: RE2JS, m: Matcher, template: string): string {
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest[0] === '$') {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const reference = readGroupReference(rest);
    if (reference === undefined) {
      out += '$';
      continue;
    }
    rest = reference.rest;
    out += groupText(re, m, reference.name) ?? '';
  }
  return out + rest;
}

function readGroupReference(text: string): { name: string; rest: string } | undefined {
  let s = text;
  const brace = s[0] === '{';
  if (brace) s = s.slice(1);
  let i = 0;
  for (const c of s) {
    if (!NAME_CHARACTER.testExact(c)) break;
    i += c.length;
  }
  if (i === 0) return undefined;
  const name = s.slice(0, i);
  if (brace) {
    if (s[i] !== '}') return undefined;
    i++;
  }
  return { name, rest: s.slice(i) };
}

function groupText(re: RE2JS, m: Matcher, name: string): string | null {
  const named = re.namedGroups();
  const index = isGroupNumber(name) ? Number(name) : Object.hasOwn(named, name) ? named[name]! : -1;
  if (index < 0 || index > m.groupCount()) return null;
  return m.group(index);
}

/** Digits, without a leading zero and fewer than nine: Go reads anything else as a group name. */
function isGroupNumber(name: string): boolean {
  if (name.length > 8 || (name[0] === '0' && name.length > 1)) return false;
  for (const c of name) if (c < '0' || c > '9') return false;
  return true;
}
