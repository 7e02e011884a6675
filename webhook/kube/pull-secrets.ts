// Every pull Secret in the cluster, parsed, kept current by one list+watch per Secret type (an Informer,
// cluster-wide, field selector type=...): admissions look Secrets up by namespace/name without an API call, and a
// rotated Secret is used from its next admission on, without a restart.
//
// What is kept is only what lookups need. Each Secret, as listed or watched, is reduced before the informer caches it
// to its name, namespace, uid and resourceVersion plus its parsed DockerConfig, or the reason it cannot be used; its
// data, annotations (kubectl's last-applied-configuration holds a second copy of the data) and managed fields are
// dropped. A Secret's config is parsed once per resourceVersion. A Secret whose data is over MAX_PULL_SECRET_BYTES is
// kept only as that reason, so no Secret costs more than a small DockerConfig however large the cluster lets it be.
//
// The list+watch itself, its paging and its restarts are pkg/kube's SlimListWatch's, shared with the other stores.
import type { KubernetesObject, V1ObjectMeta, V1Secret, V1SecretList } from '@kubernetes/client-node';
import type { Logger } from '../../pkg/log/index.js';
import { parseDockerCfg, parseDockerConfigJson, type DockerConfig } from '../../pkg/oci/index.js';
import { err, type Result } from '../../pkg/result/index.js';
import type { PullSecretLookup } from '../registry-credentials.js';
import { SlimListWatch, type ListPageRequest, type WatchApi } from '../../pkg/kube/index.js';

export { LIST_PAGE_SIZE } from '../../pkg/kube/index.js';

/** The Secret types that hold registry credentials, and the data key and format of each. */
export const PULL_SECRET_TYPES = ['kubernetes.io/dockerconfigjson', 'kubernetes.io/dockercfg'] as const;
export type PullSecretType = (typeof PULL_SECRET_TYPES)[number];

const FORMATS: Readonly<
  Record<PullSecretType, { key: string; parse: (text: string) => Result<DockerConfig, string> }>
> = {
  'kubernetes.io/dockerconfigjson': { key: '.dockerconfigjson', parse: parseDockerConfigJson },
  'kubernetes.io/dockercfg': { key: '.dockercfg', parse: parseDockerCfg },
};

/**
 * Largest pull Secret (its data, decoded, all keys together) that is parsed. A config.json for a few dozen
 * registries is a few KiB; the API server allows 1 MiB per Secret, which across a cluster would be real memory.
 */
export const MAX_PULL_SECRET_BYTES = 64 * 1024;

const SECRETS_PATH = '/api/v1/secrets';

/** The one page of a list request this store makes: CoreV1Api.listSecretForAllNamespaces takes exactly this. */
export interface ListSecretsRequest extends ListPageRequest {
  readonly fieldSelector: string;
}

export interface PullSecretStoreDeps {
  /** One page of Secrets, cluster-wide: `(request) => coreV1Api.listSecretForAllNamespaces(request)`. */
  readonly listSecrets: (request: ListSecretsRequest) => Promise<V1SecretList>;
  /** The API client (pkg/kube KubeClient); only its watch() is called. */
  readonly watch: WatchApi;
  readonly log: Logger;
  readonly restartBaseDelayMs?: number;
  readonly restartMaxDelayMs?: number;
}

/** What the informer caches for one Secret. */
interface KeptSecret extends KubernetesObject {
  readonly metadata: V1ObjectMeta;
  readonly pullSecret: Result<DockerConfig, string>;
}

/** A deleted Secret's stand-in: the informer only needs its name to forget it, so its data is not parsed. */
const DELETED: Result<DockerConfig, string> = err('deleted');

export class PullSecretStore {
  /** Resolves once every Secret type has been listed (or the store was stopped). */
  readonly synced: Promise<void>;
  readonly #watches: readonly SlimListWatch<V1Secret, KeptSecret>[];

