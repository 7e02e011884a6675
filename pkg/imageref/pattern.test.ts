import { compileImagePattern } from './pattern.js';

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
