// Histogram buckets for latencies, in seconds. Prometheus' defaults start at 5 ms, where a warm admission (answered
// from the result cache) already ends; these start at 100 µs so that such admissions are told apart, and end at
// 30 s, the longest timeout the API server gives a webhook.
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30,
];
