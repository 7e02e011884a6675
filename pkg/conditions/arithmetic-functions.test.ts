import { errorOf, value } from './testdata/search.js';

// Cases from Kyverno's pkg/engine/jmespath/arithmetic_test.go, re-expressed as data: [expression, result] or
// [expression, undefined] for an error.
const CASES: readonly (readonly [string, unknown])[] = [
  ['add(`12`, `13`)', 25],
  ["add('12', '13s')", undefined],
  ["add(`12`, '13Ki')", undefined],
  ["add(`12`, '13')", undefined],
  ["add('12Ki', '13Ki')", '25Ki'],
  ["add('12Ki', '13')", '12301'],
  ["add('12Ki', '13s')", undefined],
  ["add('12s', '13s')", '25s'],
  ["add('12s', `13`)", undefined],
  ['sum([])', undefined],
  ['sum([`12`])', 12],
  ['sum([`12`, `13`, `1`, `4`])', 30],
  ["sum(['12Ki', '13Ki', '1Ki', '4Ki'])", '30Ki'],
  ["sum(['12Ki', '13'])", '12301'],
  ["sum(['12s', '13s', '1s', '4s'])", '30s'],
  ["sum(['12s', `13`])", undefined],
  ['subtract(`12`, `13`)', -1],
  ["subtract('12Ki', '13Ki')", '-1Ki'],
  ["subtract('12Ki', '13')", '12275'],
  ["subtract('12s', '13s')", '-1s'],
  ["subtract('12s', '13Ki')", undefined],
  ["multiply('12Ki', `2`)", '24Ki'],
  ["multiply('12Ki', '12Ki')", undefined],
  ["multiply('12s', `2`)", '24s'],
  ["multiply('12s', '12s')", undefined],
  ['multiply(`2.5`, `2.5`)', 6.25],
  ["multiply(`2.5`, '12Ki')", '30Ki'],
  ["multiply(`2.5`, '12')", '30'],
  ["multiply(`2.5`, '40s')", '1m40s'],
  ["divide('256M', '256M')", 1],
  ["divide('512M', '256M')", 2],
  ["divide('8', '3')", 8 / 3],
  ["divide('128M', '256M')", 0.5],
  ["divide('12Ki', `3`)", '4Ki'],
  ["divide('12Ki', '2Ki')", 6],
  ["divide('12Ki', '200')", 61.44],
  ["divide('12Ki', '2s')", undefined],
  ["divide('12s', `3`)", '4s'],
  ["divide('12s', '5s')", 2.4],
  ["divide('12s', '4Ki')", undefined],
  ['divide(`14`, `3`)', 4.666666666666667],
  ["divide(`14`, '5s')", undefined],
  ['divide(`14`, `0`)', undefined],
  ["divide('4Ki', `0`)", undefined],
  ["divide('4Ki', '0Ki')", undefined],
  ["divide('4s', '0s')", undefined],
  ["modulo('12Ki', '5Ki')", '2Ki'],
  ["modulo('13s', '2s')", '1s'],
  ['modulo(`13`, `5`)', 3],
  ['modulo(`14`, `0`)', undefined],
  ["modulo('4', '1.5')", undefined],
  ['modulo(`14.5`, `2`)', undefined],
  ["modulo('12Ki', `13`)", undefined],
  ['round(`9.414675`, `2`)', 9.41],
  ['round(`14.123`, `6`)', 14.123],
  ["round(`23`, '12Ki')", undefined],
  ['round(`14`, `1.5`)', undefined],
  ['round(`14`, `-2`)', undefined],
];

describe("Kyverno's arithmetic cases", () => {
  it.each(
    CASES.map(([expression, want]) => [expression, want === undefined ? 'an error' : JSON.stringify(want), want]),
  )('%s gives %s', (expression, _label, want) => {
    if (want === undefined) expect(errorOf(expression)).toMatch(/JMESPath function|Invalid type/);
    else expect(value(expression)).toBe(want);
  });
});

describe('when an operand string is both a quantity and a duration', () => {
  it('is a quantity: "1m" is a thousandth, not a minute', () => expect(value("add('1m', '1m')")).toBe('2m'));
});

describe('when quantities of different formats are added', () => {
  it("keeps the first one's format", () => expect(value("add('1k', '1Ki')")).toBe('2024'));
  it("takes the second one's format when the first is zero", () => expect(value("add('0', '1Ki')")).toBe('1Ki'));
});

describe('when a quantity is divided by a number', () => {
  it('truncates to the precision of the operands', () => {
    expect(value("divide('10', `3`)")).toBe('3');
    expect(value("divide('10.0', `3`)")).toBe('3300m');
  });
});

describe('when durations overflow', () => {
  it('wraps around as Go int64 arithmetic does', () =>
    expect(value("add('2562047h47m16.854775807s', '1ns')")).toBe('-2562047h47m16.854775808s'));
});

describe('when an operand is neither a number, a quantity nor a duration', () => {
  it('is an invalid operand', () => expect(errorOf("add('ten', '1')")).toContain('invalid operand'));
});
