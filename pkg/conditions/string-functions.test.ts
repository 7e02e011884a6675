import { errorOf, value } from './testdata/search.js';

describe('compare', () => {
  it.each([
    ["compare('a', 'a')", 0],
    ["compare('a', 'b')", -1],
    ["compare('b', 'a')", 1],
    ["compare('Z', 'a')", -1],
  ])('%s is %d', (expression, want) => expect(value(expression)).toBe(want));
});

describe('equal_fold', () => {
  it.each([
    ["equal_fold('Go', 'go')", true],
    ["equal_fold('a', 'b')", false],
    ["equal_fold('1', 'b')", false],
    ["equal_fold('ÄÖÜ', 'äöü')", true],
  ])('%s is %s', (expression, want) => expect(value(expression)).toBe(want));
});

describe('replace', () => {
  it('replaces every instance when the count is negative', () =>
    expect(value("replace('Lorem ipsum ipsum dolor', 'ipsum', 'muspi', `-1`)")).toBe('Lorem muspi muspi dolor'));
  it('replaces only as many instances as the count', () =>
    expect(value("replace('Lorem ipsum ipsum ipsum dolor sit amet', 'ipsum', 'muspi', `1`)")).toBe(
      'Lorem muspi ipsum ipsum dolor sit amet',
    ));
  it('truncates a fractional count toward zero', () => expect(value("replace('aaa', 'a', 'b', `2.9`)")).toBe('bba'));
  it('inserts around every code point when the old string is empty, as Go does', () =>
    expect(value("replace('ab', '', '-', `-1`)")).toBe('-a-b-'));
});

describe('replace_all', () => {
  it('replaces every instance', () =>
    expect(value("replace_all('Lorem ipsum dolor sit amet', 'ipsum', 'muspi')")).toBe('Lorem muspi dolor sit amet'));
  it('takes the replacement literally, $ included', () => expect(value("replace_all('a.b', '.', '$&')")).toBe('a$&b'));
});

describe('to_upper and to_lower', () => {
  it.each([
    ["to_upper('abc')", 'ABC'],
    ["to_upper('a#%&123Bc')", 'A#%&123BC'],
    ["to_lower('ABC')", 'abc'],
    ["to_lower('a#%&123Bc')", 'a#%&123bc'],
  ])('%s is %s', (expression, want) => expect(value(expression)).toBe(want));
  it("maps code point by code point, as Go's unicode.ToUpper (ß has no one-letter upper case)", () =>
    expect(value("to_upper('straße')")).toBe('STRAßE'));
});

describe('trim, trim_prefix and split', () => {
  it('trims the cutset from both ends', () =>
    expect(value("trim('¡¡¡Hello, Gophers!!!', '!¡')")).toBe('Hello, Gophers'));
  it('trims a prefix when present', () =>
    expect(value("trim_prefix('¡¡¡Hello, Gophers!!!', '¡¡¡Hello, ')")).toBe('Gophers!!!'));
  it('leaves the string when the prefix is absent', () =>
    expect(value("trim_prefix('¡¡¡Hello, Gophers!!!', '¡¡¡Hola, ')")).toBe('¡¡¡Hello, Gophers!!!'));
  it('splits on the separator', () => expect(value("split('Hello, Gophers', ', ')")).toEqual(['Hello', 'Gophers']));
  it('splits into code points on an empty separator', () =>
    expect(value("split('añ😀', '')")).toEqual(['a', 'ñ', '😀']));
  it('requires two arguments for trim, unlike the JMESPath community edition', () =>
    expect(() => value("trim(' a ')")).toThrow('trim() takes 2 arguments'));
});

describe('truncate', () => {
  it.each([
    ["truncate('Lorem ipsum dolor sit amet', `5`)", 'Lorem'],
    ["truncate('Lorem ipsum ipsum ipsum dolor sit amet', `11`)", 'Lorem ipsum'],
    ["truncate('Lorem ipsum ipsum ipsum dolor sit amet', `40`)", 'Lorem ipsum ipsum ipsum dolor sit amet'],
    ["truncate('Lorem ipsum', `2.6`)", 'Lo'],
    ["truncate('Lorem ipsum', `0`)", ''],
    ["truncate('Lorem ipsum', `-1`)", ''],
  ])('%s is %j', (expression, want) => expect(value(expression)).toBe(want));
});

describe('pattern_match', () => {
  it('matches a wildcard', () => expect(value("pattern_match('prefix-*', foo)", { foo: 'prefix-foo' })).toBe(true));
  it('matches a number printed as text', () =>
    expect(value("pattern_match('12*', abs(foo))", { foo: -12 })).toBe(true));
});

describe('to_boolean', () => {
  it.each([
    ["to_boolean('true')", true],
    ["to_boolean('TRue')", true],
    ["to_boolean('FaLse')", false],
  ])('%s is %s', (expression, want) => expect(value(expression)).toBe(want));
  it('refuses other words', () => expect(errorOf("to_boolean('foo')")).toContain("must be 'true' or 'false'"));
  it('refuses a number', () => expect(errorOf('to_boolean(`1`)')).toContain('expected argument 1 to be type (string)'));
});

describe('path_canonicalize', () => {
  it.each([
    ['///', '/'],
    ['///var/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock'],
    ['/var/run///containerd/containerd.sock', '/var/run/containerd/containerd.sock'],
    ['/var/run///containerd////', '/var/run/containerd'],
    ['/run///', '/run'],
    ['/run/../etc', '/etc'],
    ['///etc*', '/etc*'],
    ['/../../', '/'],
    ['a/../..', '..'],
    ['', ''],
  ])('cleans %j to %j', (path, want) => expect(value(`path_canonicalize('${path}')`)).toBe(want));
});
