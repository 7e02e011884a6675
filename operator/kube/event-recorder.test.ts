import { Writable } from 'node:stream';
import { KubeStatusError, toMicroTime, type Event, type EventsApi } from '../../pkg/kube/index.js';
import { createLogger, createSilentLogger } from '../../pkg/log/index.js';
import {
  EventRecorder,
  makeEventName,
  REPORTING_CONTROLLER,
  toEventType,
  truncateUtf8,
  type EventInput,
  type EventRecorderOptions,
} from './event-recorder.js';

type CreateParam = Parameters<EventsApi['createNamespacedEvent']>[0];
type PatchParam = Parameters<EventsApi['patchNamespacedEvent']>[0];
type Call =
  | { readonly op: 'create'; readonly namespace: string; readonly body: Event }
  | { readonly op: 'patch'; readonly namespace: string; readonly name: string; readonly body: unknown };
type Respond = (call: Call) => Promise<void>;

const T0 = Date.parse('2026-11-25T10:00:00Z');
const SECOND = 1000;

const clusterPolicy = { kind: 'ClusterPolicy', apiVersion: 'kyverno.io/v1', name: 'verify-images', uid: 'u-1' };
const namespacedPolicy = { ...clusterPolicy, kind: 'Policy', namespace: 'team-a', uid: 'u-2' };
const policyError: EventInput = {
  regarding: clusterPolicy,
  type: 'Warning',
  reason: 'PolicyError',
  action: 'Reconcile',
  note: 'rule check-image: no attestors',
};

function makeFakeEvents(respond: Respond = async () => {}) {
  const calls: Call[] = [];
  const patchOptions: unknown[] = [];
  const state = { respond };
  const api: Pick<EventsApi, 'createNamespacedEvent' | 'patchNamespacedEvent'> = {
    async createNamespacedEvent(param: CreateParam) {
      const call: Call = { op: 'create', namespace: param.namespace, body: param.body };
      calls.push(call);
      await state.respond(call);
      return param.body;
    },
    async patchNamespacedEvent(param: PatchParam, options?: unknown) {
      const call: Call = { op: 'patch', namespace: param.namespace, name: param.name, body: param.body };
      calls.push(call);
      patchOptions.push(options);
      await state.respond(call);
      return {} as Event;
    },
  };
  return { api, calls, patchOptions, state };
}

function makeClock() {
  let ms = T0;
  return { now: () => new Date(ms), advance: (by: number) => void (ms += by) };
}

function makeLogCapture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: 'debug', stream }), lines };
}

function makeRecorder(
  events: ReturnType<typeof makeFakeEvents>,
  options: EventRecorderOptions = {},
  extra: Partial<ConstructorParameters<typeof EventRecorder>[0]> = {},
) {
  const clock = makeClock();
  const recorder = new EventRecorder(
    {
      events: events.api,
      controller: REPORTING_CONTROLLER,
      instance: 'imprimatur-7d9c-x2x_4b1f',
      log: createSilentLogger(),
      now: clock.now,
      ...extra,
    },
    options,
  );
  return { recorder, clock };
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}

const never = () => new Promise<void>(() => {});
const apiError = (code: number, reason: string, message: string) =>
  new KubeStatusError(
    'PATCH',
    '/apis/events.k8s.io/v1',
    code,
    JSON.stringify({ kind: 'Status', reason, message, code }),
  );

