import { errorOf, FIXED_NOW, value } from './testdata/search.js';

describe('time_since', () => {
  it('reads RFC 3339 when the layout is empty', () =>
    expect(value("time_since('', '2021-01-02T15:04:05-07:00', '2021-01-10T03:14:05-07:00')")).toBe('180h10m0s'));
  it("reads a Go layout (Kyverno's test with _2 and MST)", () =>
    expect(
      value(
        "time_since('Mon Jan _2 15:04:05 MST 2006', 'Mon Jan 02 15:04:05 MST 2021', 'Mon Jan 10 03:14:16 MST 2021')",
      ),
    ).toBe('180h10m11s'));
  it('measures up to now when the end is empty', () =>
    expect(value("time_since('', '2024-05-06T07:00:00Z', '')")).toBe('8m9s'));
  it('is negative for a time in the future', () =>
    expect(value("time_since('', '2024-05-06T08:00:00Z', '')")).toBe('-51m51s'));
  it('reports a time that does not fit the layout', () =>
    expect(errorOf("time_since('', 'yesterday', '')")).toContain('cannot parse "yesterday" as "2006"'));
});

describe('time_now and time_now_utc', () => {
  it('give the current time in RFC 3339, in UTC', () => {
    expect(value('time_now()')).toBe(new Date(FIXED_NOW).toISOString().replace('.000', ''));
    expect(value('time_now_utc()')).toBe('2024-05-06T07:08:09Z');
  });
});

describe('time_add', () => {
  it('keeps the zone of the time', () =>
    expect(value("time_add('2021-01-02T15:04:05-07:00', '3h')")).toBe('2021-01-02T18:04:05-07:00'));
  it("adds to a parsed time (Kyverno's test)", () =>
    expect(
      value("time_add(time_parse('Mon Jan 02 15:04:05 -0700 2006', 'Sat Jan 02 15:04:05 -0700 2021'), '5h30m40s')"),
    ).toBe('2021-01-02T20:34:45-07:00'));
  it('subtracts a negative duration', () =>
    expect(value("time_add('2024-03-01T00:00:00Z', '-24h')")).toBe('2024-02-29T00:00:00Z'));
  it('reports a bad duration', () =>
    expect(errorOf("time_add('2024-03-01T00:00:00Z', '1d')")).toContain('unknown unit "d"'));
});

describe('time_parse', () => {
  it.each([
    ["time_parse('2006-01-02T15:04:05Z07:00', '2021-01-02T15:04:05-07:00')", '2021-01-02T15:04:05-07:00'],
    ["time_parse('Mon Jan 02 15:04:05 -0700 2006', 'Sat Jan 02 15:04:05 -0700 2021')", '2021-01-02T15:04:05-07:00'],
    ["time_parse('1702691171', '1702691171')", '2023-12-16T01:46:11Z'],
    ["time_parse('2006-01-02', '2024-02-29')", '2024-02-29T00:00:00Z'],
    ["time_parse('02 Jan 06 15:04 MST', '09 Mar 24 10:30 UTC')", '2024-03-09T10:30:00Z'],
    ["time_parse('January 2, 2006 3:04PM', 'march 9, 2024 1:05PM')", '2024-03-09T13:05:00Z'],
    ["time_parse('2006-01-02 15:04:05.000', '2024-03-09 10:30:00.123')", '2024-03-09T10:30:00Z'],
    ["time_parse('2006-01-02T15:04:05Z0700', '2024-03-09T10:30:00+0530')", '2024-03-09T10:30:00+05:30'],
    ["time_parse('Mon, 02 Jan 2006 15:04:05 MST', 'Sat, 09 Mar 2024 10:30:00 GMT+3')", '2024-03-09T10:30:00+03:00'],
  ])('%s is %s', (expression, want) => expect(value(expression)).toBe(want));
  it('reads fractional seconds RFC 3339 does not mention', () =>
    expect(value("time_diff('2024-01-01T00:00:00Z', '2024-01-01T00:00:01.5Z')")).toBe('1.5s'));
  it('refuses a day the month does not have', () =>
    expect(errorOf("time_parse('2006-01-02', '2023-02-29')")).toContain('day out of range'));
  it('refuses an hour out of range', () =>
    expect(errorOf("time_parse('2006-01-02T15:04:05Z07:00', '2024-01-01T24:00:00Z')")).toContain('hour out of range'));
  it('refuses text after the time', () =>
    expect(errorOf("time_parse('2006-01-02', '2024-01-01 trailing')")).toContain('extra text'));
  it('refuses the day-of-year element clearly', () =>
    expect(errorOf("time_parse('2006-002', '2024-060')")).toContain('day of the year (002) is not supported'));
});

describe('time_utc, time_diff and time_to_cron', () => {
  it.each([
    ["time_utc('2023-02-02T15:04:05Z')", '2023-02-02T15:04:05Z'],
    ["time_utc('2023-02-02T15:04:05-07:00')", '2023-02-02T22:04:05Z'],
    ["time_diff('2021-01-02T15:04:05-07:00', '2021-01-10T03:14:05-07:00')", '180h10m0s'],
    ["time_to_cron('2023-02-02T15:04:05Z')", '4 15 2 2 4'],
    ["time_to_cron(time_utc('2023-02-02T15:04:05-07:00'))", '4 22 2 2 4'],
  ])('%s is %s', (expression, want) => expect(value(expression)).toBe(want));
});

describe('time_before, time_after and time_between', () => {
  it.each([
    ["time_before('2021-01-02T15:04:05Z', '2021-01-02T15:04:06Z')", true],
    ["time_before('2021-01-02T15:04:05Z', '2021-01-02T15:04:05Z')", false],
    ["time_after('2021-01-02T16:04:05+01:00', '2021-01-02T15:04:04Z')", true],
    ["time_after('2021-01-02T16:04:05+01:00', '2021-01-02T15:04:05Z')", false],
    ["time_between('2021-01-02T15:04:05Z', '2021-01-01T00:00:00Z', '2021-01-03T00:00:00Z')", true],
    ["time_between('2021-01-01T00:00:00Z', '2021-01-01T00:00:00Z', '2021-01-03T00:00:00Z')", false],
  ])('%s is %s', (expression, want) => expect(value(expression)).toBe(want));
  it('refuses a time that is not RFC 3339', () =>
    expect(errorOf("time_before('2021-01-02', '2021-01-03T00:00:00Z')")).toContain('parsing time'));
});

describe('time_truncate', () => {
  it('rounds down to a multiple of the duration', () =>
    expect(value("time_truncate('2024-05-06T07:38:09Z', '1h')")).toBe('2024-05-06T07:00:00Z'));
  it('counts from year 1, not from the zone', () =>
    expect(value("time_truncate('2024-05-06T07:38:09+05:30', '1h')")).toBe('2024-05-06T07:30:00+05:30'));
  it('leaves the time for a duration that is not positive', () =>
    expect(value("time_truncate('2024-05-06T07:38:09Z', '0s')")).toBe('2024-05-06T07:38:09Z'));
});
