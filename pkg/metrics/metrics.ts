// Every metric the process exports, in one registry of its own (never prom-client's global one), and the observer
// methods the operator, the webhook and the registry client are handed (through their options, as plain callbacks:
// none of them knows prom-client). Names and labels are Kyverno's and controller-runtime's where those projects have
// the metric, so that their dashboards and alerts carry over; the rest are imprimatur_*. Values that come from
// outside (registry hosts, resource kinds) are bounded (bounded-label.ts). Nothing here starts a timer: gauges and
// the cache's counters are read when Prometheus scrapes.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_REASONS, type VerifyReason } from '../conditions/index.js';
import { BoundedLabel } from './bounded-label.js';
import { LATENCY_BUCKETS } from './buckets.js';

/** One admission answered by the mutating or the validating webhook. */
export interface AdmissionObservation {
  readonly webhook: 'mutate' | 'validate';
  /** The AdmissionReview's kind, e.g. Pod: chosen by whoever sends it, so bounded. */
  readonly kind: string;
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly allowed: boolean;
  /** Allowed with a JSON patch (digests pinned, annotations written). */
  readonly patched: boolean;
  readonly durationSeconds: number;
}

/** One image verified against one entry's attestors (a cache hit is none). */
export interface VerificationObservation {
  /** Why it failed; absent for a pass. */
  readonly reason?: VerifyReason;
  readonly durationSeconds: number;
}

/** One HTTP request to a registry, its token service or a server it redirected to. */
export interface RegistryRequestObservation {
  /** host[:port] of the URL requested: the image reference's registry, or a realm or redirect it chose. */
  readonly host: string;
  readonly method: string;
  /** The HTTP status; absent when no answer came (refused, reset, timed out). */
  readonly status?: number;
  readonly durationMs: number;
}

/** What the verification cache counts (pkg/cache CacheStats has these and more). */
export interface CacheCounts {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly expired: number;
  readonly entries: number;
}

/** A policy's Ready condition, as the operator computed it; the policy's kind, not its name (one series per value). */
export interface PolicyReadiness {
  readonly kind: string;
  readonly status: string;
  readonly reason: string;
}

export interface MetricsOptions {
  /** Distinct registry hosts and resource kinds labelled before the rest are "other". Default 64. */
  readonly maxLabelValues?: number;
}

const WEBHOOK_CONFIGURATIONS = {
  mutate: 'MutatingWebhookConfiguration',
  validate: 'ValidatingWebhookConfiguration',
} as const;

/** Longest label value taken from outside: a DNS name is at most 253 characters, a port adds 6. */
const MAX_LABEL_LENGTH = 260;

export class Metrics {
  readonly registry = new Registry();
  readonly #kinds: BoundedLabel;
  readonly #hosts: BoundedLabel;
  readonly #queues = new Map<string, () => number>();
  readonly #leaders = new Map<string, () => boolean>();
  readonly #policies = new Map<string, PolicyReadiness>();
  #cache: (() => CacheCounts) | undefined;
  #processMetrics = false;

  readonly #admissions: Counter<string>;
  readonly #admissionDuration: Histogram<string>;
  readonly #verifications: Counter<string>;
  readonly #verificationDuration: Histogram<string>;
  readonly #registryRequests: Counter<string>;
  readonly #registryDuration: Histogram<string>;
  readonly #reconciles: Counter<string>;
  readonly #reconcileErrors: Counter<string>;
  readonly #reconcileTime: Histogram<string>;
  readonly #queueAdds: Counter<string>;

