// Writes events.k8s.io/v1 Events about our objects, as Kyverno does about its policies, without ever making
// the caller wait: record() only counts the event into its series (../event-series.ts) and queues the write; one
// worker, begun by start(), does the API calls, and a failed write is logged and dropped (client-go's tools/events
// drops rejected writes too; it also retries connection errors, which we do not: Events are best effort).
// The Event API: https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/
import type { V1ObjectReference } from '@kubernetes/client-node';
import { CONTENT_TYPE, toMicroTime, type Event, type EventsApi } from '../../pkg/kube/index.js';
import { toEventType, type EventReason } from '../../pkg/conditions/index.js';
import { errorFields, type Logger } from '../../pkg/log/index.js';
import {
  DEFAULT_SERIES_OPTIONS,
  EventSeries,
  toSeriesKey,
  type EventInput,
  type EventObjectReference,
  type SeriesOptions,
  type SeriesUpdate,
} from '../event-series.js';
import { apiErrorFields, toApiError } from './api-error.js';

export type { EventInput, EventObjectReference } from '../event-series.js';

/** Our reportingController: the API server wants a qualified name, `example.com/controller`. */
export const REPORTING_CONTROLLER = 'imprimatur.io/operator';

/** Kyverno's reasons for events about policies, from the one vocabulary (pkg/conditions/reasons.ts). */
export type PolicyEventReason = EventReason;
export { toEventType };

export interface EventRecorderDeps {
  readonly events: Pick<EventsApi, 'createNamespacedEvent' | 'patchNamespacedEvent'>;
  /** reportingController: a qualified name, such as REPORTING_CONTROLLER. */
  readonly controller: string;
  /** reportingInstance: which replica reports, e.g. the pod name and its identity; cut to 128 bytes. */
  readonly instance: string;
  readonly log: Logger;
  readonly now: () => Date;
}

export interface EventRecorderOptions extends Partial<SeriesOptions> {
  /** Writes waiting at most; past it record() drops the event. */
  readonly queueSize?: number;
  /** How long stop() waits for the queue and the unwritten series counts to be written. */
  readonly flushTimeoutMs?: number;
  /** A dropped event is logged on the first drop and then once per this many. */
  readonly logDropsEvery?: number;
}

// The API server's limits (k8s.io/kubernetes pkg/apis/core/validation/events.go), which count bytes.
const NOTE_MAX_BYTES = 1024;
const INSTANCE_MAX_BYTES = 128;
const NAME_MAX_LENGTH = 253;
const CLUSTER_SCOPED_EVENT_NAMESPACE = 'default';
const DEFAULTS = { queueSize: 1000, flushTimeoutMs: 5000, logDropsEvery: 100 };

/** The Event to write for a series: where, and the body of its first occurrence. */
interface StoredEvent {
  readonly namespace: string;
  readonly name: string;
  readonly body: Event;
}

type Write = { readonly action: 'create'; readonly event: StoredEvent } | SeriesUpdate<StoredEvent>;

export class EventRecorder {
  readonly #deps: EventRecorderDeps;
  readonly #options: typeof DEFAULTS & { readonly heartbeatMs: number };
  readonly #series: EventSeries<StoredEvent>;
  readonly #instance: string;
  readonly #mergePatch = { contentType: CONTENT_TYPE.mergePatch };
  readonly #queue: Write[] = [];
  #dropped = 0;
  #worker: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** While the worker sleeps: when its timer fires, in the `now` clock's milliseconds (Infinity: no timer). */
  #sleepingUntil = Infinity;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  /** Set when stop() gave up waiting: the worker ends after the write under way. */
  #abandoned = false;

