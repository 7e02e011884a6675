// Kyverno's image wildcards (ext/wildcard → github.com/IGLOU-EU/go-wildcard): `*` matches any run of characters,
// including `/` and `:` and the empty run; `?` matches exactly one character. Anchored, case-sensitive, no escapes.
// Matched without regular expressions, in O(pattern × input) time at worst, so a hostile pattern cannot make
// admission slow.

export interface ImagePattern {
  readonly source: string;
  matches(image: string): boolean;
}

// The two patterns every kind selector repeats (`Pod` is `*/*/Pod` with no subresource): one shared object each
// rather than a closure per selector, which 1,000 policies' autogen rules would make tens of thousands of.
const ANY: ImagePattern = Object.freeze({ source: '*', matches: () => true });
const NONE: ImagePattern = Object.freeze({ source: '', matches: (s: string) => s === '' });

/** Compiles a wildcard pattern once, at policy compile time. */
export function compileImagePattern(source: string): ImagePattern {
  if (source === '*') return ANY;
  if (source === '') return NONE;
  const pattern = collapseStars(source);
  return hasWildcard(pattern) ? new WildcardPattern(source, pattern) : new LiteralPattern(source, pattern);
}

// Classes rather than closures: a policy compiles dozens of patterns, and an object whose method lives on its
// prototype weighs a third of an object holding a closure and that closure's context.
class LiteralPattern implements ImagePattern {
  constructor(
    readonly source: string,
    private readonly literal: string,
  ) {}

  matches(image: string): boolean {
    return image === this.literal;
  }
}

class WildcardPattern implements ImagePattern {
  constructor(
    readonly source: string,
    private readonly pattern: string,
  ) {}

  matches(image: string): boolean {
    return matchWildcard(this.pattern, image);
  }
}

/** Runs of stars are equivalent to one star; collapsing them keeps the matcher's backtracking small. */
export function collapseStars(pattern: string): string {
  return pattern.replace(/\*{2,}/g, '*');
}

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/**
 * Whether p matches all of s. Characters of s before foldBefore, which the caller guarantees are lower case, also
 * match an ASCII upper-case letter in p: image reference patterns use this for the registry host, where case means
 * nothing.
 */
export function matchWildcard(p: string, s: string, foldBefore = 0): boolean {
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const pc = p[pi];
    if (pc === '*') {
      starP = pi++;
      starS = si;
    } else if (pc !== undefined && (pc === '?' || pc === s[si] || (si < foldBefore && toAsciiLower(pc) === s[si]))) {
      pi++;
      si++;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

function toAsciiLower(c: string): string {
  return c >= 'A' && c <= 'Z' ? String.fromCharCode(c.charCodeAt(0) + 32) : c;
}
