import { Writable } from 'node:stream';
import type { V1Secret, V1SecretList } from '@kubernetes/client-node';
import { CoreApi, KubeClient } from '../../pkg/kube/index.js';
import { createLogger, createSilentLogger } from '../../pkg/log/index.js';
import {
  LIST_PAGE_SIZE,
  MAX_PULL_SECRET_BYTES,
  PullSecretStore,
  type ListSecretsRequest,
  type PullSecretStoreDeps,
  type PullSecretType,
} from './pull-secrets.js';

const JSON_TYPE = 'kubernetes.io/dockerconfigjson';
const CFG_TYPE = 'kubernetes.io/dockercfg';
const PASSWORD = 'ghp_S3cretT0kenThatMustNeverBeLogged0001';
const ROTATED = 'ghp_R0tatedT0kenThatMustNeverBeLogged002';

const base64 = (text: string) => Buffer.from(text).toString('base64');
const basicAuth = (username: string, password: string) => base64(`${username}:${password}`);

interface SecretOptions {
  readonly type?: PullSecretType;
  readonly resourceVersion?: string;
  readonly uid?: string;
  readonly data?: Record<string, string>;
}

/** A Secret as `kubectl create secret docker-registry` writes it, for ghcr.io. */
function pullSecret(namespace: string, name: string, password: string, options: SecretOptions = {}): V1Secret {
  const type = options.type ?? JSON_TYPE;
  const registries = { 'ghcr.io': { username: 'ci-bot', password, auth: basicAuth('ci-bot', password) } };
  const data: Record<string, string> =
    type === JSON_TYPE
      ? { '.dockerconfigjson': base64(JSON.stringify({ auths: registries })) }
      : { '.dockercfg': base64(JSON.stringify(registries)) };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      uid: options.uid ?? `uid-${namespace}-${name}`,
      resourceVersion: options.resourceVersion ?? '1',
      // kubectl apply keeps a second copy of the data here; it must not be what is kept.
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data }) },
    },
    type,
    data: options.data ?? data,
  };
}

interface FakeWatch {
  readonly type: PullSecretType;
  readonly path: string;
  readonly query: Record<string, unknown>;
  readonly callback: (phase: string, obj: unknown, raw?: unknown) => void;
  readonly done: (e: unknown) => void;
  readonly controller: AbortController;
}

/** The API server's Secrets, by type, behind a fake list call and a fake Watch. */
function makeFakeApi(initial: V1Secret[] = []) {
  const secrets = new Map<PullSecretType, V1Secret[]>([
    [JSON_TYPE, []],
    [CFG_TYPE, []],
  ]);
  for (const s of initial) secrets.get(s.type as PullSecretType)!.push(s);
  const lists: ListSecretsRequest[] = [];
  const watches: FakeWatch[] = [];
  const state = { pageSize: Infinity, resourceVersion: '100', listFailures: [] as unknown[] };
  const typeOf = (fieldSelector: unknown) => String(fieldSelector).replace(/^type=/, '') as PullSecretType;

  const listSecrets = async (request: ListSecretsRequest): Promise<V1SecretList> => {
    lists.push(request);
    if (state.listFailures.length > 0) throw state.listFailures.shift();
    const all = secrets.get(typeOf(request.fieldSelector)) ?? [];
    const start = Number(request._continue ?? 0);
    const end = Math.min(start + Math.min(request.limit, state.pageSize), all.length);
    return {
      items: all.slice(start, end),
      metadata: { resourceVersion: state.resourceVersion, ...(end < all.length ? { _continue: String(end) } : {}) },
    };
  };
  const watch: PullSecretStoreDeps['watch'] = {
    async watch(path, query, callback, done) {
      const controller = new AbortController();
      watches.push({ type: typeOf(query['fieldSelector']), path, query, callback, done, controller });
      return controller;
    },
  };
  const latestWatch = (type: PullSecretType) => watches.filter((w) => w.type === type).at(-1)!;
  const emit = (phase: 'ADDED' | 'MODIFIED' | 'DELETED', secret: V1Secret) =>
    latestWatch(secret.type as PullSecretType).callback(phase, secret, { type: phase, object: secret });
  return { secrets, lists, watches, state, listSecrets, watch, latestWatch, emit };
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

const stores: PullSecretStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.stop()));
});