describe('EventRecorder', () => {
  describe('when an event about a cluster-scoped object is recorded', () => {
    it('creates an events.k8s.io/v1 Event in default with the reporting fields', async () => {
      const events = makeFakeEvents();
      const { recorder } = makeRecorder(events);
      recorder.start();
      recorder.record(policyError);
      await recorder.stop();

      expect(events.calls).toHaveLength(1);
      const call = events.calls[0]!;
      expect(call.op).toBe('create');
      expect(call.namespace).toBe('default');
      const body = (call as { body: Event }).body;
      expect(body).toMatchObject({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { namespace: 'default' },
        reportingController: 'imprimatur.io/operator',
        reportingInstance: 'imprimatur-7d9c-x2x_4b1f',
        regarding: clusterPolicy,
        type: 'Warning',
        reason: 'PolicyError',
        action: 'Reconcile',
        note: 'rule check-image: no attestors',
      });
      expect(body.metadata?.name).toMatch(/^verify-images\.[0-9a-f]+$/);
      expect(body).not.toHaveProperty('series');
      expect(body).not.toHaveProperty('related');
    });

    it('sends eventTime as a MicroTime, with six fractional digits', async () => {
      const events = makeFakeEvents();
      const { recorder } = makeRecorder(events);
      recorder.start();
      recorder.record(policyError);
      await recorder.stop();

      const body = (events.calls[0] as { body: Event }).body;
      expect(body.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(JSON.stringify({ t: body.eventTime })).toBe('{"t":"2026-11-25T10:00:00.000000Z"}');
    });
  });

  describe('when an event about a namespaced object is recorded', () => {
    it("creates the Event in the object's namespace, with the related object", async () => {
      const events = makeFakeEvents();
      const { recorder } = makeRecorder(events);
      const pod = { kind: 'Pod', apiVersion: 'v1', name: 'web', namespace: 'team-a', uid: 'p-1' };
      recorder.start();
      recorder.record({ ...policyError, regarding: namespacedPolicy, related: pod, action: 'Validate' });
      await recorder.stop();

      expect(events.calls[0]).toMatchObject({
        op: 'create',
        namespace: 'team-a',
        body: { metadata: { namespace: 'team-a' }, regarding: namespacedPolicy, related: pod, action: 'Validate' },
      });
    });
  });

  describe('when the same event recurs', () => {
    it('creates one Event, and patches its series once the heartbeat has passed', async () => {
      const events = makeFakeEvents();
      const { recorder, clock } = makeRecorder(events);
      recorder.start();
      recorder.record(policyError);
      clock.advance(SECOND);
      recorder.record(policyError);
      clock.advance(SECOND);
      recorder.record(policyError);
      await waitFor(() => events.calls.length === 1);
      clock.advance(28 * SECOND);
      recorder.record(policyError);
      await waitFor(() => events.calls.length === 2);
      await recorder.stop();

      const [create, patch] = events.calls;
      const name = (create as { body: Event }).body.metadata?.name;
      expect(patch).toEqual({
        op: 'patch',
        namespace: 'default',
        name,
        body: { series: { count: 4, lastObservedTime: toMicroTime(new Date(T0 + 30 * SECOND)) } },
      });
      expect(JSON.stringify(patch!.body)).toBe(
        '{"series":{"count":4,"lastObservedTime":"2026-11-25T10:00:30.000000Z"}}',
      );
      expect(events.patchOptions[0]).toBeDefined();
    });

    it('writes the counts still unwritten when stopped', async () => {
      const events = makeFakeEvents();
      const { recorder, clock } = makeRecorder(events);
      recorder.start();
      recorder.record(policyError);
      clock.advance(SECOND);
      recorder.record(policyError);
      await recorder.stop();

      expect(events.calls.map((c) => [c.op, c.body])).toEqual([
        ['create', expect.anything()],
        ['patch', { series: { count: 2, lastObservedTime: toMicroTime(new Date(T0 + SECOND)) } }],
      ]);
    });
  });

  describe('when a counted occurrence waits and nothing else is recorded', () => {
    it('patches the series on its own when the heartbeat comes', async () => {
      const events = makeFakeEvents();
      const { recorder } = makeRecorder(events, { heartbeatMs: 20 }, { now: () => new Date() });
      recorder.start();
      recorder.record(policyError);
      recorder.record(policyError);
      await waitFor(() => events.calls.length === 2);
      expect(events.calls[1]).toMatchObject({ op: 'patch', body: { series: { count: 2 } } });
      await recorder.stop();
    });

    it('wakes up for it even when it had gone to sleep with nothing waiting', async () => {
      const events = makeFakeEvents();
      const { recorder } = makeRecorder(events, { heartbeatMs: 20 }, { now: () => new Date() });
      recorder.start();
      recorder.record(policyError);
      await waitFor(() => events.calls.length === 1);
      await new Promise((r) => setTimeout(r, 5));
      recorder.record(policyError);
      await waitFor(() => events.calls.length === 2);
      expect(events.calls[1]).toMatchObject({ op: 'patch', body: { series: { count: 2 } } });
      await recorder.stop();
    });
  });

  describe('when the Event of a series no longer exists', () => {
    it('creates it again under the same name, with the series', async () => {
      const events = makeFakeEvents(async (call) => {
        if (call.op === 'patch') throw apiError(404, 'NotFound', 'events.events.k8s.io "x" not found');
      });
      const { recorder, clock } = makeRecorder(events);
      recorder.start();
      recorder.record(policyError);
      clock.advance(30 * SECOND);
      recorder.record(policyError);
      await recorder.stop();

      expect(events.calls.map((c) => c.op)).toEqual(['create', 'patch', 'create']);
      const first = (events.calls[0] as { body: Event }).body;
      const again = (events.calls[2] as { body: Event }).body;
      expect(again).toEqual({
        ...first,
        series: { count: 2, lastObservedTime: toMicroTime(new Date(T0 + 30 * SECOND)) },
      });
    });
  });

  describe('when the API server rejects a write', () => {
    it('logs it with the server message and goes on with the next event', async () => {
      const events = makeFakeEvents(async (call) => {
        if (call.op === 'create' && call.body.reason === 'PolicyError')
          throw apiError(403, 'Forbidden', 'forbidden: no');
      });
      const capture = makeLogCapture();
      const { recorder } = makeRecorder(events, {}, { log: capture.log });
      recorder.start();
      expect(() => recorder.record(policyError)).not.toThrow();
      recorder.record({ ...policyError, type: 'Normal', reason: 'PolicyApplied' });
      await recorder.stop();

      expect(events.calls.map((c) => c.op)).toEqual(['create', 'create']);
      expect(capture.lines).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          message: 'could not create event',
          eventReason: 'PolicyError',
          namespace: 'default',
          error: 'forbidden: no',
          code: 403,
          reason: 'Forbidden',
        }),
      );
    });
  });

  describe('when the API server does not answer', () => {
    it('returns from record() at once, drops what does not fit the queue, and logs the drops sparingly', async () => {
      const events = makeFakeEvents(never);
      const capture = makeLogCapture();
      const { recorder } = makeRecorder(events, { queueSize: 2, logDropsEvery: 3 }, { log: capture.log });
      recorder.start();
      for (let i = 0; i < 10; i++) recorder.record({ ...policyError, note: `failure ${i}` });

      await waitFor(() => events.calls.length === 1);
      // record() ran ten times before the worker took anything: two fit the queue, eight were dropped.
      expect(recorder.droppedCount).toBe(8);
      const drops = capture.lines.filter((l) => l.message === 'event dropped');
      expect(drops.map((l) => l.dropped)).toEqual([1, 4, 7]);
      await recorder.stop(10);
    });

    it('gives up flushing at the deadline of stop()', async () => {
      const events = makeFakeEvents(never);
      const capture = makeLogCapture();
      const { recorder } = makeRecorder(events, {}, { log: capture.log });
      recorder.start();
      recorder.record(policyError);
      recorder.record({ ...policyError, note: 'another' });
      const started = Date.now();
      await recorder.stop(30);

      expect(Date.now() - started).toBeLessThan(1000);
      expect(capture.lines).toContainEqual(
        expect.objectContaining({ message: 'event recorder stopped before writing every event', unwritten: 1 }),
      );
    });
  });

  describe('when events are recorded before start()', () => {
    it('writes them once started', async () => {
      const events = makeFakeEvents();
      const { recorder } = makeRecorder(events);
      recorder.record(policyError);
      expect(events.calls).toHaveLength(0);
      recorder.start();
      await recorder.stop();
      expect(events.calls).toHaveLength(1);
    });
  });

  describe('when events are recorded after stop()', () => {
    it('drops and counts them', async () => {
      const events = makeFakeEvents();
      const { recorder } = makeRecorder(events);
      recorder.start();
      await recorder.stop();
      recorder.record(policyError);
      expect(recorder.droppedCount).toBe(1);
      expect(events.calls).toHaveLength(0);
    });
  });

  describe('when the note is longer than the API allows', () => {
    it('cuts it to 1024 bytes of UTF-8', async () => {
      const events = makeFakeEvents();
      const { recorder } = makeRecorder(events);
      recorder.start();
      recorder.record({ ...policyError, note: 'é'.repeat(1000) });
      await recorder.stop();
      const note = (events.calls[0] as { body: Event }).body.note!;
      expect(Buffer.byteLength(note)).toBeLessThanOrEqual(1024);
      expect(note).toMatch(/^é+…$/);
    });
  });

  describe('when the reporting controller is not a qualified name', () => {
    it.each(['imprimatur operator', 'Imprimatur.IO/operator', 'a/b/c', ''])('throws at construction (%j)', (c) => {
      expect(() => makeRecorder(makeFakeEvents(), {}, { controller: c })).toThrow(TypeError);
    });

    it.each(['imprimatur.io/operator', 'imprimatur'])('accepts %j', (c) => {
      expect(() => makeRecorder(makeFakeEvents(), {}, { controller: c })).not.toThrow();
    });
  });
});

