// List+watch of one policy kind through an Informer (pkg/kube), which stops on any error but 410 Gone; this restarts it with backoff (a fresh list, so nothing missed while down is lost) and reports the
// key of every object that changes. The first successful list marks the informer synced.
import type { KubernetesObject } from '@kubernetes/client-node';
import { Informer, type CustomObjectsApi, type ObjectList, type WatchApi } from '../../pkg/kube/index.js';
import { GROUP, KIND_NAMES, VERSION, type PolicyKind } from '../../pkg/api/v1/index.js';
import type { Logger } from '../../pkg/log/index.js';
import { toPolicyKey, type PolicyRef } from '../../pkg/policy/index.js';
import type { PolicyObject } from '../desired-status.js';
import { apiErrorFields } from './api-error.js';

export interface PolicyInformerDeps {
  readonly watch: WatchApi;
  readonly customObjects: Pick<CustomObjectsApi, 'listClusterCustomObject' | 'listCustomObjectForAllNamespaces'>;
  readonly log: Logger;
  readonly onKey: (key: string) => void;
  readonly restartBaseDelayMs?: number;
  readonly restartMaxDelayMs?: number;
}

export class PolicyInformer {
  readonly kind: PolicyKind;
  readonly #deps: PolicyInformerDeps;
  readonly #listWatch: Informer<KubernetesObject>;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #stopped = false;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(kind: PolicyKind, deps: PolicyInformerDeps) {
    this.kind = kind;
    this.#deps = deps;
    const plural = KIND_NAMES[kind].plural;
    const list = async () => {
      const result = (
        kind === 'ClusterPolicy'
          ? await deps.customObjects.listClusterCustomObject({ group: GROUP, version: VERSION, plural })
          : await deps.customObjects.listCustomObjectForAllNamespaces({
              group: GROUP,
              version: VERSION,
              resourcePlural: plural,
            })
      ) as ObjectList<KubernetesObject>;
      this.#markSynced();
      return result;
    };
    // The constructor makes no request; start() does.
    this.#listWatch = new Informer(`/apis/${GROUP}/${VERSION}/${plural}`, deps.watch, list);
    const enqueue = (obj: KubernetesObject) => {
      const name = obj.metadata?.name;
      if (name) deps.onKey(toPolicyKey({ kind, namespace: obj.metadata?.namespace ?? '', name }));
    };
    this.#listWatch.on('add', enqueue);
    this.#listWatch.on('update', enqueue);
    this.#listWatch.on('delete', enqueue);
    this.#listWatch.on('error', (e: unknown) => this.#restart(e));
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#listWatch.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    await this.#listWatch.stop();
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  /** Resolves once a list has succeeded (or the informer was stopped). */
  whenSynced(): Promise<void> {
    if (this.#synced || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  get(ref: PolicyRef): PolicyObject | undefined {
    return this.#listWatch.get(ref.name, ref.namespace || undefined) as PolicyObject | undefined;
  }

  /** Keys of every object the informer holds, for periodic resync. */
  keys(): string[] {
    return this.#listWatch
      .list()
      .flatMap((o) =>
        o.metadata?.name
          ? [toPolicyKey({ kind: this.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name })]
          : [],
      );
  }

  #markSynced(): void {
    this.#failures = 0;
    if (this.#synced) return;
    this.#synced = true;
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  #restart(error: unknown): void {
    if (this.#stopped) return;
    this.#failures++;
    const base = this.#deps.restartBaseDelayMs ?? 500;
    const delay = Math.min(base * 2 ** (this.#failures - 1), this.#deps.restartMaxDelayMs ?? 30_000);
    this.#deps.log.warn('policy watch failed; restarting', {
      kind: this.kind,
      retryInMs: delay,
      ...apiErrorFields(error),
    });
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      if (this.#stopped) return;
      this.#listWatch.start().catch((e: unknown) => this.#restart(e));
    }, delay);
  }
}
