// Event series in the manner of client-go's tools/events EventBroadcaster (KEP-383,
// https://github.com/kubernetes/enhancements/tree/master/keps/sig-instrumentation/383-new-event-api-ga-graduation):
// an Event isomorphic to one written in the last few minutes is not created again; the existing Event's
// `series` (count, lastObservedTime) is bumped instead, and that write happens at most once per heartbeat, with
// the occurrences in between only counted. This part only decides; the caller supplies the time and does the
// writes, so it is tested with a fake clock.

/** A reference to an object, as in an Event's `regarding` and `related`. */
export interface EventObjectReference {
  readonly kind: string;
  readonly apiVersion: string;
  readonly name: string;
  /** Absent for cluster-scoped objects. */
  readonly namespace?: string;
  readonly uid?: string;
}

/** What a caller records: everything that makes two Events isomorphic, and nothing else. */
export interface EventInput {
  readonly regarding: EventObjectReference;
  readonly related?: EventObjectReference;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

export interface SeriesOptions {
  /** How many distinct events are remembered; the least recently observed one is forgotten first. */
  readonly maxEntries: number;
  /** An event not observed again for this long ends its series: the next occurrence creates a new Event. */
  readonly ttlMs: number;
  /** The least time between two writes of one Event; occurrences in between are only counted. */
  readonly heartbeatMs: number;
}

/** client-go's values: finishTime 6 min, refreshTime 30 s; the cache bound is ours. */
export const DEFAULT_SERIES_OPTIONS: SeriesOptions = { maxEntries: 4096, ttlMs: 6 * 60_000, heartbeatMs: 30_000 };

/** Write a new Event (the first occurrence, or the first after its series ended). */
export interface SeriesCreate<T> {
  readonly action: 'create';
  readonly event: T;
}

/** Set `series` on the Event created for `event`: `count` occurrences so far, the last at `lastObservedTime`. */
export interface SeriesUpdate<T> {
  readonly action: 'update';
  readonly event: T;
  readonly count: number;
  readonly lastObservedTime: Date;
}

/** Counted; handed out by takeDue() from `dueAt` (or by takePending()). */
export interface SeriesWait {
  readonly action: 'wait';
  readonly dueAt: Date;
}

export type SeriesDecision<T> = SeriesCreate<T> | SeriesUpdate<T> | SeriesWait;

interface Entry<T> {
  /** The payload of the first occurrence: the Event that was created and whose series is bumped. */
  readonly event: T;
  count: number;
  /** The count last handed out for writing (1 once created). */
  writtenCount: number;
  lastObservedTime: Date;
  lastWriteTime: Date;
}

/**
 * The key under which two events are the same Event: client-go's getKey (regarding, related, reason, action,
 * reportingController, note) plus type; the reporting controller is one per recorder, so it is left out.
 */
export function toSeriesKey(event: EventInput): string {
  const ref = (r: EventObjectReference | undefined) =>
    r ? [r.uid ?? '', r.kind, r.apiVersion, r.namespace ?? '', r.name] : null;
  return JSON.stringify([ref(event.regarding), ref(event.related), event.type, event.reason, event.action, event.note]);
}

/**
 * The series of the events recorded recently, keyed by toSeriesKey(). T is whatever the caller needs to write
 * the Event later (its name, namespace and body); the one of the first occurrence is kept.
 */
export class EventSeries<T> {
  readonly #options: SeriesOptions;
  /** In order of last observation, oldest first: the front is both the least recently used and the stalest. */
  readonly #entries = new Map<string, Entry<T>>();
  /** Keys whose count has not been handed out for writing yet. */
  readonly #pending = new Set<string>();
  /** Final counts of series forgotten (evicted or expired) before they were handed out. */
  #orphans: SeriesUpdate<T>[] = [];

  constructor(options: Partial<SeriesOptions> = {}) {
    this.#options = { ...DEFAULT_SERIES_OPTIONS, ...options };
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Counts one occurrence of the event under `key` at `now`, and says what to write for it now. */
  observe(key: string, event: T, now: Date): SeriesDecision<T> {
    this.#expire(now);
    const entry = this.#entries.get(key);
    if (!entry) {
      this.#entries.set(key, { event, count: 1, writtenCount: 1, lastObservedTime: now, lastWriteTime: now });
      this.#evictOverflow();
      return { action: 'create', event };
    }
    // Move to the back: most recently observed.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    entry.count++;
    entry.lastObservedTime = now;
    if (now.getTime() - entry.lastWriteTime.getTime() >= this.#options.heartbeatMs)
      return this.#handOut(key, entry, now);
    this.#pending.add(key);
    return { action: 'wait', dueAt: new Date(entry.lastWriteTime.getTime() + this.#options.heartbeatMs) };
  }

  /** The series updates whose heartbeat has come (and the final counts of forgotten series), handed out once. */
  takeDue(now: Date): SeriesUpdate<T>[] {
    this.#expire(now);
    const due = this.#takeOrphans();
    for (const key of this.#pending) {
      const entry = this.#entries.get(key)!;
      if (now.getTime() - entry.lastWriteTime.getTime() >= this.#options.heartbeatMs) {
        due.push(this.#handOut(key, entry, now));
      }
    }
    return due;
  }

  /** Every count not yet handed out, heartbeat or not: the last writes before shutting down. */
  takePending(): SeriesUpdate<T>[] {
    const pending = this.#takeOrphans();
    for (const key of this.#pending) {
      const entry = this.#entries.get(key)!;
      pending.push(this.#handOut(key, entry, entry.lastWriteTime));
    }
    return pending;
  }

  /** When takeDue() will next have something; undefined when nothing waits. */
  nextDueAt(): Date | undefined {
    let next = this.#orphans.length > 0 ? 0 : Infinity;
    for (const key of this.#pending) {
      next = Math.min(next, this.#entries.get(key)!.lastWriteTime.getTime() + this.#options.heartbeatMs);
    }
    return next === Infinity ? undefined : new Date(next);
  }

  #handOut(key: string, entry: Entry<T>, writeTime: Date): SeriesUpdate<T> {
    entry.writtenCount = entry.count;
    entry.lastWriteTime = writeTime;
    this.#pending.delete(key);
    return { action: 'update', event: entry.event, count: entry.count, lastObservedTime: entry.lastObservedTime };
  }

  /** Forgets the series not observed for ttlMs; they sit at the front, so this stops at the first live one. */
  #expire(now: Date): void {
    for (const [key, entry] of this.#entries) {
      if (now.getTime() - entry.lastObservedTime.getTime() < this.#options.ttlMs) return;
      this.#forget(key, entry);
    }
  }

  #evictOverflow(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#options.maxEntries) return;
      this.#forget(key, entry);
    }
  }

  #forget(key: string, entry: Entry<T>): void {
    this.#entries.delete(key);
    if (this.#pending.delete(key)) {
      this.#orphans.push({
        action: 'update',
        event: entry.event,
        count: entry.count,
        lastObservedTime: entry.lastObservedTime,
      });
    }
  }

  #takeOrphans(): SeriesUpdate<T>[] {
    const orphans = this.#orphans;
    this.#orphans = [];
    return orphans;
  }
}
