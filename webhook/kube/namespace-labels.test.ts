import { Writable } from 'node:stream';
import type { V1Namespace, V1NamespaceList } from '@kubernetes/client-node';
import { CoreApi, KubeClient } from '../../pkg/kube/index.js';
import { createLogger, createSilentLogger } from '../../pkg/log/index.js';
import {
  MAX_LABELS_PER_NAMESPACE,
  NamespaceLabels,
  type ListNamespacesRequest,
  type NamespaceLabelsDeps,
} from './namespace-labels.js';
import { LIST_PAGE_SIZE } from './pull-secrets.js';

function namespace(name: string, labels: Record<string, unknown>, resourceVersion = '1'): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion,
      labels: labels as Record<string, string>,
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}' },
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

interface FakeWatch {
  readonly path: string;
  readonly query: Record<string, unknown>;
  readonly callback: (phase: string, obj: unknown, raw?: unknown) => void;
  readonly done: (e: unknown) => void;
  readonly controller: AbortController;
}

/** The API server's Namespaces behind a fake list call and a fake Watch. */
function makeFakeApi(initial: V1Namespace[] = []) {
  const state = {
    namespaces: [...initial],
    pageSize: Infinity,
    resourceVersion: '100',
    listFailures: [] as unknown[],
  };
  const lists: ListNamespacesRequest[] = [];
  const watches: FakeWatch[] = [];
  const listNamespaces = async (request: ListNamespacesRequest): Promise<V1NamespaceList> => {
    lists.push(request);
    if (state.listFailures.length > 0) throw state.listFailures.shift();
    const all = state.namespaces;
    const start = Number(request._continue ?? 0);
    const end = Math.min(start + Math.min(request.limit, state.pageSize), all.length);
    return {
      items: all.slice(start, end),
      metadata: { resourceVersion: state.resourceVersion, ...(end < all.length ? { _continue: String(end) } : {}) },
    };
  };
  const watch: NamespaceLabelsDeps['watch'] = {
    async watch(path, query, callback, done) {
      const controller = new AbortController();
      watches.push({ path, query, callback, done, controller });
      return controller;
    },
  };
  const latestWatch = () => watches.at(-1)!;
  const emit = (phase: 'ADDED' | 'MODIFIED' | 'DELETED', ns: V1Namespace) =>
    latestWatch().callback(phase, ns, { type: phase, object: ns });
  return { state, lists, watches, listNamespaces, watch, latestWatch, emit };
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

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}

const stores: NamespaceLabels[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.stop()));
});

function makeStore(api: ReturnType<typeof makeFakeApi>, deps: Partial<NamespaceLabelsDeps> = {}) {
  const store = new NamespaceLabels({
    listNamespaces: api.listNamespaces,
    watch: api.watch,
    log: createSilentLogger(),
    restartBaseDelayMs: 1,
    restartMaxDelayMs: 4,
    ...deps,
  });
  stores.push(store);
  return store;
}

async function startedStore(api: ReturnType<typeof makeFakeApi>, deps: Partial<NamespaceLabelsDeps> = {}) {
  const store = makeStore(api, deps);
  await store.start();
  await store.synced;
  return store;
}

/** A plain copy, so that toEqual compares contents and not the missing prototype. */
const plain = (labels: Readonly<Record<string, string>> | undefined) => (labels ? { ...labels } : labels);

