// One list+watch of one kind of object, the way each of the webhook's stores needs it (pull Secrets, Namespaces,
// role bindings): an Informer (informer.ts), listed page by page, each object reduced by `keep` to what the store
// needs before the informer caches it, the store marked synced once a list has been applied (the informer opens its
// watch only after), and restarted with backoff when it fails: an informer stops on any error but 410 Gone.
import type { KubernetesObject } from '@kubernetes/client-node';
import { errorFields, type Logger } from '../log/index.js';
import type { WatchApi, WatchCallback } from './kube-client.js';
import { Informer, type ObjectList } from './informer.js';

/** Objects per list request: one large cluster's objects are never all in memory at once, only as kept. */
export const LIST_PAGE_SIZE = 500;

export interface ListPageRequest {
  readonly limit: number;
  readonly _continue?: string;
}

export interface ListPage<Raw> {
  readonly items: readonly Raw[];
  readonly metadata?: { readonly _continue?: string; readonly resourceVersion?: string };
}

export interface SlimListWatchOptions<Raw, Kept extends KubernetesObject> {
  /** What is watched, for the log: "Namespace watch failed; restarting". */
  readonly what: string;
  /** More fields for that log line. */
  readonly logFields?: Readonly<Record<string, string>>;
  readonly path: string;
  readonly fieldSelector?: string;
  readonly listPage: (request: ListPageRequest) => Promise<ListPage<Raw>>;
  /** The object as cached; `cached` finds what is cached under a name, for stores that reuse an unchanged entry. */
  readonly keep: (raw: Raw, cached: (name: string, namespace?: string) => Kept | undefined) => Kept;
  /** A deleted object's stand-in; `keep` by default. */
  readonly forget?: (raw: Raw) => Kept;
  readonly watch: WatchApi;
  readonly log: Logger;
  readonly restartBaseDelayMs?: number;
  readonly restartMaxDelayMs?: number;
}

export class SlimListWatch<Raw, Kept extends KubernetesObject> {
  /** Resolves once a list has been applied (or the watch was stopped). */
  readonly synced: Promise<void>;
  /** The informer, for its cache (get, list) and its add/update/delete events. */
  readonly informer: Informer<Kept>;
  readonly #options: SlimListWatchOptions<Raw, Kept>;
  #caughtUp = false;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #resolveSynced!: () => void;
  #stopped = false;

  /** Makes no request; start() does. */
  constructor(options: SlimListWatchOptions<Raw, Kept>) {
    this.#options = options;
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
    this.informer = this.#createInformer();
  }

  get isSynced(): boolean {
    return this.#caughtUp;
  }

  /** Lists and watches. Never rejects: failures are logged and retried with backoff. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.informer.start().catch((e: unknown) => this.#restart(e));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    await this.informer.stop();
    this.#resolveSynced();
  }

  #createInformer(): Informer<Kept> {
    const { keep, listPage } = this.#options;
    const forget = this.#options.forget ?? ((raw: Raw) => keep(raw, cached));
    const cached = (name: string, namespace?: string) => informer.get(name, namespace);
    const list = async (): Promise<ObjectList<Kept>> => {
      const items: Kept[] = [];
      let page: ListPage<Raw>;
      let next: string | undefined;
      do {
        page = await listPage({ limit: LIST_PAGE_SIZE, ...(next ? { _continue: next } : {}) });
        for (const raw of page.items) items.push(keep(raw, cached));
        next = page.metadata?._continue;
      } while (next);
      this.#failures = 0;
      // Every page of one list is one snapshot; the last page's resourceVersion is where the watch goes on from.
      const resourceVersion = page.metadata?.resourceVersion;
      return { items, ...(resourceVersion !== undefined ? { metadata: { resourceVersion } } : {}) };
    };
    // The watch goes through here so that objects are reduced before the informer caches them, and so that opening
    // it marks the store caught up.
    const watch: WatchApi = {
      watch: (path, query, callback: WatchCallback, done) => {
        this.#markCaughtUp();
        return this.#options.watch.watch(
          path,
          query,
          (phase, obj: Raw, raw) => {
            this.#failures = 0;
            if (phase === 'ADDED' || phase === 'MODIFIED') callback(phase, keep(obj, cached), raw);
            else if (phase === 'DELETED') callback(phase, forget(obj), raw);
            else callback(phase, obj, raw);
          },
          done,
        );
      },
    };
    const { path, fieldSelector } = this.#options;
    const informer = new Informer<Kept>(path, watch, list, fieldSelector);
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
    const { restartBaseDelayMs = 500, restartMaxDelayMs = 30_000, what, logFields, log } = this.#options;
    const delay = Math.min(restartBaseDelayMs * 2 ** (this.#failures - 1), restartMaxDelayMs);
    log.warn(`${what} watch failed; restarting`, { ...logFields, retryInMs: delay, ...describeError(error) });
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.informer.start().catch((e: unknown) => this.#restart(e));
    }, delay);
  }
}

/**
 * Log fields for a failed list or watch: the first line of the error, the HTTP code and the API server's own
 * message (a Status body) when there is one.
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