  constructor(options: MetricsOptions = {}) {
    const max = options.maxLabelValues ?? 64;
    this.#kinds = new BoundedLabel({ max, maxLength: MAX_LABEL_LENGTH });
    this.#hosts = new BoundedLabel({ max, maxLength: MAX_LABEL_LENGTH });
    const registers = [this.registry];
    // Read through arrows: prom-client calls collect() with the metric as `this`.
    const cacheCounts = () => this.#cache?.();
    const policies = () => this.#policies.values();
    const queues = () => this.#queues;
    const leaders = () => this.#leaders;

    // Kyverno's admission metrics (pkg/metrics/admission.go), without resource_namespace, which whoever creates
    // namespaces would control; request_webhook as Kyverno's documentation names its values; request_decision ours.
    const admissionLabels = [
      'resource_kind',
      'resource_request_operation',
      'request_allowed',
      'request_webhook',
      'request_decision',
    ];
    this.#admissions = new Counter({
      name: 'kyverno_admission_requests_total',
      help: 'Admission requests answered, by resource kind, operation, webhook and decision (allowed, patched, denied).',
      labelNames: admissionLabels,
      registers,
    });
    this.#admissionDuration = new Histogram({
      name: 'kyverno_admission_review_duration_seconds',
      help: 'Time to answer an admission review, in seconds: every policy and image of the request.',
      labelNames: admissionLabels,
      buckets: [...LATENCY_BUCKETS],
      registers,
    });

    this.#verifications = new Counter({
      name: 'imprimatur_image_verifications_total',
      help: 'Images verified against a verifyImages entry (result cache hits excluded), by result (pass, fail, error) and failure reason.',
      labelNames: ['result', 'reason'],
      registers,
    });
    this.#verificationDuration = new Histogram({
      name: 'imprimatur_image_verification_duration_seconds',
      help: 'Time to verify one image against one verifyImages entry, registry reads included, in seconds.',
      labelNames: ['result'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });

    this.#registryRequests = new Counter({
      name: 'imprimatur_registry_requests_total',
      help: 'HTTP requests to registries (token services and redirect targets included), by host, method and status ("error": no answer).',
      labelNames: ['host', 'method', 'status'],
      registers,
    });
    this.#registryDuration = new Histogram({
      name: 'imprimatur_registry_request_duration_seconds',
      help: 'Time from sending a registry request to its response headers (or its failure), in seconds.',
      labelNames: ['host', 'method'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });

    const cacheCounter = (name: string, help: string, read: (c: CacheCounts) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const counts = cacheCounts();
          // The cache counts since it was made; the counter follows it.
          this.reset();
          this.inc(counts ? read(counts) : 0);
        },
      });
    cacheCounter(
      'imprimatur_verification_cache_hits_total',
      'Verifications answered from the result cache.',
      (c) => c.hits,
    );
    cacheCounter(
      'imprimatur_verification_cache_misses_total',
      'Result cache lookups that found no pass kept.',
      (c) => c.misses,
    );
    cacheCounter(
      'imprimatur_verification_cache_evictions_total',
      'Passes dropped from the result cache to stay within --imageVerifyCacheMaxSize.',
      (c) => c.evictions,
    );
    cacheCounter(
      'imprimatur_verification_cache_expirations_total',
      'Passes dropped from the result cache after --imageVerifyCacheTTLDuration.',
      (c) => c.expired,
    );
    new Gauge({
      name: 'imprimatur_verification_cache_entries',
      help: 'Passes kept in the result cache now.',
      registers,
      collect() {
        this.set(cacheCounts()?.entries ?? 0);
      },
    });

    new Gauge({
      name: 'imprimatur_policies',
      help: 'Policies by kind and Ready condition (status and reason), as this replica compiled them.',
      labelNames: ['kind', 'status', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const p of policies()) this.inc({ kind: p.kind, status: p.status, reason: p.reason });
      },
    });

    // controller-runtime's (pkg/internal/controller/metrics).
    this.#reconciles = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.#reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.#reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    // client-go's workqueue metrics, as controller-runtime registers them.
    new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, depth] of queues()) this.set({ name }, depth());
      },
    });
    this.#queueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    // client-go's leader election metric, as controller-runtime registers it.
    new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, isLeader] of leaders()) this.set({ name }, isLeader() ? 1 : 0);
      },
    });
  }

  /** Adds Node.js's process metrics (CPU, memory, event loop lag, GC): they start observers, so only when served. */
  collectProcessMetrics(): void {
    if (this.#processMetrics) return;
    this.#processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  /** The exposition, for GET /metrics. */
  async render(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  observeAdmission(a: AdmissionObservation): void {
    const labels = {
      resource_kind: this.#kinds.of(a.kind),
      resource_request_operation: a.operation.toLowerCase(),
      request_allowed: String(a.allowed),
      request_webhook: WEBHOOK_CONFIGURATIONS[a.webhook],
      request_decision: !a.allowed ? 'denied' : a.patched ? 'patched' : 'allowed',
    };
    this.#admissions.inc(labels);
    this.#admissionDuration.observe(labels, a.durationSeconds);
  }

  observeVerification(v: VerificationObservation): void {
    const result = v.reason === undefined ? 'pass' : ERROR_REASONS.has(v.reason) ? 'error' : 'fail';
    this.#verifications.inc(v.reason === undefined ? { result } : { result, reason: v.reason });
    this.#verificationDuration.observe({ result }, v.durationSeconds);
  }

  observeRegistryRequest(r: RegistryRequestObservation): void {
    const host = this.#hosts.of(r.host.toLowerCase());
    const method = r.method.toUpperCase();
    this.#registryRequests.inc({ host, method, status: r.status === undefined ? 'error' : String(r.status) });
    this.#registryDuration.observe({ host, method }, r.durationMs / 1000);
  }

  /** The result cache whose counts are exported; read at each scrape. */
  watchVerificationCache(counts: () => CacheCounts): void {
    this.#cache = counts;
  }

  /** Sets (or, with undefined, forgets: the policy is gone) the Ready condition of the policy `key`. */
  setPolicyReadiness(key: string, readiness: PolicyReadiness | undefined): void {
    if (readiness) this.#policies.set(key, readiness);
    else this.#policies.delete(key);
  }

  observeReconcile(controller: string, result: 'success' | 'error', durationSeconds: number): void {
    this.#reconciles.inc({ controller, result });
    if (result === 'error') this.#reconcileErrors.inc({ controller });
    this.#reconcileTime.observe({ controller }, durationSeconds);
  }

  /** Declares a controller, so that its counters read 0 before its first reconcile, as controller-runtime's do. */
  declareController(controller: string): void {
    for (const result of ['success', 'error']) this.#reconciles.inc({ controller, result }, 0);
    this.#reconcileErrors.inc({ controller }, 0);
  }

  /** A work queue whose depth is exported, read at each scrape. */
  watchQueue(name: string, depth: () => number): void {
    this.#queues.set(name, depth);
    this.#queueAdds.inc({ name }, 0);
  }

  observeQueueAdd(name: string): void {
    this.#queueAdds.inc({ name });
  }

  /** A lease whose leadership is exported (1 while this replica leads), read at each scrape. */
  watchLeader(name: string, isLeader: () => boolean): void {
    this.#leaders.set(name, isLeader);
  }
}
