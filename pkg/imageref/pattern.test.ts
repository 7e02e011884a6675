import { compileImagePattern, matchWildcard } from './pattern.js';

describe('compileImagePattern', () => {
  const cases: [pattern: string, image: string, matches: boolean][] = [
    ['*', 'docker.io/nginx:latest', true],
    ['*', '', true],
    ['ghcr.io/org/*', 'ghcr.io/org/team/app:v1', true],
    ['ghcr.io/org/*', 'ghcr.io/other/app:v1', false],
    ['ghcr.io/org/app:*', 'ghcr.io/org/app@sha256:abc', false],
    ['ghcr.io/org/app?v1', 'ghcr.io/org/app:v1', true],
    ['ghcr.io/org/app?v1', 'ghcr.io/org/app:v10', false],
    ['*/app:*', 'reg.io/team/app:1', true],
    ['GHCR.io/*', 'ghcr.io/x', false],
    ['exact/name:tag', 'exact/name:tag', true],
    ['exact/name:tag', 'exact/name:tag2', false],
    ['', '', true],
    ['', 'x', false],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
  ];
  it.each(cases)('%j against %j gives %s', (pattern, image, matches) => {
    expect(compileImagePattern(pattern).matches(image)).toBe(matches);
  });

  describe('when a pattern is built to backtrack', () => {
    it('still answers, and correctly', () => {
      const pattern = compileImagePattern(`${'*a'.repeat(30)}b`);
      expect(pattern.matches('a'.repeat(5000))).toBe(false);
    });
  });
});

describe('matchWildcard', () => {
  describe('when told where the host ends', () => {
    it.each<[pattern: string, text: string, foldBefore: number, matches: boolean]>([
      ['GHCR.IO/*', 'ghcr.io/x', 7, true],
      ['GHCR.IO/*', 'ghcr.io/x', 0, false],
      ['*.GCR.IO/*', 'eu.gcr.io/x', 9, true],
      ['*.GCR.IO/*', 'eu.gcr.io/x', 3, false],
      ['*X', 'ax', 1, false],
      ['*X', 'aX', 1, true],
      ['G?CR.IO/*', 'ghcr.io/x', 7, true],
      ['ghcr.io/*', 'GHCR.IO/x', 7, false],
    ])('%j against %j, folding case before %d, gives %s', (pattern, text, foldBefore, matches) => {
      expect(matchWildcard(pattern, text, foldBefore)).toBe(matches);
    });
  });
});
