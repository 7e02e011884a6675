import { EventSeries, toSeriesKey, type EventInput, type SeriesDecision } from './event-series.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;

function makeClock() {
  let ms = T0;
  return {
    now: () => new Date(ms),
    advance: (by: number) => void (ms += by),
  };
}

const policyError: EventInput = {
  regarding: { kind: 'ClusterPolicy', apiVersion: 'kyverno.io/v1', name: 'verify', uid: 'u-1' },
  type: 'Warning',
  reason: 'PolicyError',
  action: 'Reconcile',
  note: 'rule check-image: no attestors',
};

const updateOf = (d: SeriesDecision<string>) => (d.action === 'update' ? [d.event, d.count] : d.action);

describe('toSeriesKey', () => {
  describe('when two events differ only in a field that makes them distinct Events', () => {
    it.each<[string, Partial<EventInput>]>([
      ['note', { note: 'another note' }],
      ['reason', { reason: 'PolicyViolation' }],
      ['action', { action: 'Validate' }],
      ['type', { type: 'Normal' }],
      ['regarding uid', { regarding: { ...policyError.regarding, uid: 'u-2' } }],
      ['regarding namespace', { regarding: { ...policyError.regarding, namespace: 'team-a' } }],
      ['regarding kind', { regarding: { ...policyError.regarding, kind: 'Policy' } }],
      ['related', { related: { kind: 'Pod', apiVersion: 'v1', name: 'web', namespace: 'team-a' } }],
    ])('gives them different keys (%s)', (_field, change) => {
      expect(toSeriesKey({ ...policyError, ...change })).not.toBe(toSeriesKey(policyError));
    });
  });

  describe('when two events are equal field by field', () => {
    it('gives them the same key', () => {
      const copy = { ...policyError, regarding: { ...policyError.regarding } };
      expect(toSeriesKey(copy)).toBe(toSeriesKey(policyError));
    });
  });

  describe('when names contain the separator characters', () => {
    it('keeps the fields apart', () => {
      const a = { ...policyError, reason: 'a","b', action: 'c' };
      const b = { ...policyError, reason: 'a', action: 'b","c' };
      expect(toSeriesKey(a)).not.toBe(toSeriesKey(b));
    });
  });
});

