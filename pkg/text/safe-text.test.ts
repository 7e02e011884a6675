import { quoteText, sanitizeText } from './safe-text.js';

// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('sanitizeText', () => {
  it('keeps ordinary text, Unicode included', () => {
    expect(sanitizeText('manifest unknown: café ✓ 日本', 100)).toBe('manifest unknown: café ✓ 日本');
  });

  it.each([
    ['a newline that would forge a log line', 'ok\nlevel=error msg="forged"'],
    ['an ANSI escape', 'ok\u001b[31mred'],
    ['a C1 control', 'ok\u0085next line'],
    ['DEL', 'ok\u007f'],
    ['a right-to-left override', 'ok\u202eevil'],
    ['a first-strong isolate', 'ok\u2068evil\u2069'],
    ['a left-to-right mark', 'ok\u200eevil'],
    ['a line separator', 'ok\u2028evil'],
  ])('strips %s', (_what, text) => {
    const clean = sanitizeText(text, 100);
    expect(clean).not.toMatch(UNSAFE);
    expect(clean.startsWith('ok')).toBe(true);
  });

  it('turns each run of unsafe characters into one space, so words do not merge', () => {
    expect(sanitizeText('a\r\n\tb\u202ec', 100)).toBe('a b c');
  });

  it('cuts long text short, with an ellipsis', () => {
    expect(sanitizeText('x'.repeat(1000), 10)).toBe(`${'x'.repeat(10)}…`);
  });

  it('never splits a surrogate pair', () => {
    const cut = sanitizeText(`${'x'.repeat(9)}😀tail`, 10);
    expect(cut).toBe(`${'x'.repeat(9)}…`);
    expect(cut.isWellFormed()).toBe(true);
  });

  it('replaces lone surrogates', () => {
    expect(sanitizeText('a\ud800b', 10)).toBe('a\ufffdb');
  });

  it('costs no more than the prefix it keeps, however long the input', () => {
    const huge = `${'\u0000'.repeat(1)}${'y'.repeat(50 * 1024 * 1024)}`;
    const started = Date.now();
    expect(sanitizeText(huge, 64)).toHaveLength(65);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('quoteText', () => {
  it('quotes a string with quotes and backslashes escaped', () => {
    expect(quoteText('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
  });

  it('names other JSON values by their kind rather than serialising them', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(quoteText(deep)).toBe('an array');
    expect(quoteText({ a: 1 })).toBe('an object');
    expect(quoteText(null)).toBe('null');
    expect(quoteText(undefined)).toBe('nothing');
    expect(quoteText(2)).toBe('2');
    expect(quoteText(true)).toBe('true');
  });

  it('cuts a long string to the quoting length', () => {
    expect(quoteText('z'.repeat(1000))).toBe(`"${'z'.repeat(64)}…"`);
  });
});
