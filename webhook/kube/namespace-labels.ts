// Every Namespace's labels, kept current by one cluster-wide list+watch (an Informer): admissions read a
// namespace's labels without an API call.
//
// Only what lookups need is kept: each Namespace, as listed or watched, is reduced before the informer caches it to
// its name, uid, resourceVersion and labels (string values only, at most MAX_LABELS_PER_NAMESPACE of them, in a frozen
// prototype-less object); annotations, managed fields, spec and status are dropped.
//
// The list+watch itself, its paging and its restarts are pkg/kube's SlimListWatch's, shared with the other stores.
import type { KubernetesObject, V1Namespace, V1NamespaceList, V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from '../../pkg/log/index.js';
import { SlimListWatch, type ListPageRequest, type WatchApi } from '../../pkg/kube/index.js';

/** Labels kept per Namespace; any beyond are dropped (the API server itself allows many more, each up to 63+253). */
export const MAX_LABELS_PER_NAMESPACE = 256;

const NAMESPACES_PATH = '/api/v1/namespaces';

/** The one page of a list request this store makes: CoreV1Api.listNamespace takes exactly this. */
export type ListNamespacesRequest = ListPageRequest;

export interface NamespaceLabelsDeps {
  /** One page of Namespaces: `(request) => coreV1Api.listNamespace(request)`. */
  readonly listNamespaces: (request: ListNamespacesRequest) => Promise<V1NamespaceList>;
  /** The API client (pkg/kube KubeClient); only its watch() is called. */
  readonly watch: WatchApi;
  readonly log: Logger;
  readonly restartBaseDelayMs?: number;
  readonly restartMaxDelayMs?: number;
}

/** What the informer caches for one Namespace. */
interface KeptNamespace extends KubernetesObject {
  readonly metadata: V1ObjectMeta;
  readonly labels: Readonly<Record<string, string>>;
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

export class NamespaceLabels {
  /** Resolves once the Namespaces have been listed (or the store was stopped). */
  readonly synced: Promise<void>;
  readonly #watch: SlimListWatch<V1Namespace, KeptNamespace>;

  constructor(deps: NamespaceLabelsDeps) {
    this.#watch = new SlimListWatch<V1Namespace, KeptNamespace>({
      what: 'Namespace',
      path: NAMESPACES_PATH,
      listPage: (request) => deps.listNamespaces(request),
      keep,
      forget: (namespace) => ({ metadata: slimMetadata(namespace.metadata ?? {}), labels: NO_LABELS }),
      watch: deps.watch,
      log: deps.log,
      ...(deps.restartBaseDelayMs !== undefined ? { restartBaseDelayMs: deps.restartBaseDelayMs } : {}),
      ...(deps.restartMaxDelayMs !== undefined ? { restartMaxDelayMs: deps.restartMaxDelayMs } : {}),
    });
    this.synced = this.#watch.synced;
  }

  get isSynced(): boolean {
    return this.#watch.isSynced;
  }

  /** The namespace's labels, or undefined when it is not known (not synced yet, or no such namespace). */
  readonly labels = (name: string): Readonly<Record<string, string>> | undefined => {
    if (!this.#watch.isSynced) return undefined;
    return this.#watch.informer.get(name)?.labels;
  };

  /** Lists and watches Namespaces. Never rejects: failures are logged and retried with backoff. */
  start(): Promise<void> {
    return this.#watch.start();
  }

  stop(): Promise<void> {
    return this.#watch.stop();
  }
}

function keep(namespace: V1Namespace): KeptNamespace {
  const metadata = namespace.metadata ?? {};
  return { metadata: slimMetadata(metadata), labels: keptLabels(metadata.labels) };
}

/** What the informer needs of a Namespace's metadata: its name, and its version, from which a watch resumes. */
function slimMetadata(metadata: V1ObjectMeta): V1ObjectMeta {
  const { name, uid, resourceVersion } = metadata;
  return { name, uid, resourceVersion };
}

/** String-valued labels only, at most MAX_LABELS_PER_NAMESPACE, frozen in an object with no prototype. */
function keptLabels(labels: unknown): Readonly<Record<string, string>> {
  if (labels === null || typeof labels !== 'object') return NO_LABELS;
  const kept = Object.create(null) as Record<string, string>;
  let count = 0;
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== 'string') continue;
    if (count++ >= MAX_LABELS_PER_NAMESPACE) break;
    kept[key] = value;
  }
  return count === 0 ? NO_LABELS : Object.freeze(kept);
}
