// Every pull Secret in the cluster, parsed, kept current by one list+watch per Secret type (client-node's ListWatch,
// cluster-wide, field selector type=...): admissions look Secrets up by namespace/name without an API call, and a
// rotated Secret is used from its next admission on, without a restart.
//
// What is kept is only what lookups need. Each Secret, as listed or watched, is reduced before the informer caches it
// to its name, namespace, uid and resourceVersion plus its parsed DockerConfig, or the reason it cannot be used; its
// data, annotations (kubectl's last-applied-configuration holds a second copy of the data) and managed fields are
// dropped. A Secret's config is parsed once per resourceVersion. A Secret whose data is over MAX_PULL_SECRET_BYTES is
// kept only as that reason, so no Secret costs more than a small DockerConfig however large the cluster lets it be.
//
// client-node stops a ListWatch on any error but 410 Gone; each is restarted here with backoff, as the operator's
// policy informers are.
import {
  ListWatch,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ObjectMeta,
  type V1Secret,
  type V1SecretList,
  type Watch,
} from '@kubernetes/client-node';
import { errorFields, type Logger } from '../../pkg/log/index.js';
import { parseDockerCfg, parseDockerConfigJson, type DockerConfig } from '../../pkg/oci/index.js';
import { err, type Result } from '../../pkg/result/index.js';
import type { PullSecretLookup } from '../registry-credentials.js';

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

/** Secrets per list request: one large cluster's Secrets are never all in memory at once, only as kept. */
export const LIST_PAGE_SIZE = 500;

const SECRETS_PATH = '/api/v1/secrets';

/** The one page of a list request this store makes: CoreV1Api.listSecretForAllNamespaces takes exactly this. */
export interface ListSecretsRequest {
  readonly fieldSelector: string;
  readonly limit: number;
  readonly _continue?: string;
}

export interface PullSecretStoreDeps {
  /** One page of Secrets, cluster-wide: `(request) => coreV1Api.listSecretForAllNamespaces(request)`. */
  readonly listSecrets: (request: ListSecretsRequest) => Promise<V1SecretList>;
  /** client-node's `new Watch(kubeConfig)`; only its watch() is called. */
  readonly watch: Pick<Watch, 'watch'>;
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

type WatchCallback = Parameters<Watch['watch']>[2];

export class PullSecretStore {
  /** Resolves once every Secret type has been listed (or the store was stopped). */
  readonly synced: Promise<void>;
  readonly #deps: PullSecretStoreDeps;
  readonly #informers = new Map<PullSecretType, ListWatch<KeptSecret>>();
  readonly #caughtUp = new Set<PullSecretType>();
  readonly #failures = new Map<PullSecretType, number>();
  readonly #restartTimers = new Map<PullSecretType, NodeJS.Timeout>();
  #resolveSynced!: () => void;
  #stopped = false;

  constructor(deps: PullSecretStoreDeps) {
    this.#deps = deps;
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
    for (const type of PULL_SECRET_TYPES) this.#informers.set(type, this.#createInformer(type));
  }

  get isSynced(): boolean {
    return this.#caughtUp.size === PULL_SECRET_TYPES.length;
  }

  /**
   * The credentials of the pull Secret namespace/name; the reason it cannot be used; or undefined when there is no
   * Secret of a pull Secret type by that name. Until the Secrets are loaded every lookup is the reason that they are
   * not: an admission then reports it rather than treating a Secret it has not seen yet as missing.
   */
  readonly lookup: PullSecretLookup = (namespace, name) => {
    if (!this.isSynced) return err('pull Secrets are not loaded yet');
    for (const informer of this.#informers.values()) {
      const kept = informer.get(name, namespace);
      if (kept !== undefined) return kept.pullSecret;
    }
    return undefined;
  };

