// Every RoleBinding and ClusterRoleBinding, kept current by two cluster-wide list+watches (client-node's ListWatch), and
// indexed by subject: admissions resolve a user's roles (../user-roles.ts) without an API call or a scan.
//
// Only what lookups need is kept: each binding, as listed or watched, is reduced before the informer caches it to its
// namespace, name, uid, resourceVersion, roleRef (kind and name) and subjects (kind, name and namespace); labels,
// annotations and managed fields are dropped.
//
// client-node stops a ListWatch on any error but 410 Gone; each is restarted here with backoff, as
// namespace-labels.ts does.
import {
  ListWatch,
  type KubernetesListObject,
  type KubernetesObject,
  type RbacV1Subject,
  type V1ClusterRoleBindingList,
  type V1ObjectMeta,
  type V1RoleBindingList,
  type V1RoleRef,
  type Watch,
} from '@kubernetes/client-node';
import type { Logger } from '../../pkg/log/index.js';
import {
  grantOf,
  subjectKeys,
  type Grant,
  type GrantsBySubject,
  type SlimRoleRef,
  type SlimSubject,
} from '../user-roles.js';
import { describeError, LIST_PAGE_SIZE } from './pull-secrets.js';

const ROLE_BINDINGS_PATH = '/apis/rbac.authorization.k8s.io/v1/rolebindings';
const CLUSTER_ROLE_BINDINGS_PATH = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';

/**
 * The one page of a list request this store makes: RbacAuthorizationV1Api.listRoleBindingForAllNamespaces and
 * .listClusterRoleBinding take exactly this.
 */
export interface ListBindingsRequest {
  readonly limit: number;
  readonly _continue?: string;
}

export interface RoleBindingsDeps {
  /** One page of RoleBindings: `(request) => rbacV1Api.listRoleBindingForAllNamespaces(request)`. */
  readonly listRoleBindings: (request: ListBindingsRequest) => Promise<V1RoleBindingList>;
  /** One page of ClusterRoleBindings: `(request) => rbacV1Api.listClusterRoleBinding(request)`. */
  readonly listClusterRoleBindings: (request: ListBindingsRequest) => Promise<V1ClusterRoleBindingList>;
  /** client-node's `new Watch(kubeConfig)`; only its watch() is called. */
  readonly watch: Pick<Watch, 'watch'>;
  readonly log: Logger;
  readonly restartBaseDelayMs?: number;
  readonly restartMaxDelayMs?: number;
}

/** What the informers cache for one binding; metadata holds only namespace, name, uid and resourceVersion. */
export interface SlimRoleBinding extends KubernetesObject {
  readonly metadata: V1ObjectMeta;
  readonly roleRef: SlimRoleRef;
  readonly subjects: readonly SlimSubject[];
}
export type SlimClusterRoleBinding = SlimRoleBinding;

type WatchCallback = Parameters<Watch['watch']>[2];
type ListPage = (request: ListBindingsRequest) => Promise<{
  items: { metadata?: V1ObjectMeta; roleRef?: V1RoleRef; subjects?: RbacV1Subject[] }[];
  metadata?: { _continue?: string; resourceVersion?: string };
}>;

export class RoleBindings implements GrantsBySubject {
  /** Resolves once both kinds of binding have been listed (or the store was stopped). */
  readonly synced: Promise<void>;
  readonly #roleBindings: BindingWatch;
  readonly #clusterRoleBindings: BindingWatch;
  /** Subject key → binding id → what that binding grants. */
  readonly #bySubject = new Map<string, Map<string, Grant>>();
  /** Binding id → the subject keys it is indexed under. */
  readonly #keysOf = new Map<string, readonly string[]>();

