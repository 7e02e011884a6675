import { toMicroTime } from './micro-time.js';

describe('toMicroTime', () => {
  it('writes six fractional digits, the milliseconds followed by three zeros', () => {
    expect(toMicroTime(new Date('2030-01-02T03:04:05.678Z'))).toBe('2030-01-02T03:04:05.678000Z');
  });

  it('keeps leading and trailing zeros of the milliseconds', () => {
    expect(toMicroTime(new Date('2030-01-02T03:04:05.007Z'))).toBe('2030-01-02T03:04:05.007000Z');
    expect(toMicroTime(new Date('2030-01-02T03:04:05.000Z'))).toBe('2030-01-02T03:04:05.000000Z');
  });

  it('gives what the API server parses as a MicroTime: RFC 3339 in UTC with microseconds', () => {
    const text = toMicroTime(new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999)));
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(Date.parse(text)).toBe(Date.UTC(1999, 11, 31, 23, 59, 59, 999));
  });
});
