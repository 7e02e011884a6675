// The public keys held in Secrets (cosign's k8s://namespace/name, Kyverno's keys.secret), kept current by one
// cluster-wide list+watch of Opaque Secrets, so that a key rotated in its Secret is used from the next admission on.
// Only each Secret's cosign.pub is kept; every other key, above all a cosign.key private key beside it, is dropped
// before the informer caches the object.
import type { KubernetesObject, V1ObjectMeta, V1Secret, V1SecretList } from '@kubernetes/client-node';
import type { Logger } from '../../pkg/log/index.js';
import { SlimListWatch, type ListPageRequest, type WatchApi } from '../../pkg/kube/index.js';
import { SECRET_PUBLIC_KEY } from '../../pkg/policy/index.js';
import { err, ok, type Result } from '../../pkg/result/index.js';

const SECRETS_PATH = '/api/v1/secrets';
/** cosign's k8s:// Secrets are Opaque; pull Secrets (another type) are the PullSecretStore's. */
const FIELD_SELECTOR = 'type=Opaque';
/** A public key is a few hundred bytes; a value larger than this is not one. */
const MAX_KEY_BYTES = 64 * 1024;

export interface KeySecretStoreDeps {
  readonly listSecrets: (request: ListPageRequest & { fieldSelector: string }) => Promise<V1SecretList>;
  readonly watch: WatchApi;
  readonly log: Logger;
  readonly restartBaseDelayMs?: number;
  readonly restartMaxDelayMs?: number;
}

interface KeptSecret extends KubernetesObject {
  readonly metadata: V1ObjectMeta;
  /** cosign.pub, decoded; undefined when the Secret has none (or one too large to be a key). */
  readonly publicKey: string | undefined;
}

export class KeySecretStore {
  readonly synced: Promise<void>;
  readonly #watch: SlimListWatch<V1Secret, KeptSecret>;

  constructor(deps: KeySecretStoreDeps) {
    this.#watch = new SlimListWatch<V1Secret, KeptSecret>({
      what: 'key Secret',
      path: SECRETS_PATH,
      fieldSelector: FIELD_SELECTOR,
      listPage: (request) => deps.listSecrets({ ...request, fieldSelector: FIELD_SELECTOR }),
      keep,
      watch: deps.watch,
      log: deps.log,
      ...(deps.restartBaseDelayMs !== undefined ? { restartBaseDelayMs: deps.restartBaseDelayMs } : {}),
      ...(deps.restartMaxDelayMs !== undefined ? { restartMaxDelayMs: deps.restartMaxDelayMs } : {}),
    });
    this.synced = this.#watch.synced;
  }

  /** The public key the Secret holds under cosign.pub, or why not. */
  readonly publicKey = (namespace: string, name: string): Result<string, string> => {
    if (!this.#watch.isSynced) return err(`secrets "${name}" cannot be read yet: the Secrets are still being listed`);
    const found = this.#watch.informer.get(name, namespace);
    if (!found) return err(`secrets "${name}" not found in namespace "${namespace}"`);
    return found.publicKey === undefined
      ? err(`secret "${namespace}/${name}" has no ${SECRET_PUBLIC_KEY}`)
      : ok(found.publicKey);
  };

  start(): Promise<void> {
    return this.#watch.start();
  }

  stop(): Promise<void> {
    return this.#watch.stop();
  }
}

function keep(secret: V1Secret): KeptSecret {
  const { name, namespace, uid, resourceVersion } = secret.metadata ?? {};
  const encoded = secret.data?.[SECRET_PUBLIC_KEY];
  const publicKey =
    typeof encoded === 'string' && encoded.length <= (MAX_KEY_BYTES * 4) / 3 + 4
      ? Buffer.from(encoded, 'base64').toString('utf8')
      : undefined;
  return { metadata: { name, namespace, uid, resourceVersion }, publicKey };
}
