import { Writable } from 'node:stream';
import type { V1ClusterRoleBinding, V1RoleBinding } from '@kubernetes/client-node';
import { KubeClient, RbacApi } from '../../pkg/kube/index.js';
import { createLogger, createSilentLogger } from '../../pkg/log/index.js';
import { toUserRoles } from '../user-roles.js';
import { LIST_PAGE_SIZE } from './pull-secrets.js';
import { RoleBindings, type ListBindingsRequest, type RoleBindingsDeps } from './role-bindings.js';

const RB_PATH = '/apis/rbac.authorization.k8s.io/v1/rolebindings';
const CRB_PATH = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';

type Subject = { kind: string; name: string; namespace?: string };

function roleBinding(
  namespace: string,
  name: string,
  roleRef: { kind: string; name: string },
  subjects: Subject[],
  resourceVersion = '1',
): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      namespace,
      name,
      uid: `uid-${namespace}-${name}`,
      resourceVersion,
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}' },
      managedFields: [{ manager: 'kubectl' }],
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
    subjects: subjects.map((s) => ({ apiGroup: 'rbac.authorization.k8s.io', ...s })),
  };
}

function clusterRoleBinding(name: string, clusterRole: string, subjects: Subject[], resourceVersion = '1') {
  const binding = roleBinding('', name, { kind: 'ClusterRole', name: clusterRole }, subjects, resourceVersion);
  delete binding.metadata!.namespace;
  return { ...binding, kind: 'ClusterRoleBinding' } as V1ClusterRoleBinding;
}

interface FakeWatch {
  readonly path: string;
  readonly query: Record<string, unknown>;
  readonly callback: (phase: string, obj: unknown, raw?: unknown) => void;
  readonly done: (e: unknown) => void;
  readonly controller: AbortController;
}

/** The API server's bindings behind fake list calls and a fake Watch. */
function makeFakeApi(initial: { roleBindings?: V1RoleBinding[]; clusterRoleBindings?: V1ClusterRoleBinding[] } = {}) {
  const state = {
    roleBindings: [...(initial.roleBindings ?? [])],
    clusterRoleBindings: [...(initial.clusterRoleBindings ?? [])],
    pageSize: Infinity,
    resourceVersion: '100',
    listFailures: [] as unknown[],
  };
  const lists: [string, ListBindingsRequest][] = [];
  const watches: FakeWatch[] = [];
  const pageOf = <T>(all: T[], request: ListBindingsRequest) => {
    const start = Number(request._continue ?? 0);
    const end = Math.min(start + Math.min(request.limit, state.pageSize), all.length);
    return {
      items: all.slice(start, end),
      metadata: { resourceVersion: state.resourceVersion, ...(end < all.length ? { _continue: String(end) } : {}) },
    };
  };
  const listRoleBindings = async (request: ListBindingsRequest) => {
    lists.push(['rb', request]);
    if (state.listFailures.length > 0) throw state.listFailures.shift();
    return pageOf(state.roleBindings, request);
  };
  const listClusterRoleBindings = async (request: ListBindingsRequest) => {
    lists.push(['crb', request]);
    return pageOf(state.clusterRoleBindings, request);
  };
  const watch: RoleBindingsDeps['watch'] = {
    async watch(path, query, callback, done) {
      const controller = new AbortController();
      watches.push({ path, query, callback, done, controller });
      return controller;
    },
  };
  const latestWatch = (path: string) => watches.filter((w) => w.path === path).at(-1)!;
  const emit = (path: string, phase: 'ADDED' | 'MODIFIED' | 'DELETED', obj: V1RoleBinding | V1ClusterRoleBinding) =>
    latestWatch(path).callback(phase, obj, { type: phase, object: obj });
  return { state, lists, watches, listRoleBindings, listClusterRoleBindings, watch, latestWatch, emit };
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

const stores: RoleBindings[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.stop()));
});

function makeStore(api: ReturnType<typeof makeFakeApi>, deps: Partial<RoleBindingsDeps> = {}) {
  const store = new RoleBindings({
    listRoleBindings: api.listRoleBindings,
    listClusterRoleBindings: api.listClusterRoleBindings,
    watch: api.watch,
    log: createSilentLogger(),
    restartBaseDelayMs: 1,
    restartMaxDelayMs: 4,
    ...deps,
  });
  stores.push(store);
  return store;
}

async function startedStore(api: ReturnType<typeof makeFakeApi>, deps: Partial<RoleBindingsDeps> = {}) {
  const store = makeStore(api, deps);
  await store.start();
  await store.synced;
  return store;
}

const rolesOf = (store: RoleBindings, username: string, groups: string[] = []) =>
  toUserRoles({ username, groups }, store);