  constructor(deps: RoleBindingsDeps) {
    const index = { put: this.#put, remove: this.#remove };
    this.#roleBindings = new BindingWatch('RoleBinding', ROLE_BINDINGS_PATH, deps.listRoleBindings, deps, index);
    this.#clusterRoleBindings = new BindingWatch(
      'ClusterRoleBinding',
      CLUSTER_ROLE_BINDINGS_PATH,
      deps.listClusterRoleBindings,
      deps,
      index,
    );
    this.synced = Promise.all([this.#roleBindings.synced, this.#clusterRoleBindings.synced]).then(() => undefined);
  }

  get isSynced(): boolean {
    return this.#roleBindings.isSynced && this.#clusterRoleBindings.isSynced;
  }

  /** The grants of every binding naming the subject key (user-roles.ts's userKey or groupKey); none until synced. */
  readonly grants = (subjectKey: string): Iterable<Grant> => {
    if (!this.isSynced) return [];
    return this.#bySubject.get(subjectKey)?.values() ?? [];
  };

  /** Every binding cached. */
  bindings(): {
    roleBindings: readonly SlimRoleBinding[];
    clusterRoleBindings: readonly SlimClusterRoleBinding[];
  } {
    return { roleBindings: this.#roleBindings.list(), clusterRoleBindings: this.#clusterRoleBindings.list() };
  }

  /** Lists and watches both kinds of binding. Never rejects: failures are logged and retried with backoff. */
  async start(): Promise<void> {
    await Promise.all([this.#roleBindings.start(), this.#clusterRoleBindings.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.#roleBindings.stop(), this.#clusterRoleBindings.stop()]);
  }

  readonly #put = (id: string, binding: SlimRoleBinding): void => {
    this.#remove(id);
    const slim = { namespace: binding.metadata.namespace, roleRef: binding.roleRef, subjects: binding.subjects };
    const grant = grantOf(slim);
    if (!grant) return;
    const keys = subjectKeys(slim);
    for (const key of keys) {
      const grants = this.#bySubject.get(key);
      if (grants) grants.set(id, grant);
      else this.#bySubject.set(key, new Map([[id, grant]]));
    }
    this.#keysOf.set(id, keys);
  };

  readonly #remove = (id: string): void => {
    for (const key of this.#keysOf.get(id) ?? []) {
      const grants = this.#bySubject.get(key);
      grants?.delete(id);
      if (grants?.size === 0) this.#bySubject.delete(key);
    }
    this.#keysOf.delete(id);
  };
}

interface Index {
  put(id: string, binding: SlimRoleBinding): void;
  remove(id: string): void;
}

/** One kind of binding: a ListWatch that slims what it caches, feeds the index, and restarts with backoff. */
class BindingWatch {
  readonly synced: Promise<void>;
  readonly #kind: string;
  readonly #deps: RoleBindingsDeps;
  readonly #informer: ListWatch<SlimRoleBinding>;
  #caughtUp = false;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #resolveSynced!: () => void;
  #stopped = false;

  constructor(kind: string, path: string, listPage: ListPage, deps: RoleBindingsDeps, index: Index) {
    this.#kind = kind;
    this.#deps = deps;
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
    this.#informer = this.#createInformer(path, listPage);
    const id = (b: SlimRoleBinding) => `${kind}/${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
    const put = (b: SlimRoleBinding) => index.put(id(b), b);
    this.#informer.on('add', put);
    this.#informer.on('update', put);
    this.#informer.on('delete', (b: SlimRoleBinding) => index.remove(id(b)));
  }

  get isSynced(): boolean {
    return this.#caughtUp;
  }

  list(): readonly SlimRoleBinding[] {
    return this.#informer.list();
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#informer.start().catch((e: unknown) => this.#restart(e));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    await this.#informer.stop();
    this.#resolveSynced();
  }

  #createInformer(path: string, listPage: ListPage): ListWatch<SlimRoleBinding> {
    const list = async (): Promise<KubernetesListObject<SlimRoleBinding>> => {
      const items: SlimRoleBinding[] = [];
      let page: Awaited<ReturnType<ListPage>>;
      let next: string | undefined;
      do {
        page = await listPage({ limit: LIST_PAGE_SIZE, ...(next ? { _continue: next } : {}) });
        for (const binding of page.items) items.push(keep(binding));
        next = page.metadata?._continue;
      } while (next);
      this.#failures = 0;
      // Every page of one list is one snapshot; the last page's resourceVersion is where the watch goes on from.
      return { items, metadata: { resourceVersion: page.metadata?.resourceVersion } };
    };
    // As in namespace-labels.ts: objects are reduced before the informer caches them, and opening the watch (which
    // ListWatch does only after applying a list) marks the store caught up.
    const watch = {
      watch: (
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        callback: WatchCallback,
        done: (e: unknown) => void,
      ) => {
        this.#markCaughtUp();
        return this.#deps.watch.watch(
          path,
          query,
          (phase, obj: Parameters<typeof keep>[0], raw) => {
            this.#failures = 0;
            if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') callback(phase, keep(obj), raw);
            else callback(phase, obj, raw);
          },
          done,
        );
      },
    } as unknown as Watch;
    const informer = new ListWatch<SlimRoleBinding>(path, watch, list, false);
    informer.on('error', (e: unknown) => this.#restart(e));
    return informer;
  }

  #markCaughtUp(): void {
    if (this.#caughtUp) return;
    this.#caughtUp = true;
    this.#resolveSynced();
  }

  #restart(error: unknown): void {
    if (this.#stopped) return;
    this.#failures += 1;
    const base = this.#deps.restartBaseDelayMs ?? 500;
    const delay = Math.min(base * 2 ** (this.#failures - 1), this.#deps.restartMaxDelayMs ?? 30_000);
    this.#deps.log.warn(`${this.#kind} watch failed; restarting`, { retryInMs: delay, ...describeError(error) });
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.#informer.start().catch((e: unknown) => this.#restart(e));
    }, delay);
  }
}

function keep(binding: { metadata?: V1ObjectMeta; roleRef?: V1RoleRef; subjects?: RbacV1Subject[] }): SlimRoleBinding {
  const { namespace, name, uid, resourceVersion } = binding.metadata ?? {};
  const roleRef = { kind: String(binding.roleRef?.kind ?? ''), name: String(binding.roleRef?.name ?? '') };
  const subjects = (Array.isArray(binding.subjects) ? binding.subjects : []).map((s) => ({
    kind: String(s.kind),
    name: String(s.name),
    ...(s.namespace ? { namespace: String(s.namespace) } : {}),
  }));
  return { metadata: { namespace, name, uid, resourceVersion }, roleRef, subjects };
}
