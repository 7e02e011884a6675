// Kyverno's wildcards (ext/wildcard, github.com/IGLOU-EU/go-wildcard): `*` matches any run of characters, `?`
// exactly one character (a code point, as Go matches runes), everything else itself; anchored, case-sensitive, no
// escapes; an empty pattern matches only the empty string. Matched without regular expressions, in O(pattern ×
// text) steps at worst, charged to the evaluation's budget: In-family operators match in both directions, so the
// pattern may be attacker data too.
import type { WorkBudget } from './work-budget.js';

/** Steps matched between two charges to the budget. */
const CHARGE_EVERY = 4096;

export function hasWildcard(text: string): boolean {
  return text.includes('*') || text.includes('?');
}

export function matchWildcard(pattern: string, text: string, budget: WorkBudget): boolean {
  budget.charge(1 + ((pattern.length + text.length) >> 4));
  if (pattern === '*') return true;
  if (!hasWildcard(pattern)) return pattern === text;
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  let steps = 0;
  while (t < text.length) {
    if (++steps === CHARGE_EVERY) {
      budget.charge(steps);
      steps = 0;
    }
    const pc = pattern.charCodeAt(p);
    if (p < pattern.length && pc === 0x2a /* * */) {
      starP = p++;
      starT = t;
    } else if (p < pattern.length && pc === 0x3f /* ? */) {
      p++;
      t += unitsOfCodePointAt(text, t);
    } else if (p < pattern.length && pc === text.charCodeAt(t)) {
      p++;
      t++;
    } else if (starP >= 0) {
      // Let the last star take one more code point and retry what follows it.
      p = starP + 1;
      starT += unitsOfCodePointAt(text, starT);
      t = starT;
    } else {
      return false;
    }
  }
  budget.charge(steps);
  while (pattern.charCodeAt(p) === 0x2a) p++;
  return p === pattern.length;
}

/** 2 for a surrogate pair (one code point), else 1. */
function unitsOfCodePointAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}