  /** Lists and watches both Secret types. Never rejects: failures are logged and retried with backoff. */
  async start(): Promise<void> {
    this.#stopped = false;
    await Promise.all(
      [...this.#informers].map(([type, informer]) => informer.start().catch((e: unknown) => this.#restart(type, e))),
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#restartTimers.values()) clearTimeout(timer);
    this.#restartTimers.clear();
    await Promise.all([...this.#informers.values()].map((informer) => informer.stop()));
    this.#resolveSynced();
  }

  #createInformer(type: PullSecretType): ListWatch<KeptSecret> {
    const fieldSelector = `type=${type}`;
    const keep = (secret: V1Secret): KeptSecret => {
      const metadata = secret.metadata ?? {};
      // Parse once per version: a relist after a restart brings every Secret again, mostly unchanged.
      const previous = metadata.name ? informer.get(metadata.name, metadata.namespace) : undefined;
      if (
        previous !== undefined &&
        previous.metadata.uid === metadata.uid &&
        previous.metadata.resourceVersion !== undefined &&
        previous.metadata.resourceVersion === metadata.resourceVersion
      ) {
        return previous;
      }
      return { metadata: slimMetadata(metadata), pullSecret: readPullSecret(secret) };
    };
    const list = async (): Promise<KubernetesListObject<KeptSecret>> => {
      const items: KeptSecret[] = [];
      let page: V1SecretList;
      let next: string | undefined;
      do {
        page = await this.#deps.listSecrets({
          fieldSelector,
          limit: LIST_PAGE_SIZE,
          ...(next ? { _continue: next } : {}),
        });
        for (const secret of page.items) items.push(keep(secret));
        next = page.metadata?._continue;
      } while (next);
      this.#failures.delete(type);
      // Every page of one list is one snapshot; the last page's resourceVersion is where the watch goes on from.
      return { items, metadata: { resourceVersion: page.metadata?.resourceVersion } };
    };
    // The watch goes through here so that objects are reduced before the informer caches them (ListWatch has no hook
    // for that), and so that the store knows when a list has been applied: ListWatch opens a watch only after.
    // ListWatch types its watch as the Watch class, whose private fields no other object can have.
    const watch = {
      watch: (
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        callback: WatchCallback,
        done: (e: unknown) => void,
      ) => {
        this.#markCaughtUp(type);
        return this.#deps.watch.watch(
          path,
          query,
          (phase, obj: V1Secret, raw) => {
            this.#failures.delete(type);
            if (phase === 'ADDED' || phase === 'MODIFIED') callback(phase, keep(obj), raw);
            else if (phase === 'DELETED')
              callback(phase, { metadata: slimMetadata(obj.metadata ?? {}), pullSecret: DELETED }, raw);
            else callback(phase, obj, raw);
          },
          done,
        );
      },
    } as unknown as Watch;
    // autoStart=false: the constructor makes no request; start() does.
    const informer = new ListWatch<KeptSecret>(SECRETS_PATH, watch, list, false, undefined, fieldSelector);
    informer.on('error', (e: unknown) => this.#restart(type, e));
    return informer;
  }

  #markCaughtUp(type: PullSecretType): void {
    if (this.#caughtUp.has(type)) return;
    this.#caughtUp.add(type);
    if (this.isSynced) this.#resolveSynced();
  }

  #restart(type: PullSecretType, error: unknown): void {
    if (this.#stopped) return;
    const failures = (this.#failures.get(type) ?? 0) + 1;
    this.#failures.set(type, failures);
    const base = this.#deps.restartBaseDelayMs ?? 500;
    const delay = Math.min(base * 2 ** (failures - 1), this.#deps.restartMaxDelayMs ?? 30_000);
    this.#deps.log.warn('pull Secret watch failed; restarting', { type, retryInMs: delay, ...describeError(error) });
    clearTimeout(this.#restartTimers.get(type));
    this.#restartTimers.set(
      type,
      setTimeout(() => {
        this.#restartTimers.delete(type);
        if (this.#stopped) return;
        this.#informers
          .get(type)!
          .start()
          .catch((e: unknown) => this.#restart(type, e));
      }, delay),
    );
  }
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

/**
 * Log fields for a failed list or watch. client-node's ApiException renders the whole response, headers included,
 * into its message: only the first line, the HTTP code and the API server's own message are kept.
 */
export function describeError(e: unknown): Record<string, string | number> {
  const fields: Record<string, string | number> = { error: errorFields(e).error.split('\n')[0]! };
  const { code, statusCode, body } = (e ?? {}) as { code?: unknown; statusCode?: unknown; body?: unknown };
  const status = [code, statusCode].find((c) => typeof c === 'number' && c >= 100 && c < 600);
  if (status !== undefined) fields['code'] = status as number;
  if (typeof body === 'string') {
    try {
      const message = (JSON.parse(body) as { message?: unknown }).message;
      if (typeof message === 'string') fields['error'] = message;
    } catch {
      // Not a metav1.Status; the first line already says what happened.
    }
  }
  return fields;
}
