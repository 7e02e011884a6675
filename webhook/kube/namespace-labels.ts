// Every Namespace's labels, kept current by one cluster-wide list+watch (client-node's ListWatch): admissions read a
// namespace's labels without an API call.
//
// Only what lookups need is kept: each Namespace, as listed or watched, is reduced before the informer caches it to
// its name, uid, resourceVersion and labels (string values only, at most MAX_LABELS_PER_NAMESPACE of them, in a frozen
// prototype-less object); annotations, managed fields, spec and status are dropped.
//
// client-node stops a ListWatch on any error but 410 Gone; it is restarted here with backoff, as pull-secrets.ts does.
import {
  ListWatch,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Namespace,
  type V1NamespaceList,
  type V1ObjectMeta,
  type Watch,
} from '@kubernetes/client-node';
import type { Logger } from '../../pkg/log/index.js';
import { describeError, LIST_PAGE_SIZE } from './pull-secrets.js';

/** Labels kept per Namespace; any beyond are dropped (the API server itself allows many more, each up to 63+253). */
export const MAX_LABELS_PER_NAMESPACE = 256;

const NAMESPACES_PATH = '/api/v1/namespaces';

/** The one page of a list request this store makes: CoreV1Api.listNamespace takes exactly this. */
export interface ListNamespacesRequest {
  readonly limit: number;
  readonly _continue?: string;
}

export interface NamespaceLabelsDeps {
  /** One page of Namespaces: `(request) => coreV1Api.listNamespace(request)`. */
  readonly listNamespaces: (request: ListNamespacesRequest) => Promise<V1NamespaceList>;
  /** client-node's `new Watch(kubeConfig)`; only its watch() is called. */
  readonly watch: Pick<Watch, 'watch'>;
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

type WatchCallback = Parameters<Watch['watch']>[2];

export class NamespaceLabels {
  /** Resolves once the Namespaces have been listed (or the store was stopped). */
  readonly synced: Promise<void>;
  readonly #deps: NamespaceLabelsDeps;
  readonly #informer: ListWatch<KeptNamespace>;
  #caughtUp = false;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #resolveSynced!: () => void;
  #stopped = false;

  constructor(deps: NamespaceLabelsDeps) {
    this.#deps = deps;
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
    this.#informer = this.#createInformer();
  }

  get isSynced(): boolean {
    return this.#caughtUp;
  }

  /** The namespace's labels, or undefined when it is not known (not synced yet, or no such namespace). */
  readonly labels = (name: string): Readonly<Record<string, string>> | undefined => {
    if (!this.#caughtUp) return undefined;
    return this.#informer.get(name)?.labels;
  };

  /** Lists and watches Namespaces. Never rejects: failures are logged and retried with backoff. */
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

  #createInformer(): ListWatch<KeptNamespace> {
    const list = async (): Promise<KubernetesListObject<KeptNamespace>> => {
      const items: KeptNamespace[] = [];
      let page: V1NamespaceList;
      let next: string | undefined;
      do {
        page = await this.#deps.listNamespaces({ limit: LIST_PAGE_SIZE, ...(next ? { _continue: next } : {}) });
        for (const namespace of page.items) items.push(keep(namespace));
        next = page.metadata?._continue;
      } while (next);
      this.#failures = 0;
      // Every page of one list is one snapshot; the last page's resourceVersion is where the watch goes on from.
      return { items, metadata: { resourceVersion: page.metadata?.resourceVersion } };
    };
    // The watch goes through here so that objects are reduced before the informer caches them, and so that the store
    // knows when a list has been applied: ListWatch opens a watch only after. ListWatch types its watch as the Watch
    // class, whose private fields no other object can have.
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
          (phase, obj: V1Namespace, raw) => {
            this.#failures = 0;
            if (phase === 'ADDED' || phase === 'MODIFIED') callback(phase, keep(obj), raw);
            else if (phase === 'DELETED')
              callback(phase, { metadata: slimMetadata(obj.metadata ?? {}), labels: NO_LABELS }, raw);
            else callback(phase, obj, raw);
          },
          done,
        );
      },
    } as unknown as Watch;
    // autoStart=false: the constructor makes no request; start() does.
    const informer = new ListWatch<KeptNamespace>(NAMESPACES_PATH, watch, list, false);
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
    this.#deps.log.warn('Namespace watch failed; restarting', { retryInMs: delay, ...describeError(error) });
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.#informer.start().catch((e: unknown) => this.#restart(e));
    }, delay);
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
