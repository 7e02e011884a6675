// The part of Kyverno's pattern language (pkg/engine/pattern, pkg/engine/operator) that the In-family operators
// reach: a value such as "1-10" is a range, and AnyIn/AllIn test a key against it as a pattern, where "a-b" means
// ">= a & <= b", "a!-b" means "< a | > b", and each comparison is between durations, then quantities, then
// (for = and !) wildcard strings. Ranges are recognised by a scanner, not Go's regular expression, with the same
// language: an optional sign (+, - or |), digits, an optional fraction, letters.
import { parseGoDuration } from './go-duration.js';
import { compareQuantities, parseQuantity } from './quantity.js';
import { matchWildcard } from './wildcard.js';
import type { WorkBudget } from './work-budget.js';

type PatternOperator = '' | '>=' | '<=' | '>' | '<' | '!' | '-' | '!-';

/** Whether a whole value is "a-b", the form the In-family operators treat as a range. */
export function isRangePattern(pattern: string): boolean {
  return operatorOf(pattern) === '-';
}

/** pattern.Validate(value, pattern) for a string value and a string pattern. */
export function matchesPattern(value: string, pattern: string, budget: WorkBudget): boolean {
  if (value === pattern) return true;
  return pattern.split('|').some((alternative) =>
    trimSpaces(alternative)
      .split('&')
      .every((part) => matchesSinglePattern(value, trimSpaces(part), budget)),
  );
}

function matchesSinglePattern(value: string, pattern: string, budget: WorkBudget): boolean {
  const op = operatorOf(pattern);
  if (op === '-' || op === '!-') {
    const bounds = splitRange(pattern, op === '-' ? '-' : '!-');
    if (bounds === undefined) return false;
    const [low, high] = bounds;
    return op === '-'
      ? compareWith(value, low, '>=', budget) && compareWith(value, high, '<=', budget)
      : compareWith(value, low, '<', budget) || compareWith(value, high, '>', budget);
  }
  return compareWith(value, pattern.slice(op.length).trim(), op, budget);
}

/** GetOperatorFromStringPattern. */
function operatorOf(pattern: string): PatternOperator {
  if (pattern.length < 2) return '';
  for (const op of ['>=', '<=', '>', '<', '!'] as const) if (pattern.startsWith(op)) return op;
  if (splitRange(pattern, '!-') !== undefined) return '!-';
  if (splitRange(pattern, '-') !== undefined) return '-';
  return '';
}

/**
 * The two ends of "low<sep>high", each `[-|+]?digits(.digits)?letters*`, or undefined. An end cannot contain the
 * separator's characters except as its sign, so the split is the first separator after the low end.
 */
function splitRange(pattern: string, separator: '-' | '!-'): [string, string] | undefined {
  const lowEnd = scanBound(pattern, 0);
  if (lowEnd === undefined || !pattern.startsWith(separator, lowEnd)) return undefined;
  const highStart = lowEnd + separator.length;
  const highEnd = scanBound(pattern, highStart);
  if (highEnd !== pattern.length) return undefined;
  return [pattern.slice(0, lowEnd), pattern.slice(highStart)];
}

function scanBound(s: string, start: number): number | undefined {
  let i = start;
  if (s[i] === '-' || s[i] === '|' || s[i] === '+') i++;
  const digitsStart = i;
  while (isDigit(s, i)) i++;
  if (i === digitsStart) return undefined;
  if (s[i] === '.' && isDigit(s, i + 1)) {
    i++;
    while (isDigit(s, i)) i++;
  }
  while (i < s.length && isAsciiLetter(s.charCodeAt(i))) i++;
  return i;
}

/** validateString: durations first, then quantities, then wildcard strings for = and !. */
function compareWith(
  value: string,
  pattern: string,
  op: Exclude<PatternOperator, '-' | '!-'>,
  budget: WorkBudget,
): boolean {
  const patternDuration = parseGoDuration(pattern);
  const valueDuration = parseGoDuration(value);
  if (patternDuration.ok && valueDuration.ok) return holds(compare(valueDuration.nanos, patternDuration.nanos), op);
  const patternQuantity = parseQuantity(pattern);
  const valueQuantity = parseQuantity(value);
  if (patternQuantity !== undefined && valueQuantity !== undefined) {
    return holds(compareQuantities(valueQuantity, patternQuantity), op);
  }
  if (op === '') return matchWildcard(pattern, value, budget);
  if (op === '!') return !matchWildcard(pattern, value, budget);
  return false;
}

function compare(a: bigint, b: bigint): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function holds(comparison: number, op: Exclude<PatternOperator, '-' | '!-'>): boolean {
  switch (op) {
    case '':
      return comparison === 0;
    case '!':
      return comparison !== 0;
    case '>':
      return comparison > 0;
    case '<':
      return comparison < 0;
    case '>=':
      return comparison >= 0;
    case '<=':
      return comparison <= 0;
  }
}

/** Go's strings.Trim(s, " "): spaces only. */
function trimSpaces(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s[start] === ' ') start++;
  while (end > start && s[end - 1] === ' ') end--;
  return s.slice(start, end);
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
