// Every ConfigMap's data, kept current by one cluster-wide list+watch, for the configMap entries of rules' context:
// an admission reads a ConfigMap without an API call, and a key rotated in one is used from the next admission on.
//
// Each ConfigMap is reduced before the informer caches it to its name, namespace, resourceVersion, labels and
// string data (binaryData, annotations and managed fields are dropped), frozen. What a rule's context sees is this
// reduced object: {metadata: {name, namespace, labels}, data}, as Kyverno's `{{ keys.data.production }}` reads it.
import type { KubernetesObject, V1ConfigMap, V1ConfigMapList, V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from '../../pkg/log/index.js';
import { SlimListWatch, type ListPageRequest, type WatchApi } from '../../pkg/kube/index.js';
import { err, ok, type Result } from '../../pkg/result/index.js';

const CONFIG_MAPS_PATH = '/api/v1/configmaps';

export interface ConfigMapStoreDeps {
  /** One page of ConfigMaps in every namespace: `(request) => coreV1Api.listConfigMapForAllNamespaces(request)`. */
  readonly listConfigMaps: (request: ListPageRequest) => Promise<V1ConfigMapList>;
  readonly watch: WatchApi;
  readonly log: Logger;
  readonly restartBaseDelayMs?: number;
  readonly restartMaxDelayMs?: number;
}

/** A ConfigMap as a rule's context holds it. */
export interface ContextConfigMap {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Record<string, string> };
  readonly data: Readonly<Record<string, string>>;
}

interface KeptConfigMap extends KubernetesObject {
  readonly metadata: V1ObjectMeta;
  readonly view: ContextConfigMap;
}

export class ConfigMapStore {
  readonly synced: Promise<void>;
  readonly #watch: SlimListWatch<V1ConfigMap, KeptConfigMap>;

  constructor(deps: ConfigMapStoreDeps) {
    this.#watch = new SlimListWatch<V1ConfigMap, KeptConfigMap>({
      what: 'ConfigMap',
      path: CONFIG_MAPS_PATH,
      listPage: (request) => deps.listConfigMaps(request),
      keep,
      watch: deps.watch,
      log: deps.log,
      ...(deps.restartBaseDelayMs !== undefined ? { restartBaseDelayMs: deps.restartBaseDelayMs } : {}),
      ...(deps.restartMaxDelayMs !== undefined ? { restartMaxDelayMs: deps.restartMaxDelayMs } : {}),
    });
    this.synced = this.#watch.synced;
  }

  /**
   * The ConfigMap, or why not, in Kyverno's words: a missing one is the rule's error (its failurePolicy decides),
   * never a reason to stop; before the first list the store cannot tell, and says so.
   */
  readonly lookup = (namespace: string, name: string): Result<ContextConfigMap, string> => {
    if (!this.#watch.isSynced)
      return err(`configmaps "${name}" cannot be read yet: the ConfigMaps are still being listed`);
    const found = this.#watch.informer.get(name, namespace);
    return found ? ok(found.view) : err(`configmaps "${name}" not found in namespace "${namespace}"`);
  };

  /** Lists and watches ConfigMaps. Never rejects: failures are logged and retried with backoff. */
  start(): Promise<void> {
    return this.#watch.start();
  }

  stop(): Promise<void> {
    return this.#watch.stop();
  }
}

function keep(configMap: V1ConfigMap): KeptConfigMap {
  const { name = '', namespace = '', uid, resourceVersion, labels } = configMap.metadata ?? {};
  const data: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(configMap.data ?? {})) if (typeof value === 'string') data[key] = value;
  const keptLabels: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(labels ?? {})) if (typeof value === 'string') keptLabels[key] = value;
  const view: ContextConfigMap = Object.freeze({
    metadata: Object.freeze({ name, namespace, labels: Object.freeze(keptLabels) }),
    data: Object.freeze(data),
  });
  return { metadata: { name, namespace, uid, resourceVersion }, view };
}