  constructor(deps: PullSecretStoreDeps) {
    this.#watches = PULL_SECRET_TYPES.map((type) => {
      const fieldSelector = `type=${type}`;
      return new SlimListWatch<V1Secret, KeptSecret>({
        what: 'pull Secret',
        logFields: { type },
        path: SECRETS_PATH,
        fieldSelector,
        listPage: (request) => deps.listSecrets({ fieldSelector, ...request }),
        keep,
        forget: (secret) => ({ metadata: slimMetadata(secret.metadata ?? {}), pullSecret: DELETED }),
        watch: deps.watch,
        log: deps.log,
        ...(deps.restartBaseDelayMs !== undefined ? { restartBaseDelayMs: deps.restartBaseDelayMs } : {}),
        ...(deps.restartMaxDelayMs !== undefined ? { restartMaxDelayMs: deps.restartMaxDelayMs } : {}),
      });
    });
    this.synced = Promise.all(this.#watches.map((w) => w.synced)).then(() => undefined);
  }

  get isSynced(): boolean {
    return this.#watches.every((w) => w.isSynced);
  }

  /**
   * The credentials of the pull Secret namespace/name; the reason it cannot be used; or undefined when there is no
   * Secret of a pull Secret type by that name. Until the Secrets are loaded every lookup is the reason that they are
   * not: an admission then reports it rather than treating a Secret it has not seen yet as missing.
   */
  readonly lookup: PullSecretLookup = (namespace, name) => {
    if (!this.isSynced) return err('pull Secrets are not loaded yet');
    for (const w of this.#watches) {
      const kept = w.informer.get(name, namespace);
      if (kept !== undefined) return kept.pullSecret;
    }
    return undefined;
  };

  /** Lists and watches both Secret types. Never rejects: failures are logged and retried with backoff. */
  async start(): Promise<void> {
    await Promise.all(this.#watches.map((w) => w.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#watches.map((w) => w.stop()));
  }
}

/** A Secret as kept, parsed once per version: a relist after a restart brings every Secret again, mostly unchanged. */
function keep(secret: V1Secret, cached: (name: string, namespace?: string) => KeptSecret | undefined): KeptSecret {
  const metadata = secret.metadata ?? {};
  const previous = metadata.name ? cached(metadata.name, metadata.namespace) : undefined;
  if (
    previous !== undefined &&
    previous.metadata.uid === metadata.uid &&
    previous.metadata.resourceVersion !== undefined &&
    previous.metadata.resourceVersion === metadata.resourceVersion
  ) {
    return previous;
  }
  return { metadata: slimMetadata(metadata), pullSecret: readPullSecret(secret) };
}

/** What the informer needs of a Secret's metadata: where it is, and its version, from which a watch resumes. */
function slimMetadata(metadata: V1ObjectMeta): V1ObjectMeta {
  const { name, namespace, uid, resourceVersion } = metadata;
  return { name, namespace, uid, resourceVersion };
}

/** A Secret's credentials, or why it has none; reasons name keys and sizes, never content. */
function readPullSecret(secret: V1Secret): Result<DockerConfig, string> {
  const type = secret.type as PullSecretType | undefined;
  const format = type !== undefined && Object.hasOwn(FORMATS, type) ? FORMATS[type] : undefined;
  // The field selector lets only pull Secrets through; a type is immutable, so this is a server that ignored it.
  if (format === undefined) return err('not of type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg');
  const data = secret.data ?? {};
  let bytes = 0;
  for (const value of Object.values(data)) {
    if (typeof value !== 'string') return err('its data is not base64 text');
    // Decoded size from the base64 alone: nothing is decoded until the Secret is known to be small.
    bytes += Buffer.byteLength(value, 'base64');
  }
  if (bytes > MAX_PULL_SECRET_BYTES) {
    return err(`its data (${bytes} bytes) is over the ${MAX_PULL_SECRET_BYTES / 1024} KiB read from a pull Secret`);
  }
  const encoded = data[format.key];
  if (encoded === undefined) return err(`it has no ${format.key} key`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'));
  } catch {
    return err(`its ${format.key} is not UTF-8 text`);
  }
  return format.parse(text);
}
