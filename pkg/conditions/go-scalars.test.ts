import { formatGoDuration, parseGoDuration, secondsToDuration } from './go-duration.js';
import { formatGoFloat, formatGoFloat32Fixed, parseGoFloat } from './go-float.js';
import { marshalGoJson } from './go-json.js';
import { sprintGo } from './go-print.js';
import type { JsonValue } from './json-value.js';
import { compareSemver, parseSemver, parseSemverRange, semverInRange } from './semver.js';
import { matchWildcard } from './wildcard.js';
import { WorkBudget } from './work-budget.js';

const budget = () => new WorkBudget(10_000_000);

describe('Go durations', () => {
  it.each([
    ['1h30m', 5_400_000_000_000n],
    ['1.5s', 1_500_000_000n],
    ['300ms', 300_000_000n],
    ['-2h', -7_200_000_000_000n],
    ['0', 0n],
    ['+5ns', 5n],
    ['1µs', 1_000n],
    ['1μs', 1_000n],
    ['1us', 1_000n],
    ['.5m', 30_000_000_000n],
    ['2562047h47m16.854775807s', 9_223_372_036_854_775_807n],
  ])('reads %s', (text, nanos) => expect(parseGoDuration(text)).toEqual({ ok: true, nanos }));
  it.each(['', '1', '1d', 'h', '1h ', '.s', '2562047h47m16.854775808s', '1.h2'])('refuses %j', (text) =>
    expect(parseGoDuration(text).ok).toBe(false),
  );
  it.each([
    [0n, '0s'],
    [1n, '1ns'],
    [1_100n, '1.1µs'],
    [2_200_000n, '2.2ms'],
    [1_500_000_000n, '1.5s'],
    [5_400_000_000_000n, '1h30m0s'],
    [-61_000_000_000n, '-1m1s'],
  ])('prints %d ns as %s', (nanos, text) => expect(formatGoDuration(nanos)).toBe(text));
  it('converts a JSON number to whole seconds, dropping the fraction', () =>
    expect(secondsToDuration(1.9)).toBe(1_000_000_000n));
});

describe('Go floats', () => {
  it.each([
    ['1', 1],
    ['-1.5', -1.5],
    ['1e3', 1000],
    ['.5', 0.5],
    ['1_000', 1000],
    ['0x1p4', 16],
    ['inf', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('ParseFloat reads %s', (text, want) => expect(parseGoFloat(text)).toBe(want));
  it.each(['', ' 1', '1 ', 'abc', '0x10', '1e400', '_1', '1__0', '+nan', 'infinit'])('ParseFloat refuses %j', (text) =>
    expect(parseGoFloat(text)).toBeUndefined(),
  );
  it.each([
    [1, '1'],
    [1.5, '1.5'],
    [123456, '123456'],
    [1000000, '1e+06'],
    [1234567, '1.234567e+06'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1e100, '1e+100'],
    [-0, '-0'],
  ])('fmt prints %d as %s', (x, text) => expect(formatGoFloat(x)).toBe(text));
  it.each([
    [1.5, '1.5'],
    [0.1, '0.1'],
    [1e20, '100000000000000000000'],
    [16777217, '16777216'],
    [-12, '-12'],
  ])('float32 text of %d is %s', (x, text) => expect(formatGoFloat32Fixed(x)).toBe(text));
});

describe("Go's JSON and fmt.Sprint of values", () => {
  it('marshals with sorted members, HTML escapes and JavaScript number text', () =>
    expect(marshalGoJson({ b: ['<&>', 1e21, 0.5], a: null, '\u2028': true }, budget())).toBe(
      '{"a":null,"b":["\\u003c\\u0026\\u003e",1e+21,0.5],"\\u2028":true}',
    ));
  it('prints values as fmt.Sprint does', () => {
    const cases: [JsonValue, string][] = [
      [null, '<nil>'],
      [true, 'true'],
      ['text', 'text'],
      [[1, 'a', null], '[1 a <nil>]'],
      [{ b: 2, a: [1] }, 'map[a:[1] b:2]'],
    ];
    for (const [value, text] of cases) expect(sprintGo(value, budget())).toBe(text);
  });
  it('refuses values nested too deeply', () => {
    let deep: JsonValue = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(() => marshalGoJson(deep, budget())).toThrow('nested deeper');
    expect(() => sprintGo(deep, budget())).toThrow('nested deeper');
  });
});

describe('semantic versions', () => {
  it.each(['1.2.3', '0.0.0', '1.2.3-rc.1', '1.2.3+build.5', '1.2.3-alpha-1.0+x'])('reads %s', (text) =>
    expect(parseSemver(text)).toBeDefined(),
  );
  it.each(['v1.2.3', '1.2', '01.2.3', '1.2.3-', '1.2.3-01', '1.2.3+', 'a.b.c'])('refuses %s', (text) =>
    expect(parseSemver(text)).toBeUndefined(),
  );
  it.each([
    ['1.0.0', '1.0.1', -1],
    ['1.10.0', '1.9.9', 1],
    ['1.0.0-alpha', '1.0.0', -1],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta', -1],
    ['1.0.0-2', '1.0.0-10', -1],
    ['1.0.0+a', '1.0.0+b', 0],
  ])('%s against %s is %d', (a, b, want) => expect(compareSemver(parseSemver(a)!, parseSemver(b)!)).toBe(want));
  it.each([
    ['4.1.3', '>=4.1.x', true],
    ['4.1.3', '!4.x.x', false],
    ['1.8.6', '>1.0.0 <2.0.0', true],
    ['2.1.5', '<2.0.0 || >=3.0.0', false],
    ['1.2.9', '1.2.x', true],
    ['1.3.0', '1.2.x', false],
  ])("%s in range %s is %s (blang's rules)", (version, range, want) => {
    const parsed = parseSemverRange(range);
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(semverInRange(parseSemver(version)!, parsed)).toBe(want);
  });
  it('reports a range that does not parse', () => expect(typeof parseSemverRange('>=x')).toBe('string'));
});

describe('wildcards', () => {
  it.each([
    ['*', 'anything/at:all', true],
    ['', '', true],
    ['', 'a', false],
    ['ghcr.io/*', 'ghcr.io/org/app:1', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a?c', 'a😀c', true],
    ['*.example.com', 'x.example.com', true],
    ['*a*b*c', 'xxaxxbxxc', true],
    ['A*', 'a', false],
  ])('%j against %j is %s', (pattern, text, want) => expect(matchWildcard(pattern, text, budget())).toBe(want));
  it('charges its work, so a hostile pattern against a long text runs out of budget instead of time', () =>
    expect(() => matchWildcard(`*${'a'.repeat(2_000)}b`, 'a'.repeat(100_000), new WorkBudget(1_000_000))).toThrow(
      'more work',
    ));
});