describe('EventSeries', () => {
  describe('when an event is observed for the first time', () => {
    it('says create, with the payload given', () => {
      const clock = makeClock();
      const series = new EventSeries<string>();
      expect(series.observe('k', 'event-1', clock.now())).toEqual({ action: 'create', event: 'event-1' });
      expect(series.size).toBe(1);
      expect(series.nextDueAt()).toBeUndefined();
    });
  });

  describe('when it recurs within the heartbeat of the last write', () => {
    it('only counts it, and makes it due one heartbeat after the create', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ heartbeatMs: 30 * SECOND });
      series.observe('k', 'event-1', clock.now());
      clock.advance(SECOND);
      const due = new Date(T0 + 30 * SECOND);
      expect(series.observe('k', 'event-2', clock.now())).toEqual({ action: 'wait', dueAt: due });
      clock.advance(SECOND);
      expect(series.observe('k', 'event-3', clock.now())).toEqual({ action: 'wait', dueAt: due });
      expect(series.nextDueAt()).toEqual(new Date(T0 + 30 * SECOND));
      expect(series.takeDue(clock.now())).toEqual([]);
    });
  });

  describe('when the heartbeat has passed since the last write', () => {
    it('hands out the accumulated count once, against the first payload, with the last observation time', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ heartbeatMs: 30 * SECOND });
      series.observe('k', 'event-1', clock.now());
      clock.advance(SECOND);
      series.observe('k', 'event-2', clock.now());
      clock.advance(SECOND);
      series.observe('k', 'event-3', clock.now());
      clock.advance(28 * SECOND);
      expect(series.takeDue(clock.now())).toEqual([
        { action: 'update', event: 'event-1', count: 3, lastObservedTime: new Date(T0 + 2 * SECOND) },
      ]);
      expect(series.takeDue(clock.now())).toEqual([]);
      expect(series.nextDueAt()).toBeUndefined();
    });

    it('says update right away when the next occurrence comes after the heartbeat', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ heartbeatMs: 30 * SECOND });
      series.observe('k', 'event-1', clock.now());
      clock.advance(31 * SECOND);
      expect(series.observe('k', 'event-2', clock.now())).toEqual({
        action: 'update',
        event: 'event-1',
        count: 2,
        lastObservedTime: new Date(T0 + 31 * SECOND),
      });
      expect(series.nextDueAt()).toBeUndefined();
    });

    it('waits a full heartbeat after that update before the next one', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ heartbeatMs: 30 * SECOND });
      series.observe('k', 'e', clock.now());
      clock.advance(30 * SECOND);
      expect(updateOf(series.observe('k', 'e', clock.now()))).toEqual(['e', 2]);
      clock.advance(29 * SECOND);
      expect(series.observe('k', 'e', clock.now())).toEqual({ action: 'wait', dueAt: new Date(T0 + 60 * SECOND) });
      expect(series.nextDueAt()).toEqual(new Date(T0 + 60 * SECOND));
      clock.advance(SECOND);
      expect(series.takeDue(clock.now()).map((u) => u.count)).toEqual([3]);
    });
  });

  describe('when different events recur', () => {
    it('keeps a series for each', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ heartbeatMs: 30 * SECOND });
      expect(series.observe('a', 'a1', clock.now()).action).toBe('create');
      expect(series.observe('b', 'b1', clock.now()).action).toBe('create');
      series.observe('a', 'a2', clock.now());
      series.observe('a', 'a3', clock.now());
      series.observe('b', 'b2', clock.now());
      clock.advance(30 * SECOND);
      const due = series.takeDue(clock.now()).map((u) => [u.event, u.count]);
      expect(due.sort()).toEqual([
        ['a1', 3],
        ['b1', 2],
      ]);
    });
  });

  describe('when an event is not observed again within the time to live', () => {
    it('ends the series, so the next occurrence creates a new Event', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ ttlMs: 6 * MINUTE, heartbeatMs: 30 * SECOND });
      series.observe('k', 'event-1', clock.now());
      clock.advance(6 * MINUTE);
      expect(series.observe('k', 'event-2', clock.now())).toEqual({ action: 'create', event: 'event-2' });
      expect(series.size).toBe(1);
    });

    it('still hands out the final count of a series that had not been written', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ ttlMs: 6 * MINUTE, heartbeatMs: 30 * SECOND });
      series.observe('k', 'event-1', clock.now());
      series.observe('k', 'event-1b', clock.now());
      clock.advance(6 * MINUTE);
      expect(series.observe('k', 'event-2', clock.now()).action).toBe('create');
      expect(series.nextDueAt()).toEqual(new Date(0));
      expect(series.takeDue(clock.now())).toEqual([
        { action: 'update', event: 'event-1', count: 2, lastObservedTime: new Date(T0) },
      ]);
    });

    it('forgets it on the next takeDue even when nothing else is observed', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ ttlMs: 6 * MINUTE });
      series.observe('k', 'event-1', clock.now());
      clock.advance(6 * MINUTE);
      expect(series.takeDue(clock.now())).toEqual([]);
      expect(series.size).toBe(0);
    });
  });

  describe('when a series keeps recurring', () => {
    it('keeps it alive past the time to live of its first occurrence', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ ttlMs: 6 * MINUTE, heartbeatMs: 30 * SECOND });
      series.observe('k', 'event-1', clock.now());
      for (let i = 0; i < 10; i++) {
        clock.advance(MINUTE);
        expect(series.observe('k', 'event-n', clock.now()).action).toBe('update');
      }
      const last = series.observe('k', 'event-n', clock.now());
      expect(last).toEqual({ action: 'wait', dueAt: new Date(T0 + 10 * MINUTE + 30 * SECOND) });
      clock.advance(30 * SECOND);
      expect(series.takeDue(clock.now())).toEqual([
        { action: 'update', event: 'event-1', count: 12, lastObservedTime: new Date(T0 + 10 * MINUTE) },
      ]);
    });
  });

  describe('when more distinct events are observed than it may remember', () => {
    it('forgets the least recently observed one', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ maxEntries: 2 });
      series.observe('a', 'a1', clock.now());
      series.observe('b', 'b1', clock.now());
      series.observe('a', 'a2', clock.now());
      expect(series.observe('c', 'c1', clock.now()).action).toBe('create');
      expect(series.size).toBe(2);
      expect(series.observe('a', 'a3', clock.now()).action).toBe('wait');
      expect(series.observe('b', 'b2', clock.now())).toEqual({ action: 'create', event: 'b2' });
    });

    it('hands out the unwritten count of the one it forgets', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ maxEntries: 1 });
      series.observe('a', 'a1', clock.now());
      series.observe('a', 'a2', clock.now());
      series.observe('b', 'b1', clock.now());
      expect(series.takeDue(clock.now())).toEqual([
        { action: 'update', event: 'a1', count: 2, lastObservedTime: new Date(T0) },
      ]);
    });
  });

  describe('when shutting down with counts not yet written', () => {
    it('hands them all out whatever the heartbeat, once', () => {
      const clock = makeClock();
      const series = new EventSeries<string>({ heartbeatMs: 30 * SECOND });
      series.observe('a', 'a1', clock.now());
      series.observe('b', 'b1', clock.now());
      clock.advance(SECOND);
      series.observe('a', 'a2', clock.now());
      expect(series.takePending()).toEqual([
        { action: 'update', event: 'a1', count: 2, lastObservedTime: new Date(T0 + SECOND) },
      ]);
      expect(series.takePending()).toEqual([]);
      expect(series.nextDueAt()).toBeUndefined();
    });
  });
});
