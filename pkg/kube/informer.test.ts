import { jest } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Informer, type ObjectList } from './informer.js';
import type { Query, WatchApi, WatchCallback, WatchDone } from './kube-client.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const PATH = '/api/v1/secrets';

const obj = (name: string, resourceVersion: string, namespace?: string): KubernetesObject => ({
  kind: 'Secret',
  metadata: { name, resourceVersion, ...(namespace !== undefined ? { namespace } : {}) },
});

interface FakeWatch {
  readonly path: string;
  readonly query: Query;
  readonly callback: WatchCallback;
  readonly done: WatchDone;
  readonly controller: AbortController;
}

/** The API server behind a fake list function and a fake WatchApi; the test drives each watch by hand. */
function makeFakeApi(items: KubernetesObject[] = [], resourceVersion = '100') {
  const state = { items, resourceVersion, listFailures: [] as unknown[] };
  let lists = 0;
  const watches: FakeWatch[] = [];
  /** When set, watch() waits for it before it resolves (a watch whose answer has not come yet). */
  let opening: Promise<void> | undefined;
  const list = async (): Promise<ObjectList<KubernetesObject>> => {
    lists++;
    if (state.listFailures.length > 0) throw state.listFailures.shift();
    return { items: [...state.items], metadata: { resourceVersion: state.resourceVersion } };
  };
  const watchApi: WatchApi = {
    async watch(path, query, callback, done) {
      const controller = new AbortController();
      watches.push({ path, query, callback, done, controller });
      if (opening) await opening;
      return controller;
    },
  };
  const latest = () => watches.at(-1)!;
  return {
    state,
    list,
    watchApi,
    watches,
    latest,
    get lists() {
      return lists;
    },
    holdWatchOpening(gate: Promise<void> | undefined) {
      opening = gate;
    },
    emit: (phase: string, o: unknown) => latest().callback(phase, o, { type: phase, object: o }),
  };
}

/** An informer over the fake, with every event it emits recorded as [verb, name or error]. */
function makeInformer(api: ReturnType<typeof makeFakeApi>, fieldSelector?: string) {
  const informer = new Informer<KubernetesObject>(PATH, api.watchApi, api.list, fieldSelector);
  const events: [string, unknown][] = [];
  for (const verb of ['add', 'update', 'delete'] as const) {
    informer.on(verb, (o) => events.push([verb, `${o.metadata?.name}@${o.metadata?.resourceVersion}`]));
  }
  informer.on('error', (e) => events.push(['error', e]));
  /** How many turns (list or not, then watch) it began. */
  const connects = { count: 0 };
  informer.on('connect', () => connects.count++);
  informers.push(informer);
  return { informer, events, connects };
}

const informers: Informer<KubernetesObject>[] = [];
const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);
const flush = () => advance(0);

beforeEach(() => jest.useFakeTimers({ now: T0 }));
afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
  jest.useRealTimers();
});

