import { compileExpression } from './expression.js';
import { search, value } from './testdata/search.js';

function compileError(expression: string): string | undefined {
  const compiled = compileExpression(expression);
  return compiled.ok ? undefined : compiled.error;
}

describe('compiling an expression', () => {
  it('accepts the JMESPath Kyverno runs', () => {
    for (const expression of [
      'builder.id',
      "components[].licenses[].expression || 'none'",
      "length(vulnerabilities[?severity == 'CRITICAL'])",
      'map(&name, items) | sort(@)',
      '{a: a, b: b}',
      '`{"k": [1, 2]}`',
      "regex_match('^v[0-9]+', version)",
    ]) {
      expect(compileError(expression)).toBeUndefined();
    }
  });
  it('reports a syntax error', () => expect(compileError('a.[')).toContain('invalid JMESPath expression'));
  it('refuses an empty expression', () => expect(compileError('')).toContain('empty'));
  it('names an unknown function', () => expect(compileError('frobnicate(a)')).toBe('unknown function frobnicate()'));
  it("points to Kyverno's name for a community-edition function", () =>
    expect(compileError('upper(a)')).toBe("unknown function upper(); Kyverno's is to_upper()"));
  it('checks the number of arguments', () => {
    expect(compileError("regex_match('a')")).toBe('regex_match() takes 2 arguments, not 1');
    expect(compileError('time_now(`1`)')).toBe('time_now() takes 0 arguments, not 1');
    expect(compileError('merge()')).toBe('merge() takes at least 1 argument, not 0');
  });
  it('checks calls nested anywhere in the expression', () =>
    expect(compileError("a[?to_upper(b, c) == 'X'].d")).toBe('to_upper() takes 1 argument, not 2'));
  it('names the Kyverno functions left out, and why', () =>
    expect(compileError("random('[a-z]{5}')")).toContain('random() is not supported'));
  it.each([
    ['a + b', 'arithmetic'],
    ['-a', 'unary'],
    ['let $x = a in $x', 'let expressions'],
    ['$.a', 'the $ root'],
    ['a ? b : c', '?:'],
  ])("refuses %s, which Kyverno's JMESPath cannot run", (expression, what) =>
    expect(compileError(expression)).toContain(what),
  );
});

describe('when a path names a member the object does not have', () => {
  it('is unresolved, naming the member', () => expect(search('a.b', { a: {} })).toEqual({ missing: 'b' }));
  it('is unresolved at the first missing member', () => expect(search('a.b.c', { x: 1 })).toEqual({ missing: 'a' }));
  it('is unresolved through an index', () => expect(search('a[0].b', { a: [{}] })).toEqual({ missing: 'b' }));
  it('is unresolved on the right of &&', () =>
    expect(search('t && a.b', { t: true, a: {} })).toEqual({ missing: 'b' }));
});

describe('when something absorbs a missing member', () => {
  it.each([
    ["a.b || 'default'", 'default'],
    ['a.b | @', null],
    ['length(a.b || `[]`)', 0],
    ['a[*].b', []],
    ['a.b == `null`', true],
    ['f && a.b', false],
    ['not_null(a.b, `1`)', 1],
  ])('%s is %j', (expression, want) => expect(value(expression, { a: [{}], f: false })).toEqual(want));
});

describe('when the member is present and null', () => {
  it('resolves to null', () => expect(search('a.b', { a: { b: null } })).toEqual({ value: null }));
});

describe('when a member is not an object member but an array index out of range', () => {
  it('resolves to null, as go-jmespath does', () => expect(search('a[5]', { a: [] })).toEqual({ value: null }));
});

describe('when the data has members named like Object.prototype', () => {
  it('does not reach the prototype', () => expect(search('constructor', {})).toEqual({ missing: 'constructor' }));
  it('reads the member when the data has it', () => expect(value('constructor', { constructor: 'x' })).toBe('x'));
  it('treats an object with an "expref" member as an object', () =>
    expect(value('keys(@)', { expref: true, type: 'Field', name: 'x' })).toEqual(['expref', 'type', 'name']));
});