describe('toEventType', () => {
  describe('when the reason is a success or a skip', () => {
    it.each(['PolicyApplied', 'PolicySkipped'] as const)('is Normal (%s)', (reason) => {
      expect(toEventType(reason)).toBe('Normal');
    });
  });

  describe('when the reason is a failure', () => {
    it.each(['PolicyError', 'PolicyViolation'] as const)('is Warning (%s)', (reason) => {
      expect(toEventType(reason)).toBe('Warning');
    });
  });
});

describe('makeEventName', () => {
  describe('when the regarding name is short', () => {
    it('appends a dot and the time in hexadecimal nanoseconds', () => {
      const name = makeEventName('verify-images', new Date(T0));
      const [prefix, hex] = name.split('.');
      expect(prefix).toBe('verify-images');
      const nanos = BigInt(`0x${hex}`);
      expect(nanos / 1_000_000n).toBe(BigInt(T0));
    });
  });

  describe('when the regarding name is near the longest allowed', () => {
    it('cuts it so the name stays a DNS subdomain of at most 253 characters', () => {
      const long = `${'a'.repeat(237)}.${'b'.repeat(15)}`;
      const name = makeEventName(long, new Date(T0));
      expect(name.length).toBeLessThanOrEqual(253);
      expect(name).toMatch(/^a+\.[0-9a-f]+$/);
    });
  });
});

describe('truncateUtf8', () => {
  describe('when the text fits', () => {
    it('returns it unchanged', () => {
      expect(truncateUtf8('short', 10)).toBe('short');
    });
  });

  describe('when the cut would split a character', () => {
    it('cuts before it and adds an ellipsis', () => {
      const cut = truncateUtf8('ab€€€', 9);
      expect(cut).toBe('ab€…');
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(9);
    });
  });
});