describe('NamespaceLabels', () => {
  describe('when constructed', () => {
    it('makes no request until started, and knows no namespace', async () => {
      const api = makeFakeApi([namespace('team-a', { team: 'a' })]);
      const store = makeStore(api);
      await new Promise((r) => setTimeout(r, 5));
      expect(api.lists).toEqual([]);
      expect(api.watches).toEqual([]);
      expect(store.isSynced).toBe(false);
      expect(store.labels('team-a')).toBeUndefined();
    });

    it('takes the API client and its CoreApi as they are', async () => {
      const kube = new KubeClient({
        server: 'https://127.0.0.1:1',
        insecureSkipTlsVerify: false,
        credentials: { kind: 'none' },
        source: 'test',
      });
      const core = new CoreApi(kube);
      const listed: unknown[] = [];
      const store = new NamespaceLabels({
        listNamespaces: (request) => (listed.push(request), core.listNamespace(request)),
        watch: kube,
        log: createSilentLogger(),
      });
      stores.push(store);
      await new Promise((r) => setTimeout(r, 5));
      expect(listed).toEqual([]);
    });
  });

  describe('when started', () => {
    it('lists a page at a time, following continue tokens, then watches /api/v1/namespaces', async () => {
      const api = makeFakeApi([namespace('a', { x: '1' }), namespace('b', { x: '2' }), namespace('c', { x: '3' })]);
      api.state.pageSize = 2;
      const store = await startedStore(api);
      expect(api.lists).toEqual([{ limit: LIST_PAGE_SIZE }, { limit: LIST_PAGE_SIZE, _continue: '2' }]);
      expect(api.watches.map((w) => [w.path, w.query['resourceVersion']])).toEqual([['/api/v1/namespaces', '100']]);
      expect(store.isSynced).toBe(true);
      expect(['a', 'b', 'c'].map((n) => store.labels(n)?.['x'])).toEqual(['1', '2', '3']);
    });

    it('keeps the labels in a frozen object with no prototype', async () => {
      const api = makeFakeApi([namespace('team-a', { team: 'a', tier: 'prod' })]);
      const store = await startedStore(api);
      const labels = store.labels('team-a')!;
      expect(plain(labels)).toEqual({ team: 'a', tier: 'prod' });
      expect(Object.getPrototypeOf(labels)).toBeNull();
      expect(Object.isFrozen(labels)).toBe(true);
    });

    it('answers an empty object for a namespace without labels, and undefined for no such namespace', async () => {
      const api = makeFakeApi([{ metadata: { name: 'bare', resourceVersion: '1' } }]);
      const store = await startedStore(api);
      expect(plain(store.labels('bare'))).toEqual({});
      expect(store.labels('missing')).toBeUndefined();
      expect(store.labels('toString')).toBeUndefined();
    });

    it('drops label values that are not strings', async () => {
      const api = makeFakeApi([namespace('odd', { ok: 'yes', n: 1, b: true, o: { x: 'y' }, z: null })]);
      const store = await startedStore(api);
      expect(plain(store.labels('odd'))).toEqual({ ok: 'yes' });
    });

    it(`keeps at most ${MAX_LABELS_PER_NAMESPACE} labels per namespace`, async () => {
      const many = Object.fromEntries(Array.from({ length: MAX_LABELS_PER_NAMESPACE + 10 }, (_, i) => [`l${i}`, 'v']));
      const api = makeFakeApi([namespace('many', many)]);
      const store = await startedStore(api);
      expect(Object.keys(store.labels('many')!)).toHaveLength(MAX_LABELS_PER_NAMESPACE);
    });
  });

  describe('when watched', () => {
    it('finds an added namespace', async () => {
      const api = makeFakeApi();
      const store = await startedStore(api);
      api.emit('ADDED', namespace('team-b', { team: 'b' }, '101'));
      expect(plain(store.labels('team-b'))).toEqual({ team: 'b' });
    });

    it('sees labels change, without changing labels already handed out', async () => {
      const api = makeFakeApi([namespace('team-a', { team: 'a', env: 'dev' })]);
      const store = await startedStore(api);
      const before = store.labels('team-a');
      api.emit('MODIFIED', namespace('team-a', { team: 'a', env: 'prod' }, '102'));
      expect(plain(store.labels('team-a'))).toEqual({ team: 'a', env: 'prod' });
      expect(plain(before)).toEqual({ team: 'a', env: 'dev' });
      expect(api.lists).toHaveLength(1);
    });

    it('forgets a deleted namespace', async () => {
      const api = makeFakeApi([namespace('team-a', { team: 'a' })]);
      const store = await startedStore(api);
      api.emit('DELETED', namespace('team-a', { team: 'a' }, '103'));
      expect(store.labels('team-a')).toBeUndefined();
    });
  });

  describe('when the watch fails', () => {
    it('restarts it from the last resourceVersion and logs the failure', async () => {
      const api = makeFakeApi([namespace('team-a', { env: 'dev' })]);
      const capture = makeLogCapture();
      const store = await startedStore(api, { log: capture.log });
      api.latestWatch().done(Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
      await waitFor(() => api.watches.length === 2);

      expect(api.watches[1]).toMatchObject({ path: '/api/v1/namespaces', query: { resourceVersion: '100' } });
      expect(api.lists).toHaveLength(1);
      api.emit('MODIFIED', namespace('team-a', { env: 'prod' }, '105'));
      expect(plain(store.labels('team-a'))).toEqual({ env: 'prod' });
      expect(capture.lines).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: 'Namespace watch failed; restarting',
          code: 500,
          error: 'Internal Server Error',
        }),
      ]);
    });

    it('forgets, on the relist after 410 Gone, a namespace deleted while it was not watching', async () => {
      const api = makeFakeApi([namespace('gone', { a: '1' }), namespace('kept', { a: '2' })]);
      const store = await startedStore(api);
      api.state.namespaces = [namespace('kept', { a: '2' })];
      api.latestWatch().done(Object.assign(new Error('Gone'), { statusCode: 410 }));
      await waitFor(() => api.watches.length === 2);

      expect(api.lists).toHaveLength(2);
      expect(store.labels('gone')).toBeUndefined();
      expect(plain(store.labels('kept'))).toEqual({ a: '2' });
    });
  });

  describe('when the first list fails', () => {
    it('retries with backoff, answering undefined until a list succeeds', async () => {
      const api = makeFakeApi([namespace('team-a', { team: 'a' })]);
      api.state.listFailures.push(
        Object.assign(new Error('HTTP-Code: 403\nBody: ...'), {
          code: 403,
          body: JSON.stringify({ kind: 'Status', message: 'namespaces is forbidden', code: 403 }),
        }),
      );
      const capture = makeLogCapture();
      const store = makeStore(api, { log: capture.log });
      await store.start();
      expect(store.isSynced).toBe(false);
      expect(store.labels('team-a')).toBeUndefined();

      await store.synced;
      expect(plain(store.labels('team-a'))).toEqual({ team: 'a' });
      expect(capture.lines[0]).toMatchObject({ level: 'warn', code: 403, error: 'namespaces is forbidden' });
    });
  });

  describe('when stopped', () => {
    it('closes its watch and restarts nothing', async () => {
      const api = makeFakeApi();
      const store = await startedStore(api);
      await store.stop();
      expect(api.latestWatch().controller.signal.aborted).toBe(true);
      api.latestWatch().done(new Error('aborted'));
      await new Promise((r) => setTimeout(r, 10));
      expect(api.watches).toHaveLength(1);
    });

    it('releases whoever waits for a sync that never came', async () => {
      const api = makeFakeApi();
      api.state.listFailures.push(new Error('down'));
      const store = makeStore(api, { restartBaseDelayMs: 60_000 });
      await store.start();
      await store.stop();
      await expect(store.synced).resolves.toBeUndefined();
      expect(store.isSynced).toBe(false);
    });
  });
});