describe('Informer', () => {
  describe('when started', () => {
    it('makes no request until started', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns')]);
      makeInformer(api);
      await advance(60_000);
      expect(api.lists).toBe(0);
      expect(api.watches).toHaveLength(0);
    });

    it('lists, adds what it listed, then watches from the list’s resourceVersion', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns'), obj('b', '2', 'ns')], '100');
      const { informer, events, connects } = makeInformer(api);
      await informer.start();
      expect(api.lists).toBe(1);
      expect(events).toEqual([
        ['add', 'a@1'],
        ['add', 'b@2'],
      ]);
      expect(connects.count).toBe(1);
      expect(api.watches).toHaveLength(1);
      expect(api.latest().path).toBe(PATH);
      expect(api.latest().query).toEqual({ resourceVersion: '100' });
      expect(informer.latestResourceVersion()).toBe('100');
    });

    it('watches with its field selector', async () => {
      const api = makeFakeApi();
      const { informer } = makeInformer(api, 'type=kubernetes.io/dockerconfigjson');
      await informer.start();
      expect(api.latest().query).toEqual({
        resourceVersion: '100',
        fieldSelector: 'type=kubernetes.io/dockerconfigjson',
      });
    });

    it('rejects and emits error when the list fails, and opens no watch', async () => {
      const api = makeFakeApi();
      const failure = new Error('forbidden');
      api.state.listFailures.push(failure);
      const { informer, events } = makeInformer(api);
      await expect(informer.start()).rejects.toBe(failure);
      expect(events).toEqual([['error', failure]]);
      expect(api.watches).toHaveLength(0);
      await advance(120_000);
      expect(api.lists).toBe(1);
    });

    it('lists again when started again after a failed list', async () => {
      const api = makeFakeApi([obj('a', '1')]);
      api.state.listFailures.push(new Error('unavailable'));
      const { informer, events } = makeInformer(api);
      await expect(informer.start()).rejects.toThrow('unavailable');
      await informer.start();
      expect(api.lists).toBe(2);
      expect(events.at(-1)).toEqual(['add', 'a@1']);
      expect(api.watches).toHaveLength(1);
    });
  });

  describe('cache and events', () => {
    it('adds, updates and deletes as the watch says, moving the resourceVersion', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns')]);
      const { informer, events } = makeInformer(api);
      await informer.start();
      events.length = 0;
      api.emit('ADDED', obj('b', '101', 'ns'));
      api.emit('MODIFIED', obj('a', '102', 'ns'));
      api.emit('DELETED', obj('b', '103', 'ns'));
      expect(events).toEqual([
        ['add', 'b@101'],
        ['update', 'a@102'],
        ['delete', 'b@103'],
      ]);
      expect(informer.get('a', 'ns')?.metadata?.resourceVersion).toBe('102');
      expect(informer.get('b', 'ns')).toBeUndefined();
      expect(informer.latestResourceVersion()).toBe('103');
    });

    it('emits no update when the resourceVersion is unchanged, but keeps the newer copy', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns')]);
      const { informer, events } = makeInformer(api);
      await informer.start();
      events.length = 0;
      const same = { ...obj('a', '1', 'ns'), data: { k: 'v' } };
      api.emit('MODIFIED', same);
      expect(events).toEqual([]);
      expect(informer.get('a', 'ns')).toBe(same);
    });

    it('takes an ADDED for an object it has as an update', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns')]);
      const { informer, events } = makeInformer(api);
      await informer.start();
      events.length = 0;
      api.emit('ADDED', obj('a', '2', 'ns'));
      expect(events).toEqual([['update', 'a@2']]);
    });

    it('emits no delete for an object it does not have', async () => {
      const api = makeFakeApi();
      const { informer, events } = makeInformer(api);
      await informer.start();
      api.emit('DELETED', obj('ghost', '104', 'ns'));
      expect(events).toEqual([]);
      expect(informer.latestResourceVersion()).toBe('104');
    });

    it('moves the resourceVersion on a BOOKMARK, without an event', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns')]);
      const { informer, events } = makeInformer(api);
      await informer.start();
      events.length = 0;
      api.emit('BOOKMARK', { kind: 'Secret', metadata: { resourceVersion: '500' } });
      expect(events).toEqual([]);
      expect(informer.latestResourceVersion()).toBe('500');
      expect(informer.list()).toHaveLength(1);
    });

    it('ignores an unknown event type', async () => {
      const api = makeFakeApi();
      const { informer, events } = makeInformer(api);
      await informer.start();
      api.emit('SOMETHING', obj('a', '900', 'ns'));
      expect(events).toEqual([]);
      expect(informer.latestResourceVersion()).toBe('100');
      expect(informer.list()).toEqual([]);
    });

    it('finds objects by name and namespace, and lists them by namespace or all', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns1'), obj('b', '2', 'ns1'), obj('a', '3', 'ns2'), obj('cluster', '4')]);
      const { informer } = makeInformer(api);
      await informer.start();
      expect(informer.get('a', 'ns1')?.metadata?.resourceVersion).toBe('1');
      expect(informer.get('a', 'ns2')?.metadata?.resourceVersion).toBe('3');
      expect(informer.get('a')).toBeUndefined();
      expect(informer.get('cluster')?.metadata?.resourceVersion).toBe('4');
      expect(informer.get('b', 'ns2')).toBeUndefined();
      const names = (list: KubernetesObject[]) =>
        list.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`).sort();
      expect(names(informer.list('ns1'))).toEqual(['ns1/a', 'ns1/b']);
      expect(names(informer.list('ns2'))).toEqual(['ns2/a']);
      expect(names(informer.list('none'))).toEqual([]);
      expect(names(informer.list())).toEqual(['/cluster', 'ns1/a', 'ns1/b', 'ns2/a']);
      api.emit('DELETED', obj('a', '5', 'ns2'));
      expect(names(informer.list())).toEqual(['/cluster', 'ns1/a', 'ns1/b']);
    });
  });

  describe('when the server ends the watch', () => {
    it('watches again from the last resourceVersion, without listing', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns')]);
      const { informer, events, connects } = makeInformer(api);
      await informer.start();
      api.emit('MODIFIED', obj('a', '150', 'ns'));
      await advance(5 * 60_000);
      api.latest().done(null);
      await flush();
      expect(api.watches).toHaveLength(2);
      expect(api.latest().query).toEqual({ resourceVersion: '150' });
      expect(api.lists).toBe(1);
      expect(connects.count).toBe(2);
      expect(events.filter(([verb]) => verb === 'error')).toEqual([]);
    });

    it('watches again after the client’s own timeout (a TimeoutError)', async () => {
      const api = makeFakeApi();
      const { informer, events } = makeInformer(api);
      await informer.start();
      await advance(10 * 60_000);
      api.latest().done(new DOMException('the watch outlived its timeout', 'TimeoutError'));
      await flush();
      expect(api.watches).toHaveLength(2);
      expect(api.lists).toBe(1);
      expect(events).toEqual([]);
    });

    it('backs off, doubling up to 30 s, when watches are closed as soon as they open', async () => {
      const api = makeFakeApi();
      const { informer } = makeInformer(api);
      await informer.start();
      const delays: number[] = [];
      for (let i = 0; i < 7; i++) {
        const before = api.watches.length;
        const closedAt = Date.now();
        api.latest().done(null);
        while (api.watches.length === before) await advance(250);
        delays.push(Date.now() - closedAt);
      }
      expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
      expect(api.lists).toBe(1);
    });

    it('opens the next watch at once again after one that ran a while', async () => {
      const api = makeFakeApi();
      const { informer } = makeInformer(api);
      await informer.start();
      api.latest().done(null);
      await advance(1_000);
      api.latest().done(null);
      await advance(2_000);
      expect(api.watches).toHaveLength(3);
      await advance(31_000);
      api.latest().done(null);
      await flush();
      expect(api.watches).toHaveLength(4);
    });

    it('does not back off when started again after an error', async () => {
      const api = makeFakeApi();
      const { informer } = makeInformer(api);
      await informer.start();
      api.latest().done(null);
      await advance(1_000);
      api.latest().done(null);
      await advance(2_000);
      api.latest().done(new Error('boom'));
      await flush();
      await informer.start();
      expect(api.watches).toHaveLength(4);
      api.latest().done(null);
      await advance(999);
      expect(api.watches).toHaveLength(4);
      await advance(1);
      expect(api.watches).toHaveLength(5);
    });
  });

  describe('when the resourceVersion is too old (410 Gone)', () => {
    it.each<[string, unknown]>([
      ['a done() error with code 410', Object.assign(new Error('Gone'), { code: 410 })],
      ['a done() error with statusCode 410', Object.assign(new Error('Gone'), { statusCode: 410 })],
    ])('lists again after %s, deleting what is gone and updating what changed', async (_what, gone) => {
      const api = makeFakeApi([obj('a', '1', 'ns'), obj('b', '2', 'ns'), obj('c', '3', 'other')]);
      const { informer, events } = makeInformer(api);
      await informer.start();
      events.length = 0;
      api.state.items = [obj('a', '1', 'ns'), obj('b', '250', 'ns'), obj('d', '260', 'ns')];
      api.state.resourceVersion = '300';
      api.latest().done(gone);
      await advance(1_000);
      expect(api.lists).toBe(2);
      expect(events).toEqual([
        ['update', 'b@250'],
        ['add', 'd@260'],
        ['delete', 'c@3'],
      ]);
      expect(
        informer
          .list()
          .map((o) => o.metadata?.name)
          .sort(),
      ).toEqual(['a', 'b', 'd']);
      expect(informer.list('other')).toEqual([]);
      expect(api.watches).toHaveLength(2);
      expect(api.latest().query).toEqual({ resourceVersion: '300' });
    });

    it('lists again after an ERROR event with code 410 and the end of the watch', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns')]);
      const { informer, events } = makeInformer(api);
      await informer.start();
      events.length = 0;
      api.emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
      expect(events).toEqual([]);
      api.state.items = [];
      api.state.resourceVersion = '400';
      api.latest().done(null);
      await advance(1_000);
      expect(api.lists).toBe(2);
      expect(events).toEqual([['delete', 'a@1']]);
      expect(api.latest().query).toEqual({ resourceVersion: '400' });
    });

    it('watches on without listing after an ERROR event with another code', async () => {
      const api = makeFakeApi();
      const { informer, events } = makeInformer(api);
      await informer.start();
      api.emit('ERROR', { kind: 'Status', code: 500, message: 'internal error' });
      api.latest().done(null);
      await advance(1_000);
      expect(api.lists).toBe(1);
      expect(api.latest().query).toEqual({ resourceVersion: '100' });
      expect(events).toEqual([]);
    });

    it('emits error and stops when the list after a 410 fails', async () => {
      const api = makeFakeApi();
      const { informer, events } = makeInformer(api);
      await informer.start();
      const failure = new Error('list failed');
      api.state.listFailures.push(failure);
      api.latest().done({ code: 410 });
      await advance(1_000);
      expect(events).toEqual([['error', failure]]);
      await advance(120_000);
      expect(api.watches).toHaveLength(1);
      expect(api.lists).toBe(2);
    });
  });

  describe('when the watch fails otherwise', () => {
    it('emits error and stops: no more watches, no list', async () => {
      const api = makeFakeApi();
      const { informer, events } = makeInformer(api);
      await informer.start();
      const failure = Object.assign(new Error('Forbidden'), { code: 403 });
      api.latest().done(failure);
      await advance(120_000);
      expect(events).toEqual([['error', failure]]);
      expect(api.watches).toHaveLength(1);
      expect(api.lists).toBe(1);
    });

    it('resumes from the last resourceVersion without listing when started again', async () => {
      const api = makeFakeApi([obj('a', '1', 'ns')]);
      const { informer, events } = makeInformer(api);
      await informer.start();
      api.emit('MODIFIED', obj('a', '170', 'ns'));
      api.latest().done(new Error('connection reset'));
      await flush();
      expect(events.at(-1)?.[0]).toBe('error');
      await informer.start();
      expect(api.lists).toBe(1);
      expect(api.watches).toHaveLength(2);
      expect(api.latest().query).toEqual({ resourceVersion: '170' });
      expect(informer.get('a', 'ns')?.metadata?.resourceVersion).toBe('170');
    });
  });

  describe('when stopped', () => {
    it('aborts the watch, and a late done() opens nothing', async () => {
      const api = makeFakeApi();
      const { informer, events } = makeInformer(api);
      await informer.start();
      const watch = api.latest();
      await informer.stop();
      expect(watch.controller.signal.aborted).toBe(true);
      watch.done(null);
      watch.done(new Error('late'));
      await advance(120_000);
      expect(api.watches).toHaveLength(1);
      expect(api.lists).toBe(1);
      expect(events).toEqual([]);
    });

    it('opens no watch when stopped while listing', async () => {
      const api = makeFakeApi([obj('a', '1')]);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slowList = async () => {
        await gate;
        return api.list();
      };
      const informer = new Informer<KubernetesObject>(PATH, api.watchApi, slowList);
      informers.push(informer);
      const started = informer.start();
      await informer.stop();
      release();
      await started;
      expect(api.watches).toHaveLength(0);
      expect(informer.list()).toEqual([]);
    });

    it('aborts a watch that opens after it was stopped', async () => {
      const api = makeFakeApi();
      let release!: () => void;
      api.holdWatchOpening(new Promise<void>((resolve) => (release = resolve)));
      const { informer } = makeInformer(api);
      const started = informer.start();
      await flush();
      expect(api.watches).toHaveLength(1);
      await informer.stop();
      release();
      await started;
      expect(api.latest().controller.signal.aborted).toBe(true);
    });

    it('does not back off a pending rewatch into a new watch after stop()', async () => {
      const api = makeFakeApi();
      const { informer } = makeInformer(api);
      await informer.start();
      api.latest().done(null);
      await advance(500);
      await informer.stop();
      await advance(120_000);
      expect(api.watches).toHaveLength(1);
    });

    it('lists again only if it has no resourceVersion when started again', async () => {
      const api = makeFakeApi([obj('a', '1')]);
      const { informer } = makeInformer(api);
      await informer.start();
      api.emit('MODIFIED', obj('a', '180'));
      await informer.stop();
      await informer.start();
      expect(api.lists).toBe(1);
      expect(api.latest().query).toEqual({ resourceVersion: '180' });
    });
  });
});