  constructor(deps: EventRecorderDeps, options: EventRecorderOptions = {}) {
    if (!isQualifiedName(deps.controller)) {
      throw new TypeError(`reporting controller ${JSON.stringify(deps.controller)} is not a qualified name`);
    }
    if (deps.instance === '') throw new TypeError('reporting instance is empty');
    this.#deps = deps;
    this.#options = {
      queueSize: options.queueSize ?? DEFAULTS.queueSize,
      flushTimeoutMs: options.flushTimeoutMs ?? DEFAULTS.flushTimeoutMs,
      logDropsEvery: options.logDropsEvery ?? DEFAULTS.logDropsEvery,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_SERIES_OPTIONS.heartbeatMs,
    };
    this.#series = new EventSeries(options);
    this.#instance = truncateUtf8(deps.instance, INSTANCE_MAX_BYTES);
  }

  /** Events not written because the queue was full or the recorder stopped. */
  get droppedCount(): number {
    return this.#dropped;
  }

  /** Counts the event and queues what it needs written; returns at once and never throws. */
  record(input: EventInput): void {
    try {
      if (this.#stopping) {
        this.#drop(input, 'stopped');
        return;
      }
      const now = this.#deps.now();
      const event = { ...input, note: truncateUtf8(input.note, NOTE_MAX_BYTES) };
      const decision = this.#series.observe(toSeriesKey(event), this.#toStoredEvent(event, now), now);
      if (decision.action === 'wait') {
        // The worker may be asleep with no timer, or a later one, than this count needs.
        if (decision.dueAt.getTime() < this.#sleepingUntil) this.#wake?.();
        return;
      }
      if (this.#queue.length >= this.#options.queueSize) {
        this.#drop(input, 'queue full');
        return;
      }
      this.#queue.push(decision);
      this.#wake?.();
    } catch (e) {
      this.#deps.log.error('could not record event', errorFields(e));
    }
  }

  /** Begins the worker that writes the queue and the series heartbeats. */
  start(): void {
    if (this.#worker || this.#stopping) return;
    this.#worker = this.#work();
  }

  /** Writes what is queued and every unwritten series count, for at most `timeoutMs`, then stops. */
  stop(timeoutMs = this.#options.flushTimeoutMs): Promise<void> {
    this.#stopped ??= this.#stop(timeoutMs);
    return this.#stopped;
  }

  async #stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    if (!this.#worker) {
      if (this.#queue.length > 0)
        this.#deps.log.warn('event recorder stopped before it started', { unwritten: this.#queue.length });
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
    const timedOut = await Promise.race([this.#worker.then(() => false), deadline]);
    clearTimeout(timer);
    if (timedOut) {
      this.#abandoned = true;
      this.#deps.log.warn('event recorder stopped before writing every event', { unwritten: this.#queue.length });
    }
  }

  async #work(): Promise<void> {
    while (!this.#abandoned) {
      const write = this.#queue.shift();
      if (write) {
        await this.#write(write);
        continue;
      }
      // Not bounded by queueSize: the series are, and these counts must not be lost.
      const due = this.#stopping ? this.#series.takePending() : this.#series.takeDue(this.#deps.now());
      if (due.length > 0) {
        this.#queue.push(...due);
        continue;
      }
      if (this.#stopping) return;
      await this.#sleep(this.#series.nextDueAt());
    }
  }

  /** Until record() or stop() wakes it, or the next series heartbeat is due. */
  #sleep(until: Date | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.#sleepingUntil = Infinity;
      if (until) {
        // At least 1 ms, lest a clock behind the series spin the loop; at most a heartbeat, lest one ahead stall it.
        const now = this.#deps.now().getTime();
        const ms = Math.min(Math.max(until.getTime() - now, 1), this.#options.heartbeatMs);
        timer = setTimeout(() => this.#wake?.(), ms);
        // A heartbeat alone must not keep the process alive.
        timer.unref();
        this.#sleepingUntil = now + ms;
      }
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#sleepingUntil = Infinity;
        resolve();
      };
    });
  }

  async #write(write: Write): Promise<void> {
    const { namespace, name, body } = write.event;
    try {
      if (write.action === 'create') await this.#deps.events.createNamespacedEvent({ namespace, body });
      else await this.#writeSeries(write);
    } catch (e) {
      // `reason` in the log is the API server's (apiErrorFields); the Event's is eventReason.
      const fields = { namespace, name, eventReason: body.reason, ...apiErrorFields(e) };
      this.#deps.log.warn(`could not ${write.action} event`, fields);
    }
  }

  async #writeSeries(update: SeriesUpdate<StoredEvent>): Promise<void> {
    const { namespace, name, body } = update.event;
    const series: NonNullable<Event['series']> = {
      count: update.count,
      lastObservedTime: toMicroTime(update.lastObservedTime),
    };
    try {
      await this.#deps.events.patchNamespacedEvent({ name, namespace, body: { series } }, this.#mergePatch);
    } catch (e) {
      // Gone (deleted, or its create failed or was dropped): write it anew, series and all, as client-go does.
      if (toApiError(e).code !== 404) throw e;
      await this.#deps.events.createNamespacedEvent({ namespace, body: { ...body, series } });
    }
  }

  #toStoredEvent(event: EventInput, now: Date): StoredEvent {
    const namespace = event.regarding.namespace || CLUSTER_SCOPED_EVENT_NAMESPACE;
    const name = makeEventName(event.regarding.name, now);
    const body: Event = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      // Six fractional digits: the API server rejects toISOString()'s three for a MicroTime.
      eventTime: toMicroTime(now),
      reportingController: this.#deps.controller,
      reportingInstance: this.#instance,
      regarding: toObjectReference(event.regarding),
      ...(event.related ? { related: toObjectReference(event.related) } : {}),
      type: event.type,
      reason: event.reason,
      action: event.action,
      note: event.note,
    };
    return { namespace, name, body };
  }

  #drop(input: EventInput, why: string): void {
    this.#dropped++;
    if ((this.#dropped - 1) % this.#options.logDropsEvery !== 0) return;
    this.#deps.log.warn('event dropped', { why, eventReason: input.reason, dropped: this.#dropped });
  }
}

function toObjectReference(ref: EventObjectReference): V1ObjectReference {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    name: ref.name,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    ...(ref.uid ? { uid: ref.uid } : {}),
  };
}

/**
 * `<regarding name>.<hex>`, as client-go names Events (name + "." + hex of the UnixNano time). JavaScript's clock
 * has milliseconds only, so the nanoseconds below it are random, lest two Events in one millisecond clash. The
 * name is cut so that the whole stays a DNS subdomain of at most 253 characters.
 */
export function makeEventName(regardingName: string, now: Date): string {
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
  const suffix = `.${nanos.toString(16)}`;
  const room = NAME_MAX_LENGTH - suffix.length;
  // A cut may leave a '.' or '-' last, which a DNS label may not end with.
  const prefix = regardingName.length > room ? regardingName.slice(0, room).replace(/[^a-z0-9]+$/, '') : regardingName;
  return `${prefix}${suffix}`;
}

/** Cuts `text` to at most `maxBytes` of UTF-8, on a character boundary, ending it with an ellipsis when cut. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const ellipsis = '…';
  let end = maxBytes - Buffer.byteLength(ellipsis);
  // Step back off UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8') + ellipsis;
}

// Kubernetes' IsQualifiedName: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters.
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isQualifiedName(value: string): boolean {
  const parts = value.split('/');
  if (parts.length > 2) return false;
  const name = parts.pop()!;
  const prefix = parts.pop();
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && QUALIFIED_NAME_PART.test(name);
}