async function startedStore(api: ReturnType<typeof makeFakeApi>, deps: Partial<PullSecretStoreDeps> = {}) {
  const store = new PullSecretStore({
    listSecrets: api.listSecrets,
    watch: api.watch,
    log: createSilentLogger(),
    restartBaseDelayMs: 1,
    restartMaxDelayMs: 4,
    ...deps,
  });
  stores.push(store);
  await store.start();
  await store.synced;
  return store;
}

/** The password the store has for ghcr.io in namespace/name, or what it has instead. */
function passwordIn(store: PullSecretStore, namespace: string, name: string): string | { error: string } | undefined {
  const found = store.lookup(namespace, name);
  if (found === undefined) return undefined;
  return found.ok ? found.value.lookup('ghcr.io')?.password : { error: found.error };
}

describe('PullSecretStore', () => {
  describe('when constructed', () => {
    it('makes no request until started', async () => {
      const api = makeFakeApi();
      const store = new PullSecretStore({ listSecrets: api.listSecrets, watch: api.watch, log: createSilentLogger() });
      stores.push(store);
      await new Promise((r) => setTimeout(r, 5));
      expect(api.lists).toEqual([]);
      expect(api.watches).toEqual([]);
      expect(store.isSynced).toBe(false);
    });

    it('takes the API client and its CoreApi as they are, and asks nothing of them yet', async () => {
      const kube = new KubeClient({
        server: 'https://127.0.0.1:1',
        insecureSkipTlsVerify: false,
        credentials: { kind: 'none' },
        source: 'test',
      });
      const core = new CoreApi(kube);
      const listed: unknown[] = [];
      const store = new PullSecretStore({
        listSecrets: (request) => (listed.push(request), core.listSecretForAllNamespaces(request)),
        watch: kube,
        log: createSilentLogger(),
      });
      stores.push(store);
      await new Promise((r) => setTimeout(r, 5));
      expect(listed).toEqual([]);
    });

    it('answers every lookup with the reason until the Secrets are loaded, not with "missing"', () => {
      const store = new PullSecretStore({
        listSecrets: async () => ({ items: [] }),
        watch: makeFakeApi().watch,
        log: createSilentLogger(),
      });
      expect(store.lookup('team-a', 'regcred')).toEqual({ ok: false, error: 'pull Secrets are not loaded yet' });
    });
  });

  describe('when started', () => {
    it('lists and watches each pull Secret type cluster-wide, by field selector, a page at a time', async () => {
      const api = makeFakeApi();
      await startedStore(api);
      expect(api.lists).toEqual([
        { fieldSelector: 'type=kubernetes.io/dockerconfigjson', limit: LIST_PAGE_SIZE },
        { fieldSelector: 'type=kubernetes.io/dockercfg', limit: LIST_PAGE_SIZE },
      ]);
      expect(api.watches.map((w) => [w.path, w.query['fieldSelector'], w.query['resourceVersion']])).toEqual([
        ['/api/v1/secrets', 'type=kubernetes.io/dockerconfigjson', '100'],
        ['/api/v1/secrets', 'type=kubernetes.io/dockercfg', '100'],
      ]);
    });

    it('finds the credentials of a Secret that was listed', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'regcred', PASSWORD)]);
      const store = await startedStore(api);
      expect(store.isSynced).toBe(true);
      expect(passwordIn(store, 'team-a', 'regcred')).toBe(PASSWORD);
      expect(store.lookup('team-a', 'regcred')).toMatchObject({ ok: true });
    });

    it('reads kubernetes.io/dockercfg Secrets in the legacy format', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'legacy', PASSWORD, { type: CFG_TYPE })]);
      const store = await startedStore(api);
      expect(passwordIn(store, 'team-a', 'legacy')).toBe(PASSWORD);
    });

    it('follows continue tokens until the list is complete', async () => {
      const api = makeFakeApi([
        pullSecret('team-a', 'one', 'p1'),
        pullSecret('team-b', 'two', 'p2'),
        pullSecret('team-c', 'three', 'p3'),
      ]);
      api.state.pageSize = 2;
      const store = await startedStore(api);
      expect(api.lists.filter((l) => l.fieldSelector === `type=${JSON_TYPE}`).map((l) => l._continue)).toEqual([
        undefined,
        '2',
      ]);
      expect(['one', 'two', 'three'].map((n, i) => passwordIn(store, `team-${'abc'[i]}`, n))).toEqual([
        'p1',
        'p2',
        'p3',
      ]);
    });

    it('answers undefined for a Secret that does not exist, or is in another namespace', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'regcred', PASSWORD)]);
      const store = await startedStore(api);
      expect(store.lookup('team-a', 'other')).toBeUndefined();
      expect(store.lookup('team-b', 'regcred')).toBeUndefined();
    });
  });

  describe('when a pull Secret is added', () => {
    it('finds it from then on', async () => {
      const api = makeFakeApi();
      const store = await startedStore(api);
      api.emit('ADDED', pullSecret('team-a', 'regcred', PASSWORD, { resourceVersion: '101' }));
      expect(passwordIn(store, 'team-a', 'regcred')).toBe(PASSWORD);
    });
  });

  describe('when a pull Secret is rotated', () => {
    it('uses the new credentials without a restart', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'regcred', PASSWORD)]);
      const store = await startedStore(api);
      api.emit('MODIFIED', pullSecret('team-a', 'regcred', ROTATED, { resourceVersion: '102' }));
      expect(passwordIn(store, 'team-a', 'regcred')).toBe(ROTATED);
      expect(api.lists).toHaveLength(2);
    });

    it('does not let a config looked up before the rotation change under its holder', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'regcred', PASSWORD)]);
      const store = await startedStore(api);
      const before = store.lookup('team-a', 'regcred');
      api.emit('MODIFIED', pullSecret('team-a', 'regcred', ROTATED, { resourceVersion: '102' }));
      expect(before?.ok && before.value.lookup('ghcr.io')?.password).toBe(PASSWORD);
    });
  });

  describe('when a pull Secret is deleted', () => {
    it('no longer finds it', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'regcred', PASSWORD)]);
      const store = await startedStore(api);
      api.emit('DELETED', pullSecret('team-a', 'regcred', PASSWORD, { resourceVersion: '103' }));
      expect(store.lookup('team-a', 'regcred')).toBeUndefined();
    });
  });

  describe('when a pull Secret does not parse', () => {
    it('keeps the reason as its value, without quoting its content', async () => {
      const broken = pullSecret('team-a', 'broken', PASSWORD, {
        data: { '.dockerconfigjson': base64(`{"auths": {"ghcr.io": {"password": "${PASSWORD}"`) },
      });
      const api = makeFakeApi([broken]);
      const store = await startedStore(api);
      const found = passwordIn(store, 'team-a', 'broken');
      expect(found).toEqual({ error: 'docker config.json is not valid JSON' });
    });

    it('says which key is missing when the Secret lacks its type’s key', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'empty', PASSWORD, { data: { other: base64('{}') } })]);
      const store = await startedStore(api);
      expect(passwordIn(store, 'team-a', 'empty')).toEqual({ error: 'it has no .dockerconfigjson key' });
    });

    it('is found again once a fixed version arrives', async () => {
      const api = makeFakeApi([
        pullSecret('team-a', 'regcred', PASSWORD, { data: { '.dockerconfigjson': base64('[]') } }),
      ]);
      const store = await startedStore(api);
      expect(store.lookup('team-a', 'regcred')).toMatchObject({ ok: false });
      api.emit('MODIFIED', pullSecret('team-a', 'regcred', ROTATED, { resourceVersion: '104' }));
      expect(passwordIn(store, 'team-a', 'regcred')).toBe(ROTATED);
    });
  });

  describe('when a pull Secret is larger than the limit', () => {
    it('keeps only the reason, naming the limit', async () => {
      const padding = base64('x'.repeat(MAX_PULL_SECRET_BYTES));
      const huge = pullSecret('team-a', 'huge', PASSWORD);
      const api = makeFakeApi([{ ...huge, data: { ...huge.data, padding } }]);
      const store = await startedStore(api);
      const found = passwordIn(store, 'team-a', 'huge');
      expect(found).toEqual({ error: expect.stringContaining('over the 64 KiB read from a pull Secret') });
      expect(JSON.stringify(found)).not.toContain(PASSWORD);
    });

    it('still reads a Secret of exactly the limit', async () => {
      const secret = pullSecret('team-a', 'edge', PASSWORD);
      const used = Buffer.byteLength(secret.data!['.dockerconfigjson']!, 'base64');
      const padding = base64('x'.repeat(MAX_PULL_SECRET_BYTES - used));
      const api = makeFakeApi([{ ...secret, data: { ...secret.data, padding } }]);
      const store = await startedStore(api);
      expect(passwordIn(store, 'team-a', 'edge')).toBe(PASSWORD);
    });
  });

  describe('when the watch fails', () => {
    it('restarts it from the last resourceVersion, logging the failure without Secret content', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'regcred', PASSWORD)]);
      const capture = makeLogCapture();
      const store = await startedStore(api, { log: capture.log });
      const failure = Object.assign(new Error('Internal Server Error'), { statusCode: 500 });
      api.latestWatch(JSON_TYPE).done(failure);
      await waitFor(() => api.watches.length === 3);

      expect(api.watches[2]).toMatchObject({ type: JSON_TYPE, query: { resourceVersion: '100' } });
      expect(api.lists).toHaveLength(2);
      api.emit('MODIFIED', pullSecret('team-a', 'regcred', ROTATED, { resourceVersion: '105' }));
      expect(passwordIn(store, 'team-a', 'regcred')).toBe(ROTATED);
      expect(capture.lines).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: 'pull Secret watch failed; restarting',
          type: JSON_TYPE,
          code: 500,
          error: 'Internal Server Error',
        }),
      ]);
      expect(JSON.stringify(capture.lines)).not.toContain(PASSWORD);
    });

    it('forgets, on the relist after 410 Gone, a Secret deleted while it was not watching', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'regcred', PASSWORD), pullSecret('team-a', 'kept', PASSWORD)]);
      const store = await startedStore(api);
      api.secrets.set(JSON_TYPE, [pullSecret('team-a', 'kept', PASSWORD)]);
      api.latestWatch(JSON_TYPE).done(Object.assign(new Error('Gone'), { statusCode: 410 }));
      await waitFor(() => api.watches.length === 3);

      expect(api.lists).toHaveLength(3);
      expect(store.lookup('team-a', 'regcred')).toBeUndefined();
      expect(passwordIn(store, 'team-a', 'kept')).toBe(PASSWORD);
    });
  });

  describe('when the same version of a Secret is listed again', () => {
    it('does not parse it again', async () => {
      let reads = 0;
      const secret = pullSecret('team-a', 'regcred', PASSWORD);
      const data = secret.data;
      const counted = Object.defineProperty({ ...secret }, 'data', { get: () => (reads++, data), enumerable: true });
      const api = makeFakeApi([counted]);
      const store = await startedStore(api);
      api.latestWatch(JSON_TYPE).done(Object.assign(new Error('Gone'), { statusCode: 410 }));
      await waitFor(() => api.watches.length === 3);

      expect(api.lists).toHaveLength(3);
      expect(reads).toBe(1);
      expect(passwordIn(store, 'team-a', 'regcred')).toBe(PASSWORD);
    });
  });

  describe('when the first list fails', () => {
    it('retries with backoff, and is synced only once a list succeeds', async () => {
      const api = makeFakeApi([pullSecret('team-a', 'regcred', PASSWORD)]);
      const forbidden = Object.assign(new Error('HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: ...'), {
        code: 403,
        body: JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'secrets is forbidden', code: 403 }),
      });
      api.state.listFailures.push(forbidden);
      const capture = makeLogCapture();
      const store = new PullSecretStore({
        listSecrets: api.listSecrets,
        watch: api.watch,
        log: capture.log,
        restartBaseDelayMs: 1,
      });
      stores.push(store);
      await store.start();
      expect(store.isSynced).toBe(false);
      expect(store.lookup('team-a', 'regcred')).toMatchObject({ ok: false });

      await store.synced;
      expect(passwordIn(store, 'team-a', 'regcred')).toBe(PASSWORD);
      expect(capture.lines[0]).toMatchObject({
        level: 'warn',
        type: JSON_TYPE,
        code: 403,
        error: 'secrets is forbidden',
      });
    });
  });

  describe('when stopped', () => {
    it('closes its watches and restarts nothing', async () => {
      const api = makeFakeApi();
      const store = await startedStore(api);
      await store.stop();
      expect(api.watches.every((w) => w.controller.signal.aborted)).toBe(true);
      api.latestWatch(JSON_TYPE).done(new Error('aborted'));
      await new Promise((r) => setTimeout(r, 10));
      expect(api.watches).toHaveLength(2);
    });

    it('releases whoever waits for a sync that never came', async () => {
      const api = makeFakeApi();
      api.state.listFailures.push(new Error('down'), new Error('down'), new Error('down'));
      const store = new PullSecretStore({
        listSecrets: api.listSecrets,
        watch: api.watch,
        log: createSilentLogger(),
        restartBaseDelayMs: 60_000,
      });
      await store.start();
      await store.stop();
      await expect(store.synced).resolves.toBeUndefined();
      expect(store.isSynced).toBe(false);
    });
  });
});
