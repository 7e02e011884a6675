import { jest } from '@jest/globals';
import { Writable } from 'node:stream';
import { KubeStatusError, type Lease } from '../../pkg/kube/index.js';
import { createLogger, createSilentLogger, type Logger } from '../../pkg/log/index.js';
import { DEFAULT_LEASE_TIMING, LeaderElector, type LeaderElectorDeps, type LeaseApi } from './leader-election.js';

const T0 = new Date('2026-11-25T10:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms).toISOString().replace(/Z$/, '000Z');

/**
 * One Lease as the API server keeps it: create fails with 409 when it exists, replace with 409 unless it carries
 * the stored resourceVersion. It hands back JSON, so MicroTimes come back as strings, as the API server sends them.
 */
class FakeLeaseApi implements LeaseApi {
  stored: Lease | undefined;
  /** Every call, in order, and every write with the holder it wrote. */
  readonly calls: string[] = [];
  /** Thrown by every call while set. */
  failure: unknown;
  /** Every call waits for this while set. */
  hang: Promise<void> | undefined;
  /** Runs as a create arrives, before it is handled. */
  beforeCreate: (() => void) | undefined;
  #version = 0;

  constructor(private readonly timeline: string[] = []) {}

  async readNamespacedLease(_param: { namespace: string; name: string }): Promise<Lease> {
    await this.#enter('read');
    if (!this.stored) throw apiException(404, 'NotFound');
    return clone(this.stored);
  }

  async createNamespacedLease(param: { namespace: string; body: Lease }): Promise<Lease> {
    await this.#enter('create');
    this.beforeCreate?.();
    if (this.stored) throw apiException(409, 'AlreadyExists');
    return this.#store(param.body);
  }

  async replaceNamespacedLease(param: { namespace: string; name: string; body: Lease }): Promise<Lease> {
    await this.#enter('replace');
    if (!this.stored) throw apiException(404, 'NotFound');
    if (param.body.metadata?.resourceVersion !== this.stored.metadata?.resourceVersion) {
      throw apiException(409, 'Conflict');
    }
    return this.#store(param.body);
  }

  /** Someone else writes the lease. */
  put(spec: Record<string, unknown>): void {
    this.#store({ metadata: { name: 'imprimatur', namespace: 'imprimatur-system' }, spec } as Lease);
  }

  get spec() {
    return this.stored?.spec;
  }

  #store(body: Lease): Lease {
    const lease = clone(body);
    lease.metadata = { ...lease.metadata, resourceVersion: String(++this.#version) };
    this.stored = lease;
    this.timeline.push(`wrote holder=${lease.spec?.holderIdentity}`);
    return clone(lease);
  }

  async #enter(call: string): Promise<void> {
    this.calls.push(call);
    if (this.hang) await this.hang;
    if (this.failure) throw this.failure;
  }
}

function clone(lease: Lease): Lease {
  return JSON.parse(JSON.stringify(lease)) as Lease;
}

function apiException(code: number, reason: string): KubeStatusError {
  const body = JSON.stringify({ kind: 'Status', code, reason, message: `${reason} (fake)` });
  return new KubeStatusError(
    'PUT',
    '/apis/coordination.k8s.io/v1/namespaces/imprimatur-system/leases/imprimatur',
    code,
    body,
  );
}

/** A logger that keeps what it logs. */
function captureLogger(): { log: Logger; lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger({ level: 'debug', stream }), lines };
}

function makeElector(api: FakeLeaseApi, identity: string, overrides: Partial<LeaderElectorDeps> = {}) {
  const events: string[] = [];
  const elector = new LeaderElector({
    coordination: api,
    namespace: 'imprimatur-system',
    name: 'imprimatur',
    identity,
    log: createSilentLogger(),
    timing: DEFAULT_LEASE_TIMING,
    random: () => 0,
    onStartedLeading: () => void events.push('started'),
    onStoppedLeading: () => void events.push('stopped'),
    ...overrides,
  });
  return { elector, events };
}

const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

beforeEach(() => jest.useFakeTimers({ now: T0 }));
afterEach(() => jest.useRealTimers());

