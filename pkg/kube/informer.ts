// An informer: a list, then a watch from the list's resourceVersion, kept in a cache by namespace and name, with
// add, update and delete events. A watch the server ends is opened again from the last resourceVersion seen; a 410
// Gone (that version has been compacted away) lists again, and the objects gone meanwhile are deleted. Any other
// failure is an 'error' event and the informer stops: its owner restarts it with backoff (SlimListWatch,
// PolicyInformer), as with client-node's ListWatch, whose interface this keeps.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Query, WatchApi } from './kube-client.js';

export interface ObjectList<T> {
  readonly items: readonly T[];
  readonly metadata?: { readonly resourceVersion?: string };
}

type Verb = 'add' | 'update' | 'delete' | 'error' | 'connect';
type Handler<T> = (arg: T) => void;

/** When a watch is closed at once again and again, how long to wait before the next: doubling up to the cap. */
const REWATCH_BASE_DELAY_MS = 1_000;
const REWATCH_MAX_DELAY_MS = 30_000;

export class Informer<T extends KubernetesObject> {
  readonly #path: string;
  readonly #watchApi: WatchApi;
  readonly #list: () => Promise<ObjectList<T>>;
  readonly #fieldSelector: string | undefined;
  readonly #handlers: Record<Verb, Handler<never>[]> = { add: [], update: [], delete: [], error: [], connect: [] };
  #objects = new Map<string, Map<string, T>>();
  #resourceVersion = '';
  #request: AbortController | undefined;
  #stopped = true;
  /** Bumped by stop(): a watch's late done() from before it must not act. */
  #generation = 0;
  #rewatchDelayMs = 0;

  /** Makes no request; start() does. */
  constructor(path: string, watchApi: WatchApi, list: () => Promise<ObjectList<T>>, fieldSelector?: string) {
    this.#path = path;
    this.#watchApi = watchApi;
    this.#list = list;
    this.#fieldSelector = fieldSelector;
  }

  on(verb: 'add' | 'update' | 'delete', handler: Handler<T>): void;
  on(verb: 'error', handler: Handler<unknown>): void;
  on(verb: 'connect', handler: Handler<undefined>): void;
  on(verb: Verb, handler: Handler<never>): void {
    this.#handlers[verb].push(handler);
  }

  /**
   * Lists, then watches; started again after an error, it watches on from the last resourceVersion it saw, and
   * lists only when it has none. Rejects when the list fails (the informer is then stopped, with an 'error' event).
   */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#rewatchDelayMs = 0;
    await this.#run(this.#generation);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    this.#request?.abort();
    this.#request = undefined;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#objects.get(namespace ?? '')?.get(name);
  }

  list(namespace?: string): T[] {
    if (namespace) return [...(this.#objects.get(namespace)?.values() ?? [])];
    return [...this.#objects.values()].flatMap((byName) => [...byName.values()]);
  }

  latestResourceVersion(): string {
    return this.#resourceVersion;
  }

  /** One turn: list when there is no resourceVersion to go on from, then open the watch. */
  async #run(generation: number): Promise<void> {
    if (this.#stopped || generation !== this.#generation) return;
    this.#emit('connect', undefined as never);
    if (this.#resourceVersion === '') {
      let list: ObjectList<T>;
      try {
        list = await this.#list();
      } catch (e) {
        this.#fail(e);
        throw e;
      }
      if (generation !== this.#generation) return;
      this.#replace(list.items);
      this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    }
    const query: Query = {
      resourceVersion: this.#resourceVersion,
      ...(this.#fieldSelector !== undefined ? { fieldSelector: this.#fieldSelector } : {}),
    };
    const openedAt = Date.now();
    this.#request = await this.#watchApi.watch(
      this.#path,
      query,
      (phase, obj) => this.#onEvent(phase, obj as T),
      (e) => void this.#onDone(e, generation, openedAt),
    );
    if (generation !== this.#generation) this.#request.abort();
  }

  #onEvent(phase: string, obj: T): void {
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED':
        this.#put(obj);
        break;
      case 'DELETED':
        this.#remove(obj);
        break;
      case 'ERROR':
        // The server says why it is about to end the watch; 410 means its resourceVersion is too old to go on from.
        if ((obj as { code?: unknown })?.code === 410) this.#resourceVersion = '';
        return;
      case 'BOOKMARK':
        break;
      default:
        return;
    }
    const version = obj?.metadata?.resourceVersion;
    if (version) this.#resourceVersion = version;
  }

  async #onDone(error: unknown, generation: number, openedAt: number): Promise<void> {
    if (this.#stopped || generation !== this.#generation) return;
    const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
    if (code === 410 || statusCode === 410) this.#resourceVersion = '';
    else if (error && (error as { name?: unknown }).name !== 'TimeoutError') {
      this.#fail(error);
      return;
    }
    // A watch that ran a while was ended by the server on schedule: open the next at once. One closed as soon as it
    // opened, again and again, is a server refusing quietly: back off rather than spin.
    if (Date.now() - openedAt > REWATCH_MAX_DELAY_MS) this.#rewatchDelayMs = 0;
    else
      this.#rewatchDelayMs = Math.min(Math.max(this.#rewatchDelayMs * 2, REWATCH_BASE_DELAY_MS), REWATCH_MAX_DELAY_MS);
    if (this.#rewatchDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#rewatchDelayMs).unref());
    await this.#run(generation).catch(() => {
      // #run reported it as an 'error' event already.
    });
  }

  #fail(error: unknown): void {
    this.#stopped = true;
    this.#request = undefined;
    this.#emit('error', error as never);
  }

  /** A fresh list: what it holds is added or updated, what it no longer holds is deleted. */
  #replace(items: readonly T[]): void {
    const seen = new Map<string, Set<string>>();
    for (const obj of items) {
      const namespace = obj.metadata?.namespace ?? '';
      const names = seen.get(namespace) ?? new Set<string>();
      names.add(obj.metadata?.name ?? '');
      seen.set(namespace, names);
      this.#put(obj);
    }
    for (const [namespace, byName] of this.#objects) {
      for (const [name, obj] of byName) {
        if (!seen.get(namespace)?.has(name)) this.#remove(obj);
      }
    }
  }

  #put(obj: T): void {
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    let byName = this.#objects.get(namespace);
    if (!byName) this.#objects.set(namespace, (byName = new Map()));
    const before = byName.get(name);
    byName.set(name, obj);
    if (!before) this.#emit('add', obj as never);
    else if (before.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emit('update', obj as never);
  }

  #remove(obj: T): void {
    const namespace = obj.metadata?.namespace ?? '';
    const byName = this.#objects.get(namespace);
    const name = obj.metadata?.name ?? '';
    const had = byName?.get(name);
    if (!had) return;
    byName!.delete(name);
    if (byName!.size === 0) this.#objects.delete(namespace);
    this.#emit('delete', obj as never);
  }

  #emit(verb: Verb, arg: never): void {
    for (const handler of this.#handlers[verb].slice()) handler(arg);
  }
}
