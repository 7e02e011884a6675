// Kyverno's operator.parseDuration: when at least one side of a comparison is a duration string, both sides are
// compared as durations, a number counting as whole seconds (Go converts 1.5 to 1s). "0" alone does not make a
// side a duration, so that "0" and 0 still compare as numbers and quantities.
import { secondsToDuration } from './go-duration.js';
import type { Operand } from './operand.js';

export function durationPair(key: Operand, value: Operand): readonly [bigint, bigint] | undefined {
  const keyDuration = durationString(key);
  const valueDuration = durationString(value);
  if (keyDuration === undefined && valueDuration === undefined) return undefined;
  const k = keyDuration ?? secondsOf(key);
  const v = valueDuration ?? secondsOf(value);
  return k === undefined || v === undefined ? undefined : [k, v];
}

function durationString(operand: Operand): bigint | undefined {
  return typeof operand.value === 'string' && operand.value !== '0' ? operand.duration : undefined;
}

function secondsOf(operand: Operand): bigint | undefined {
  return typeof operand.value === 'number' ? secondsToDuration(operand.value) : undefined;
}
