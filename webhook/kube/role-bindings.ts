// Every RoleBinding and ClusterRoleBinding, kept current by two cluster-wide list+watches (Informers), and
// indexed by subject: admissions resolve a user's roles (../user-roles.ts) without an API call or a scan.
//
// Only what lookups need is kept: each binding, as listed or watched, is reduced before the informer caches it to its
// namespace, name, uid, resourceVersion, roleRef (kind and name) and subjects (kind, name and namespace); labels,
// annotations and managed fields are dropped.
//
// The list+watch itself, its paging and its restarts are pkg/kube's SlimListWatch's, shared with the other stores.
import type {
  KubernetesObject,
  RbacV1Subject,
  V1ClusterRoleBindingList,
  V1ObjectMeta,
  V1RoleBindingList,
  V1RoleRef,
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
import { SlimListWatch, type ListPageRequest, type WatchApi } from '../../pkg/kube/index.js';

const ROLE_BINDINGS_PATH = '/apis/rbac.authorization.k8s.io/v1/rolebindings';
const CLUSTER_ROLE_BINDINGS_PATH = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';

/**
 * The one page of a list request this store makes: RbacAuthorizationV1Api.listRoleBindingForAllNamespaces and
 * .listClusterRoleBinding take exactly this.
 */
export type ListBindingsRequest = ListPageRequest;

export interface RoleBindingsDeps {
  /** One page of RoleBindings: `(request) => rbacV1Api.listRoleBindingForAllNamespaces(request)`. */
  readonly listRoleBindings: (request: ListBindingsRequest) => Promise<V1RoleBindingList>;
  /** One page of ClusterRoleBindings: `(request) => rbacV1Api.listClusterRoleBinding(request)`. */
  readonly listClusterRoleBindings: (request: ListBindingsRequest) => Promise<V1ClusterRoleBindingList>;
  /** The API client (pkg/kube KubeClient); only its watch() is called. */
  readonly watch: WatchApi;
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

type RawBinding = { metadata?: V1ObjectMeta; roleRef?: V1RoleRef; subjects?: RbacV1Subject[] };
type ListPage = (request: ListBindingsRequest) => Promise<{
  items: RawBinding[];
  metadata?: { _continue?: string; resourceVersion?: string };
}>;

export class RoleBindings implements GrantsBySubject {
  /** Resolves once both kinds of binding have been listed (or the store was stopped). */
  readonly synced: Promise<void>;
  readonly #roleBindings: SlimListWatch<RawBinding, SlimRoleBinding>;
  readonly #clusterRoleBindings: SlimListWatch<RawBinding, SlimRoleBinding>;
  /** Subject key → binding id → what that binding grants. */
  readonly #bySubject = new Map<string, Map<string, Grant>>();
  /** Binding id → the subject keys it is indexed under. */
  readonly #keysOf = new Map<string, readonly string[]>();

  constructor(deps: RoleBindingsDeps) {
    const index = { put: this.#put, remove: this.#remove };
    this.#roleBindings = watchBindings('RoleBinding', ROLE_BINDINGS_PATH, deps.listRoleBindings, deps, index);
    this.#clusterRoleBindings = watchBindings(
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
    return {
      roleBindings: this.#roleBindings.informer.list(),
      clusterRoleBindings: this.#clusterRoleBindings.informer.list(),
    };
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

/** One kind of binding: a list+watch that slims what it caches and feeds the index. */
function watchBindings(
  kind: string,
  path: string,
  listPage: ListPage,
  deps: RoleBindingsDeps,
  index: Index,
): SlimListWatch<RawBinding, SlimRoleBinding> {
  const watch = new SlimListWatch<RawBinding, SlimRoleBinding>({
    what: kind,
    path,
    listPage,
    keep,
    watch: deps.watch,
    log: deps.log,
    ...(deps.restartBaseDelayMs !== undefined ? { restartBaseDelayMs: deps.restartBaseDelayMs } : {}),
    ...(deps.restartMaxDelayMs !== undefined ? { restartMaxDelayMs: deps.restartMaxDelayMs } : {}),
  });
  const id = (b: SlimRoleBinding) => `${kind}/${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  const put = (b: SlimRoleBinding) => index.put(id(b), b);
  watch.informer.on('add', put);
  watch.informer.on('update', put);
  watch.informer.on('delete', (b: SlimRoleBinding) => index.remove(id(b)));
  return watch;
}

function keep(binding: RawBinding): SlimRoleBinding {
  const { namespace, name, uid, resourceVersion } = binding.metadata ?? {};
  const roleRef = { kind: String(binding.roleRef?.kind ?? ''), name: String(binding.roleRef?.name ?? '') };
  const subjects = (Array.isArray(binding.subjects) ? binding.subjects : []).map((s) => ({
    kind: String(s.kind),
    name: String(s.name),
    ...(s.namespace ? { namespace: String(s.namespace) } : {}),
  }));
  return { metadata: { namespace, name, uid, resourceVersion }, roleRef, subjects };
}
