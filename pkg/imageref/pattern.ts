// Kyverno's image wildcards (ext/wildcard → github.com/IGLOU-EU/go-wildcard): `*` matches any run of characters,
// including `/` and `:` and the empty run; `?` matches exactly one character. Anchored, case-sensitive, no escapes.
// Matched without regular expressions, in O(pattern × input) time at worst, so a hostile pattern cannot make
// admission slow.

export interface ImagePattern {
  readonly source: string;
  matches(image: string): boolean;
}

/** Compiles a wildcard pattern once, at policy compile time. */
export function compileImagePattern(source: string): ImagePattern {
  const pattern = collapseStars(source);
  if (!hasWildcard(pattern)) {
    return { source, matches: (image) => image === pattern };
  }
  return { source, matches: (image) => matchWildcard(pattern, image) };
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
