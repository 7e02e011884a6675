// The webhook's serving certificate, kept in a Secret of the operator's namespace. Every replica watches the Secret
// and serves the certificate in it, changing over without a restart; only the leader writes it, one planned step at
// a time (operator/serving-certificate-plan.ts), with optimistic concurrency. The caBundle of the webhook
// configurations is the Secret's ca.crt; the registration tells this controller when it has applied one, which is
// what lets a rotated CA's first certificate be served.
import type { V1Secret } from '@kubernetes/client-node';
import { errorFields, type Logger } from '../../pkg/log/index.js';
import { SlimListWatch, type ListPage, type ListPageRequest, type WatchApi } from '../../pkg/kube/index.js';
import { readCertificates } from '../../pkg/tls/index.js';
import { nextCertificateSecret, type CertificateLifetimes } from '../next-certificate-secret.js';
import {
  planServingCertificate,
  readCertificateSecret,
  type ServingCertificateState,
} from '../serving-certificate-plan.js';
import { WorkQueue } from '../work-queue.js';
import { toApiError } from './api-error.js';

/** What a replica serves: the certificate and key, and the CAs the API server must trust for it. */
export interface ServingMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caBundlePem: string;
}

export interface CertificateSecretApi {
  listSecrets(request: ListPageRequest & { namespace: string; fieldSelector: string }): Promise<ListPage<V1Secret>>;
  createSecret(namespace: string, body: V1Secret): Promise<unknown>;
  /** Replaces the Secret; fails with 409 when body.metadata.resourceVersion is no longer current. */
  replaceSecret(namespace: string, name: string, body: V1Secret): Promise<unknown>;
  readonly watch: WatchApi;
}

export interface ServingCertificateControllerOptions extends CertificateLifetimes {
  readonly namespace: string;
  readonly name: string;
  /** Every host name and address the API server may call the webhook by. */
  readonly hosts: readonly string[];
  readonly secrets: CertificateSecretApi;
  readonly isLeader: () => boolean;
  readonly now: () => Date;
  readonly log: Logger;
  /** Called whenever what this replica should serve changes (a new certificate, or a new caBundle). */
  readonly onChange: (material: ServingMaterial) => void;
}

/** Past this, a recheck is scheduled anyway: timers do not take delays above 2^31-1 ms, and clocks jump. */
const MAX_RECHECK_MS = 60 * 60_000;
const KEY = 'serving-certificate';

export class ServingCertificateController {
  readonly #options: ServingCertificateControllerOptions;
  readonly #watch: SlimListWatch<V1Secret, V1Secret>;
  readonly #queue = new WorkQueue({ baseDelayMs: 1_000, maxDelayMs: 60_000 });
  /** CA fingerprint → when a webhook registration carrying it was first applied (by this replica, as leader). */
  readonly #trustedSince = new Map<string, Date>();
  #serving: ServingMaterial | undefined;
  #servingWaiters: ((m: ServingMaterial) => void)[] = [];
  #recheck: NodeJS.Timeout | undefined;
  #workers: Promise<void> | undefined;
  #lastProblem = '';

