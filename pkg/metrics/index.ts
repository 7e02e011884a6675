// Prometheus metrics: one registry per process and the observers that fill it. The only door to pkg/metrics, and
// the only place prom-client is imported.
export { OTHER, BoundedLabel, type BoundedLabelOptions } from './bounded-label.js';
export { LATENCY_BUCKETS } from './buckets.js';
export {
  Metrics,
  type AdmissionObservation,
  type CacheCounts,
  type MetricsOptions,
  type PolicyReadiness,
  type RegistryRequestObservation,
  type VerificationObservation,
} from './metrics.js';