describe('RoleBindings', () => {
  describe('when constructed', () => {
    it('makes no request until started, and grants nothing', async () => {
      const api = makeFakeApi({
        roleBindings: [roleBinding('ns', 'b', { kind: 'Role', name: 'r' }, [{ kind: 'User', name: 'alice' }])],
      });
      const store = makeStore(api);
      await new Promise((r) => setTimeout(r, 5));
      expect(api.lists).toEqual([]);
      expect(api.watches).toEqual([]);
      expect(store.isSynced).toBe(false);
      expect(rolesOf(store, 'alice')).toEqual({ roles: [], clusterRoles: [] });
    });

    it('takes the API client and its RbacApi as they are', async () => {
      const kube = new KubeClient({
        server: 'https://127.0.0.1:1',
        insecureSkipTlsVerify: false,
        credentials: { kind: 'none' },
        source: 'test',
      });
      const rbac = new RbacApi(kube);
      const store = new RoleBindings({
        listRoleBindings: (request) => rbac.listRoleBindingForAllNamespaces(request),
        listClusterRoleBindings: (request) => rbac.listClusterRoleBinding(request),
        watch: kube,
        log: createSilentLogger(),
      });
      stores.push(store);
      expect(store.isSynced).toBe(false);
    });
  });

  describe('when started', () => {
    it('lists each kind a page at a time, then watches both paths', async () => {
      const alice = [{ kind: 'User', name: 'alice' }];
      const api = makeFakeApi({
        roleBindings: [
          roleBinding('a', 'b1', { kind: 'Role', name: 'r1' }, alice),
          roleBinding('b', 'b2', { kind: 'Role', name: 'r2' }, alice),
          roleBinding('c', 'b3', { kind: 'ClusterRole', name: 'view' }, alice),
        ],
        clusterRoleBindings: [clusterRoleBinding('crb', 'admin', alice)],
      });
      api.state.pageSize = 2;
      const store = await startedStore(api);
      expect(api.lists.filter(([k]) => k === 'rb').map(([, r]) => r)).toEqual([
        { limit: LIST_PAGE_SIZE },
        { limit: LIST_PAGE_SIZE, _continue: '2' },
      ]);
      expect(api.lists.filter(([k]) => k === 'crb').map(([, r]) => r)).toEqual([{ limit: LIST_PAGE_SIZE }]);
      expect(api.watches.map((w) => [w.path, w.query['resourceVersion']]).sort()).toEqual([
        [CRB_PATH, '100'],
        [RB_PATH, '100'],
      ]);
      expect(store.isSynced).toBe(true);
      expect(rolesOf(store, 'alice')).toEqual({ roles: ['a:r1', 'b:r2'], clusterRoles: ['admin', 'view'] });
    });

    it('keeps only namespace, name, uid, resourceVersion, roleRef and subjects', async () => {
      const api = makeFakeApi({
        roleBindings: [
          roleBinding('ns', 'b', { kind: 'Role', name: 'r' }, [
            { kind: 'ServiceAccount', name: 'sa', namespace: 'ci' },
          ]),
        ],
        clusterRoleBindings: [clusterRoleBinding('crb', 'admin', [{ kind: 'Group', name: 'ops' }])],
      });
      const store = await startedStore(api);
      expect(store.bindings()).toEqual({
        roleBindings: [
          {
            metadata: { namespace: 'ns', name: 'b', uid: 'uid-ns-b', resourceVersion: '1' },
            roleRef: { kind: 'Role', name: 'r' },
            subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ci' }],
          },
        ],
        clusterRoleBindings: [
          {
            metadata: { namespace: undefined, name: 'crb', uid: 'uid--crb', resourceVersion: '1' },
            roleRef: { kind: 'ClusterRole', name: 'admin' },
            subjects: [{ kind: 'Group', name: 'ops' }],
          },
        ],
      });
    });

    it('waits for both kinds before it is synced', async () => {
      const api = makeFakeApi();
      api.state.listFailures.push(new Error('down'));
      const store = makeStore(api, { restartBaseDelayMs: 60_000 });
      await store.start();
      expect(store.isSynced).toBe(false);
      expect(api.watches.map((w) => w.path)).toEqual([CRB_PATH]);
    });
  });

  describe('when watched', () => {
    it('indexes an added binding, re-indexes a modified one and forgets a deleted one', async () => {
      const api = makeFakeApi();
      const store = await startedStore(api);
      api.emit(
        RB_PATH,
        'ADDED',
        roleBinding('ns', 'b', { kind: 'Role', name: 'r' }, [{ kind: 'User', name: 'alice' }], '101'),
      );
      api.emit(CRB_PATH, 'ADDED', clusterRoleBinding('crb', 'view', [{ kind: 'Group', name: 'devs' }], '102'));
      expect(rolesOf(store, 'alice', ['devs'])).toEqual({ roles: ['ns:r'], clusterRoles: ['view'] });

      api.emit(
        RB_PATH,
        'MODIFIED',
        roleBinding('ns', 'b', { kind: 'Role', name: 'r' }, [{ kind: 'User', name: 'bob' }], '103'),
      );
      expect(rolesOf(store, 'alice')).toEqual({ roles: [], clusterRoles: [] });
      expect(rolesOf(store, 'bob')).toEqual({ roles: ['ns:r'], clusterRoles: [] });

      api.emit(CRB_PATH, 'DELETED', clusterRoleBinding('crb', 'view', [], '104'));
      expect(rolesOf(store, 'alice', ['devs'])).toEqual({ roles: [], clusterRoles: [] });
    });

    it('keeps a RoleBinding and a ClusterRoleBinding of the same name apart', async () => {
      const api = makeFakeApi();
      const store = await startedStore(api);
      api.emit(
        RB_PATH,
        'ADDED',
        roleBinding('', 'same', { kind: 'ClusterRole', name: 'a' }, [{ kind: 'User', name: 'u' }]),
      );
      api.emit(CRB_PATH, 'ADDED', clusterRoleBinding('same', 'b', [{ kind: 'User', name: 'u' }]));
      expect(rolesOf(store, 'u').clusterRoles).toEqual(['a', 'b']);
      api.emit(CRB_PATH, 'DELETED', clusterRoleBinding('same', 'b', []));
      expect(rolesOf(store, 'u').clusterRoles).toEqual(['a']);
    });
  });

  describe('when a watch fails', () => {
    it('restarts it from the last resourceVersion and logs the failure', async () => {
      const api = makeFakeApi();
      const capture = makeLogCapture();
      const store = await startedStore(api, { log: capture.log });
      api.latestWatch(CRB_PATH).done(Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
      await waitFor(() => api.watches.length === 3);

      expect(api.watches[2]).toMatchObject({ path: CRB_PATH, query: { resourceVersion: '100' } });
      expect(api.lists).toHaveLength(2);
      api.emit(CRB_PATH, 'ADDED', clusterRoleBinding('crb', 'view', [{ kind: 'User', name: 'alice' }], '105'));
      expect(rolesOf(store, 'alice').clusterRoles).toEqual(['view']);
      expect(capture.lines).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: 'ClusterRoleBinding watch failed; restarting',
          code: 500,
          error: 'Internal Server Error',
        }),
      ]);
    });

    it('forgets, on the relist after 410 Gone, a binding deleted while it was not watching', async () => {
      const alice = [{ kind: 'User', name: 'alice' }];
      const api = makeFakeApi({
        roleBindings: [
          roleBinding('ns', 'gone', { kind: 'Role', name: 'gone' }, alice),
          roleBinding('ns', 'kept', { kind: 'Role', name: 'kept' }, alice),
        ],
      });
      const store = await startedStore(api);
      api.state.roleBindings = [roleBinding('ns', 'kept', { kind: 'Role', name: 'kept' }, alice)];
      api.latestWatch(RB_PATH).done(Object.assign(new Error('Gone'), { statusCode: 410 }));
      await waitFor(() => api.watches.length === 3);

      expect(rolesOf(store, 'alice').roles).toEqual(['ns:kept']);
    });
  });

  describe('when the first list fails', () => {
    it('retries with backoff, granting nothing until both kinds are listed', async () => {
      const api = makeFakeApi({
        roleBindings: [roleBinding('ns', 'b', { kind: 'Role', name: 'r' }, [{ kind: 'User', name: 'alice' }])],
      });
      api.state.listFailures.push(
        Object.assign(new Error('HTTP-Code: 403\nBody: ...'), {
          code: 403,
          body: JSON.stringify({ kind: 'Status', message: 'rolebindings is forbidden', code: 403 }),
        }),
      );
      const capture = makeLogCapture();
      const store = makeStore(api, { log: capture.log });
      await store.start();
      expect(store.isSynced).toBe(false);
      expect(rolesOf(store, 'alice').roles).toEqual([]);

      await store.synced;
      expect(rolesOf(store, 'alice').roles).toEqual(['ns:r']);
      expect(capture.lines[0]).toMatchObject({
        level: 'warn',
        message: 'RoleBinding watch failed; restarting',
        code: 403,
        error: 'rolebindings is forbidden',
      });
    });
  });

  describe('when stopped', () => {
    it('closes its watches and restarts nothing', async () => {
      const api = makeFakeApi();
      const store = await startedStore(api);
      await store.stop();
      expect(api.watches.every((w) => w.controller.signal.aborted)).toBe(true);
      api.watches.forEach((w) => w.done(new Error('aborted')));
      await new Promise((r) => setTimeout(r, 10));
      expect(api.watches).toHaveLength(2);
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