describe('LeaderElector', () => {
  describe('when constructed', () => {
    it('makes no request and sets no timer until started', async () => {
      const api = new FakeLeaseApi();
      makeElector(api, 'a');
      await advance(60_000);
      expect(api.calls).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('refuses a timing that breaks client-go’s rules, and an empty identity', () => {
      const api = new FakeLeaseApi();
      expect(() =>
        makeElector(api, 'a', { timing: { leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } }),
      ).toThrow('leaseDurationMs must be greater than renewDeadlineMs');
      expect(() => makeElector(api, '')).toThrow('identity must not be empty');
    });
  });

  describe('when there is no lease', () => {
    it('creates it and becomes leader, writing MicroTimes with microseconds', async () => {
      const api = new FakeLeaseApi();
      const { elector, events } = makeElector(api, 'a');
      elector.start();
      await advance(0);
      expect(api.calls).toEqual(['read', 'create']);
      expect(elector.isLeader()).toBe(true);
      expect(events).toEqual(['started']);
      expect(api.spec).toEqual({
        holderIdentity: 'a',
        leaseDurationSeconds: 15,
        acquireTime: '2026-11-25T10:00:00.000000Z',
        renewTime: '2026-11-25T10:00:00.000000Z',
        leaseTransitions: 0,
      });
      await elector.stop();
    });

    it('renews every retryPeriod without reading first, keeping acquireTime', async () => {
      const api = new FakeLeaseApi();
      const { elector, events } = makeElector(api, 'a');
      elector.start();
      await advance(0);
      api.calls.length = 0;
      await advance(4_000);
      expect(api.calls).toEqual(['replace', 'replace']);
      expect(api.spec).toMatchObject({ holderIdentity: 'a', acquireTime: at(0), renewTime: at(4_000) });
      expect(events).toEqual(['started']);
      await elector.stop();
    });

    it('takes a create that loses the race (409) for another candidate’s win, quietly', async () => {
      const api = new FakeLeaseApi();
      api.beforeCreate = () => api.put({ holderIdentity: 'b', leaseDurationSeconds: 15, renewTime: at(0) });
      const { log, lines } = captureLogger();
      const { elector, events } = makeElector(api, 'a', { log });
      elector.start();
      await advance(2_000);
      expect(api.calls).toEqual(['read', 'create', 'read']);
      expect(elector.isLeader()).toBe(false);
      expect(events).toEqual([]);
      expect(lines.filter((l) => l.level !== 'debug')).toEqual([]);
      await elector.stop();
    });
  });

  describe('when another candidate holds a fresh lease', () => {
    it('stays follower for as long as the holder renews', async () => {
      const api = new FakeLeaseApi();
      const a = makeElector(api, 'a');
      const b = makeElector(api, 'b');
      a.elector.start();
      await advance(0);
      b.elector.start();
      await advance(60_000);
      expect(b.elector.isLeader()).toBe(false);
      expect(b.events).toEqual([]);
      expect(a.elector.isLeader()).toBe(true);
      expect(api.spec).toMatchObject({ holderIdentity: 'a', renewTime: at(60_000), leaseTransitions: 0 });
      await Promise.all([a.elector.stop(), b.elector.stop()]);
    });
  });

  describe('when the holder stops renewing', () => {
    it('takes the lease over once leaseDuration has passed since it last saw it change', async () => {
      const api = new FakeLeaseApi();
      api.put({ holderIdentity: 'gone', leaseDurationSeconds: 15, renewTime: at(0), leaseTransitions: 4 });
      const { elector, events } = makeElector(api, 'b');
      elector.start();
      await advance(14_000);
      expect(elector.isLeader()).toBe(false);
      await advance(2_000);
      expect(elector.isLeader()).toBe(true);
      expect(events).toEqual(['started']);
      expect(api.spec).toMatchObject({
        holderIdentity: 'b',
        acquireTime: at(16_000),
        renewTime: at(16_000),
        leaseTransitions: 5,
      });
      await elector.stop();
    });

    it('still waits a full leaseDuration for a lease whose renewTime is long past (the clocks may differ)', async () => {
      const api = new FakeLeaseApi();
      api.put({ holderIdentity: 'gone', leaseDurationSeconds: 15, renewTime: at(-3_600_000) });
      const { elector } = makeElector(api, 'b');
      elector.start();
      await advance(14_000);
      expect(elector.isLeader()).toBe(false);
      await advance(2_000);
      expect(elector.isLeader()).toBe(true);
      await elector.stop();
    });
  });

  describe('when renewing keeps failing', () => {
    it('stops leading once renewDeadline has passed since the last renewal, and leads again when it can renew', async () => {
      const api = new FakeLeaseApi();
      const { elector, events } = makeElector(api, 'a');
      elector.start();
      await advance(0);
      api.failure = apiException(500, 'InternalError');
      await advance(9_999);
      expect(elector.isLeader()).toBe(true);
      expect(events).toEqual(['started']);
      await advance(1);
      expect(elector.isLeader()).toBe(false);
      expect(events).toEqual(['started', 'stopped']);
      api.failure = undefined;
      await advance(2_000);
      expect(elector.isLeader()).toBe(true);
      expect(events).toEqual(['started', 'stopped', 'started']);
      expect(api.spec).toMatchObject({ holderIdentity: 'a', acquireTime: at(0), leaseTransitions: 0 });
      await elector.stop();
    });

    it('stops leading at the deadline even while a renewal hangs, and not again when it then succeeds', async () => {
      const api = new FakeLeaseApi();
      const { elector, events } = makeElector(api, 'a');
      elector.start();
      await advance(0);
      let unhang!: () => void;
      api.hang = new Promise((resolve) => (unhang = resolve));
      await advance(10_000);
      expect(elector.isLeader()).toBe(false);
      expect(events).toEqual(['started', 'stopped']);
      api.hang = undefined;
      unhang();
      await advance(0);
      expect(events).toEqual(['started', 'stopped']);
      await advance(2_000);
      expect(events).toEqual(['started', 'stopped', 'started']);
      await elector.stop();
    });

    it('reports isLeader() false once the deadline has passed, before its timer runs', async () => {
      const api = new FakeLeaseApi();
      let clock = T0.getTime();
      const { elector } = makeElector(api, 'a', { now: () => new Date(clock) });
      elector.start();
      await advance(0);
      clock += 10_000;
      expect(elector.isLeader()).toBe(false);
      await elector.stop();
    });
  });

  describe('when another candidate takes the lease from the leader', () => {
    it('stops leading at its next renewal, without waiting for renewDeadline', async () => {
      const api = new FakeLeaseApi();
      const { log, lines } = captureLogger();
      const { elector, events } = makeElector(api, 'a', { log });
      elector.start();
      await advance(0);
      api.put({ holderIdentity: 'b', leaseDurationSeconds: 15, renewTime: at(1_000), leaseTransitions: 1 });
      await advance(2_000);
      expect(elector.isLeader()).toBe(false);
      expect(events).toEqual(['started', 'stopped']);
      expect(lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.message)).toEqual([
        'stopped leading',
      ]);
      await elector.stop();
      expect(api.spec?.holderIdentity).toBe('b');
    });
  });

  describe('when stopped while leading', () => {
    it('calls onStoppedLeading, waits for it, then releases the lease, and another takes it at its next try', async () => {
      const timeline: string[] = [];
      const api = new FakeLeaseApi(timeline);
      const a = makeElector(api, 'a', {
        onStoppedLeading: async () => {
          timeline.push('a stopping');
          await new Promise((resolve) => setTimeout(resolve, 500));
          timeline.push('a stopped');
        },
      });
      const b = makeElector(api, 'b', { onStartedLeading: () => void timeline.push('b started') });
      a.elector.start();
      await advance(0);
      b.elector.start();
      await advance(3_000);
      timeline.length = 0;

      const stopped = a.elector.stop();
      expect(a.elector.isLeader()).toBe(true);
      await advance(500);
      await stopped;
      expect(a.elector.isLeader()).toBe(false);
      expect(api.spec).toMatchObject({
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: at(3_500),
        leaseTransitions: 0,
      });

      await advance(2_000);
      expect(timeline).toEqual(['a stopping', 'a stopped', 'wrote holder=', 'wrote holder=b', 'b started']);
      expect(api.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
      await b.elector.stop();
    });
  });

  describe('when stopped while following', () => {
    it('leaves the lease alone', async () => {
      const api = new FakeLeaseApi();
      api.put({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: at(0) });
      const { elector, events } = makeElector(api, 'b');
      elector.start();
      await advance(5_000);
      await elector.stop();
      expect(api.calls.every((c) => c === 'read')).toBe(true);
      expect(events).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('when stopped', () => {
    it('cannot start again, and stopping twice is harmless', async () => {
      const api = new FakeLeaseApi();
      const { elector } = makeElector(api, 'a');
      elector.start();
      await advance(0);
      await Promise.all([elector.stop(), elector.stop()]);
      expect(() => elector.start()).toThrow('cannot start again');
      expect(api.calls.filter((c) => c === 'replace')).toHaveLength(1);
    });
  });
});
