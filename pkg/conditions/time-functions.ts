// Kyverno's time functions (pkg/engine/jmespath/time.go). Times are RFC 3339 strings unless a function takes a Go
// layout; "now" is the caller's clock (evaluation options), printed in UTC as Kyverno's pods, which run in UTC, do.
import type { EvaluationRun } from './evaluation-run.js';
import { functionError, STRING, type FunctionDefinition } from './function-definition.js';
import { formatGoDuration, parseGoDuration } from './go-duration.js';
import {
  addDuration,
  compareTimes,
  formatRfc3339,
  fromUnixMillis,
  fromUnixSeconds,
  parseGoTime,
  RFC3339_LAYOUT,
  subtractTimes,
  toUtc,
  truncateTime,
  wallClock,
  type GoTime,
} from './go-time.js';
import { parseGoInt64 } from './quantity.js';

export const TIME_FUNCTIONS: readonly FunctionDefinition[] = [
  {
    name: 'time_since',
    signature: [STRING, STRING, STRING],
    run: ([layout, start, end], run) => {
      const format = (layout as string) === '' ? RFC3339_LAYOUT : (layout as string);
      const t1 = parseTime('time_since', format, start as string);
      const t2 = (end as string) === '' ? now(run) : parseTime('time_since', format, end as string);
      return formatGoDuration(subtractTimes(t2, t1));
    },
  },
  { name: 'time_now', signature: [], run: (_, run) => formatRfc3339(now(run)) },
  { name: 'time_now_utc', signature: [], run: (_, run) => formatRfc3339(now(run)) },
  {
    name: 'time_add',
    signature: [STRING, STRING],
    run: ([time, duration]) =>
      formatRfc3339(addDuration(rfc3339('time_add', time as string), durationArg('time_add', duration as string))),
  },
  {
    name: 'time_parse',
    signature: [STRING, STRING],
    run: ([layout, value]) => {
      // A layout that is an integer means "value is Unix seconds".
      if (parseGoInt64(layout as string) !== undefined) {
        const seconds = parseGoInt64(value as string);
        if (seconds === undefined)
          throw functionError('time_parse', `strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
        return formatRfc3339(fromUnixSeconds(Number(seconds)));
      }
      return formatRfc3339(parseTime('time_parse', layout as string, value as string));
    },
  },
  { name: 'time_utc', signature: [STRING], run: ([time]) => formatRfc3339(toUtc(rfc3339('time_utc', time as string))) },
  {
    name: 'time_diff',
    signature: [STRING, STRING],
    run: ([start, end]) =>
      formatGoDuration(subtractTimes(rfc3339('time_diff', end as string), rfc3339('time_diff', start as string))),
  },
  {
    name: 'time_before',
    signature: [STRING, STRING],
    run: ([a, b]) => compareTimes(rfc3339('time_before', a as string), rfc3339('time_before', b as string)) < 0,
  },
  {
    name: 'time_after',
    signature: [STRING, STRING],
    run: ([a, b]) => compareTimes(rfc3339('time_after', a as string), rfc3339('time_after', b as string)) > 0,
  },
  {
    name: 'time_between',
    signature: [STRING, STRING, STRING],
    run: ([time, start, end]) => {
      const t = rfc3339('time_between', time as string);
      return (
        compareTimes(t, rfc3339('time_between', start as string)) > 0 &&
        compareTimes(t, rfc3339('time_between', end as string)) < 0
      );
    },
  },
  {
    name: 'time_truncate',
    signature: [STRING, STRING],
    run: ([time, duration]) =>
      formatRfc3339(
        truncateTime(rfc3339('time_truncate', time as string), durationArg('time_truncate', duration as string)),
      ),
  },
  {
    name: 'time_to_cron',
    signature: [STRING],
    run: ([time]) => {
      const w = wallClock(rfc3339('time_to_cron', time as string));
      return `${w.minute} ${w.hour} ${w.day} ${w.month} ${w.weekday}`;
    },
  },
];

function now(run: EvaluationRun): GoTime {
  return fromUnixMillis(run.now());
}

function parseTime(fn: string, layout: string, value: string): GoTime {
  const parsed = parseGoTime(layout, value);
  if (!parsed.ok) throw functionError(fn, parsed.message);
  return parsed.time;
}

function rfc3339(fn: string, value: string): GoTime {
  return parseTime(fn, RFC3339_LAYOUT, value);
}

function durationArg(fn: string, value: string): bigint {
  const parsed = parseGoDuration(value);
  if (!parsed.ok) throw functionError(fn, parsed.message);
  return parsed.nanos;
}
