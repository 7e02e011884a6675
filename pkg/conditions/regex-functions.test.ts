import { errorOf, search, value } from './testdata/search.js';

describe('regex_match', () => {
  it('finds the pattern anywhere in the text', () =>
    expect(value("regex_match('12.*', foo)", { foo: "hgf'b1a2r'b12g" })).toBe(true));
  it('matches a number as its text', () => expect(value("regex_match('12.*', abs(foo))", { foo: -12.0 })).toBe(true));
  it('prints numbers as float32 without an exponent, as Kyverno does', () =>
    expect(value("regex_match('^100000000000000000000$', `1e20`)")).toBe(true));
  it('honours anchors', () => expect(value("regex_match('^v[0-9]+$', 'v1.2')")).toBe(false));
  it('uses Go syntax: named groups, classes and flags', () =>
    expect(value("regex_match('(?i)^(?P<name>[[:alpha:]]+)-\\\\d$', 'ABC-1')")).toBe(true));
  it('reports a pattern that does not compile', () =>
    expect(errorOf("regex_match('(', 'x')")).toContain('regex_match'));
});

describe('regex_replace_all', () => {
  it("expands ${n}, leaving absent groups empty (Kyverno's test)", () =>
    expect(
      value("regex_replace_all('([Hh]e|G)l', spec.field, '${2}G')", { spec: { field: 'Hello world, helworldlo' } }),
    ).toBe('Glo world, Gworldlo'));
  it('expands $1 and named groups', () =>
    expect(value("regex_replace_all('(?P<k>\\\\w+)=(\\\\w+)', 'a=1 b=2', '$2:${k}')")).toBe('1:a 2:b'));
  it('reads $1x as the group named "1x", as Go does', () =>
    expect(value("regex_replace_all('(a)', 'a', '$1x')")).toBe(''));
  it('writes $$ as a dollar', () => expect(value("regex_replace_all('a', 'a', '$$')")).toBe('$'));
  it('replaces empty matches as Go does, not next to a previous match', () =>
    expect(value("regex_replace_all('a*', 'baaac', '-')")).toBe('-b-c-'));
  it('accepts numbers for the text and the replacement', () =>
    expect(value("regex_replace_all('1', `121`, `3`)")).toBe('323'));
});

describe('regex_replace_all_literal', () => {
  it("inserts the replacement as written (Kyverno's test)", () =>
    expect(
      value("regex_replace_all_literal('[Hh]el?', spec.field, 'G')", { spec: { field: 'Hello world, helworldlo' } }),
    ).toBe('Glo world, Gworldlo'));
  it('does not expand $1', () => expect(value("regex_replace_all_literal('(a)', 'a', '$1')")).toBe('$1'));
});

describe('when a pattern would backtrack catastrophically in JavaScript', () => {
  it('still answers at once, since matching is linear', () => {
    const started = Date.now();
    const outcome = search("regex_match('^(a+)+$', text)", { text: `${'a'.repeat(50_000)}!` });
    expect(outcome).toEqual({ value: false });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('when a replacement would build a huge string', () => {
  it('is an evaluation error', () => {
    const outcome = search("regex_replace_all('', text, replacement)", {
      text: 'a'.repeat(20_000),
      replacement: 'b'.repeat(100),
    });
    expect(outcome).toEqual({ error: expect.stringContaining('characters long') });
  });
});
