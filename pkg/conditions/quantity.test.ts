import {
  addQuantities,
  compareQuantities,
  divideQuantity,
  formatQuantity,
  multiplyQuantity,
  parseQuantity,
  subtractQuantities,
  type Quantity,
} from './quantity.js';

function q(text: string): Quantity {
  const parsed = parseQuantity(text);
  if (parsed === undefined) throw new Error(`${text} is not a quantity`);
  return parsed;
}

describe('parsing a quantity', () => {
  it.each([
    '100Mi',
    '1.5',
    '2k',
    '1e3',
    '500m',
    '-1Gi',
    '+3',
    '1E',
    '.5',
    '5.',
    '0.0001',
    '1e-3',
    '1.5Gi',
    '12345678901234567890',
  ])('reads %s', (text) => expect(parseQuantity(text)).toBeDefined());
  it.each(['', 'abc', '1 Gi', '1K', '1gi', '1.2.3', '1e', '1Mi2', '1h', '--1', '0x10'])('refuses %j', (text) =>
    expect(parseQuantity(text)).toBeUndefined(),
  );
  it('reads a bare exponent as zero, as Kubernetes does', () => expect(formatQuantity(q('e3'))).toBe('0'));
  it('rounds up to whole nanos, away from zero', () => {
    expect(formatQuantity(q('0.1n'))).toBe('1n');
    expect(formatQuantity(q('-0.1n'))).toBe('-1n');
  });
  it('caps binary quantities at 2^63-1', () =>
    expect(compareQuantities(q('99999999999999999Ki'), q('9223372036854775807'))).toBe(0));
  it('keeps a huge exponent without writing it out', () => {
    expect(compareQuantities(q('1e2000000000'), q('1e1999999999'))).toBe(1);
    expect(compareQuantities(q('1e-2000000000'), q('0'))).toBe(1);
  });
});

describe('comparing quantities', () => {
  it.each([
    ['1Gi', '512Mi', 1],
    ['1Gi', '1024Mi', 0],
    ['1k', '1000', 0],
    ['1Ki', '1k', 1],
    ['500m', '0.5', 0],
    ['-1', '1m', -1],
    ['1e3', '1k', 0],
    ['0', '-0', 0],
  ])('%s against %s is %d', (a, b, want) => expect(compareQuantities(q(a), q(b))).toBe(want));
});

describe('printing a quantity canonically', () => {
  it.each([
    ['1.5', '1500m'],
    ['1.5Gi', '1536Mi'],
    ['2000', '2k'],
    ['1024', '1024'],
    ['2048Ki', '2Mi'],
    ['1e3', '1e3'],
    ['12e4', '120e3'],
    ['100Mi', '100Mi'],
    ['0.5Ki', '512'],
    ['1.1Ki', '1126400m'],
    ['0', '0'],
  ])('prints %s as %s', (text, want) => expect(formatQuantity(q(text))).toBe(want));
});

describe('quantity arithmetic', () => {
  it('adds keeping the first format', () => expect(formatQuantity(addQuantities(q('12Ki'), q('13Ki')))).toBe('25Ki'));
  it('subtracts into negative binary quantities', () =>
    expect(formatQuantity(subtractQuantities(q('12Ki'), q('13Ki')))).toBe('-1Ki'));
  it('multiplies exactly', () => expect(formatQuantity(multiplyQuantity(q('12Ki'), 2.5))).toBe('30Ki'));
  it('divides at the operands precision', () => expect(formatQuantity(divideQuantity(q('1'), 3))).toBe('0'));
  it('refuses to add quantities too far apart to write out', () =>
    expect(() => addQuantities(q('1e100000'), q('1'))).toThrow('differ too much'));
});
