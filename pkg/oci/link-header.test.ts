import { nextLinkTarget, nextPagePath } from './link-header.js';

describe('nextLinkTarget', () => {
  it.each([
    ['</v2/a/tags/list?n=1&last=x>; rel="next"', '/v2/a/tags/list?n=1&last=x'],
    ['</v2/a/tags/list?last=x>; rel=next', '/v2/a/tags/list?last=x'],
    ['</prev>; rel="prev", </next>; rel="next"', '/next'],
    ['</next>; title="a;b"; REL="Next"', '/next'],
    ['</next>; rel="prefetch next"', '/next'],
    [
      '<https://r.example/v2/a/referrers/sha256:x?last=y>; rel="next"',
      'https://r.example/v2/a/referrers/sha256:x?last=y',
    ],
  ])('finds the next link in %j', (header, target) => {
    expect(nextLinkTarget(header)).toBe(target);
  });

  it.each([null, '', '</prev>; rel="prev"', '</x>', '<unterminated; rel="next"', 'rel="next"'])(
    'finds none in %j',
    (header) => {
      expect(nextLinkTarget(header)).toBeUndefined();
    },
  );

  it('reads a hostile header in linear time', () => {
    const started = Date.now();
    expect(nextLinkTarget('<'.repeat(16 * 1024))).toBeUndefined();
    expect(nextLinkTarget(`<x>;${' ,'.repeat(8000)}`)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(200);
  });
});

describe('nextPagePath', () => {
  it('keeps a next page on the same registry as a path', () => {
    expect(nextPagePath('</v2/a/tags/list?last=x>; rel="next"', 'r.example')).toBe('/v2/a/tags/list?last=x');
    expect(nextPagePath('<https://r.example:5000/v2/a/tags/list?last=x>; rel="next"', 'r.example:5000')).toBe(
      '/v2/a/tags/list?last=x',
    );
  });

  it.each([
    '<https://evil.example/v2/a/tags/list>; rel="next"',
    '<//evil.example/v2/a>; rel="next"',
    '</admin>; rel="next"',
    '<javascript:alert(1)>; rel="next"',
  ])('follows no next page elsewhere: %j', (header) => {
    expect(nextPagePath(header, 'r.example')).toBeUndefined();
  });
});