  /** Makes no request and starts no timer; start() does. */
  constructor(options: ServingCertificateControllerOptions) {
    this.#options = options;
    const { namespace, name, secrets } = options;
    const fieldSelector = `metadata.name=${name}`;
    this.#watch = new SlimListWatch<V1Secret, V1Secret>({
      what: 'serving certificate Secret',
      logFields: { secret: `${namespace}/${name}` },
      path: `/api/v1/namespaces/${namespace}/secrets`,
      fieldSelector,
      listPage: (request) => secrets.listSecrets({ namespace, fieldSelector, ...request }),
      keep: (raw) => raw,
      watch: secrets.watch,
      log: options.log,
    });
    const changed = () => this.#queue.add(KEY);
    this.#watch.informer.on('add', changed);
    this.#watch.informer.on('update', changed);
    this.#watch.informer.on('delete', changed);
  }

  async start(): Promise<void> {
    this.#workers = this.#queue.run(
      1,
      () => this.#reconcile(),
      (_key, e, retryInMs) =>
        this.#options.log.warn('serving certificate: step failed; will retry', { retryInMs, ...errorFields(e) }),
    );
    await this.#watch.start();
    await this.#watch.synced;
    this.#queue.add(KEY);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#recheck);
    this.#recheck = undefined;
    await this.#watch.stop();
    this.#queue.shutDown();
    await this.#workers;
  }

  /** What to serve now; undefined until the Secret holds a certificate. */
  current(): ServingMaterial | undefined {
    return this.#serving;
  }

  /** Resolves with the first certificate to serve. */
  whenServing(): Promise<ServingMaterial> {
    if (this.#serving) return Promise.resolve(this.#serving);
    return new Promise((resolve) => this.#servingWaiters.push(resolve));
  }

  /** Plan again now: this replica has become the leader, or something the plan reads has changed. */
  check(): void {
    this.#queue.add(KEY);
  }

  /** The webhook configurations now carry `caBundlePem` (applied by this replica as leader). */
  noteRegistered(caBundlePem: string): void {
    const read = readCertificates(caBundlePem);
    if (!read.ok) return;
    const now = this.#options.now();
    let added = false;
    for (const ca of read.value) {
      if (this.#trustedSince.has(ca.fingerprint)) continue;
      this.#trustedSince.set(ca.fingerprint, now);
      added = true;
    }
    if (added) this.#queue.add(KEY);
  }

  async #reconcile(): Promise<void> {
    const { namespace, name, log } = this.#options;
    const secret = this.#watch.informer.get(name, namespace);
    const state = secret ? readCertificateSecret(secret.data) : undefined;
    this.#serve(state);
    if (!this.#options.isLeader()) return;
    const now = this.#options.now();
    const plan = planServingCertificate(state, {
      now,
      hosts: this.#options.hosts,
      trustedSince: (fingerprint) => this.#trustedSince.get(fingerprint),
      settleMs: settleTime(this.#options.caValidityMs),
    });
    if (plan.$case === 'keep') {
      this.#scheduleRecheck(plan.recheckAt.getTime() - now.getTime());
      if (plan.waiting) log.debug(`serving certificate: waiting ${plan.waiting}`);
      return;
    }
    const data = await nextCertificateSecret(plan, state, { ...this.#options, now });
    log.info('serving certificate: writing', { step: plan.$case, reason: plan.reason, secret: `${namespace}/${name}` });
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name,
        namespace,
        labels: { 'app.kubernetes.io/name': 'imprimatur', 'app.kubernetes.io/managed-by': 'imprimatur' },
        ...(secret?.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
      },
      data: data!,
    };
    try {
      if (secret) await this.#options.secrets.replaceSecret(namespace, name, body);
      else await this.#options.secrets.createSecret(namespace, body);
    } catch (e) {
      // Someone wrote it first (another leader's last step, or a create racing ours): the informer brings their
      // version, and the plan is made again from it.
      if (toApiError(e).code === 409) {
        log.info('serving certificate: the Secret changed before it could be written; planning again');
        return;
      }
      throw e;
    }
  }

  /** Serves the Secret's certificate when it holds a usable one; otherwise keeps serving the last good one. */
  #serve(state: ServingCertificateState | undefined): void {
    const problem = !state ? 'the Secret does not exist' : state.problems.join('; ');
    if (problem !== this.#lastProblem) {
      if (problem && this.#serving) this.#options.log.warn('serving certificate: Secret not usable', { problem });
      this.#lastProblem = problem;
    }
    if (!state?.leaf || state.bundle.length === 0) return;
    const material: ServingMaterial = {
      certPem: state.leaf.facts.pem,
      keyPem: state.leaf.keyPem,
      caBundlePem: state.bundle.map((c) => c.pem).join(''),
    };
    const old = this.#serving;
    if (old && old.certPem === material.certPem && old.caBundlePem === material.caBundlePem) return;
    this.#serving = material;
    this.#options.log.info('serving certificate: now serving', {
      notAfter: state.leaf.facts.notAfter.toISOString(),
      cas: state.bundle.length,
    });
    for (const resolve of this.#servingWaiters.splice(0)) resolve(material);
    this.#options.onChange(material);
  }

  #scheduleRecheck(delayMs: number): void {
    clearTimeout(this.#recheck);
    this.#recheck = setTimeout(
      () => {
        this.#recheck = undefined;
        this.#queue.add(KEY);
      },
      Math.max(0, Math.min(delayMs, MAX_RECHECK_MS)),
    );
    this.#recheck.unref();
  }
}

/**
 * How long a new CA must be in the webhook configurations before a certificate it signed is served: time for every
 * API server's informer to see the new caBundle. A twelfth of the CA's lifetime, at most 30 s, so that short test
 * lifetimes still rotate well before the old CA expires (at two thirds, a third of its lifetime is left).
 */
export function settleTime(caValidityMs: number): number {
  return Math.min(30_000, Math.floor(caValidityMs / 12));
}
