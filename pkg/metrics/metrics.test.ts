import { Metrics } from './metrics.js';

/** The value of one series of `name` in the exposition, the labels given matching exactly; undefined if absent. */
async function valueOf(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const all = await metrics.registry.getMetricsAsJSON();
  for (const metric of all) {
    for (const v of (metric as { values: { metricName?: string; labels: object; value: number }[] }).values) {
      const series = v.metricName ?? metric.name;
      if (series !== name) continue;
      const got = Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)]));
      if (JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(labels).sort())) return v.value;
    }
  }
  return undefined;
}

function admission(overrides: Partial<Parameters<Metrics['observeAdmission']>[0]> = {}) {
  return {
    webhook: 'mutate' as const,
    kind: 'Pod',
    operation: 'CREATE' as const,
    allowed: true,
    patched: true,
    durationSeconds: 0.0003,
    ...overrides,
  };
}

const POD_CREATE = { resource_kind: 'Pod', resource_request_operation: 'create' };

describe('Metrics', () => {
  describe('admissions', () => {
    it('counts them with Kyverno’s names and labels, and the decision', async () => {
      const metrics = new Metrics();
      metrics.observeAdmission(admission());
      metrics.observeAdmission(admission());
      metrics.observeAdmission(admission({ allowed: false, patched: false }));
      metrics.observeAdmission(admission({ webhook: 'validate', patched: false }));
      const mutating = { ...POD_CREATE, request_webhook: 'MutatingWebhookConfiguration' };
      expect(
        await valueOf(metrics, 'kyverno_admission_requests_total', {
          ...mutating,
          request_allowed: 'true',
          request_decision: 'patched',
        }),
      ).toBe(2);
      expect(
        await valueOf(metrics, 'kyverno_admission_requests_total', {
          ...mutating,
          request_allowed: 'false',
          request_decision: 'denied',
        }),
      ).toBe(1);
      expect(
        await valueOf(metrics, 'kyverno_admission_requests_total', {
          ...POD_CREATE,
          request_webhook: 'ValidatingWebhookConfiguration',
          request_allowed: 'true',
          request_decision: 'allowed',
        }),
      ).toBe(1);
    });

    it('times them in buckets fine enough to see a warm admission under a millisecond', async () => {
      const metrics = new Metrics();
      metrics.observeAdmission(admission({ durationSeconds: 0.0003 }));
      const labels = {
        ...POD_CREATE,
        request_webhook: 'MutatingWebhookConfiguration',
        request_allowed: 'true',
        request_decision: 'patched',
      };
      expect(
        await valueOf(metrics, 'kyverno_admission_review_duration_seconds_bucket', { ...labels, le: '0.00025' }),
      ).toBe(0);
      expect(
        await valueOf(metrics, 'kyverno_admission_review_duration_seconds_bucket', { ...labels, le: '0.0005' }),
      ).toBe(1);
      expect(await valueOf(metrics, 'kyverno_admission_review_duration_seconds_bucket', { ...labels, le: '30' })).toBe(
        1,
      );
    });

    it('folds kinds past the bound into "other", so AdmissionReviews cannot multiply series', async () => {
      const metrics = new Metrics({ maxLabelValues: 2 });
      for (let i = 0; i < 100; i++) metrics.observeAdmission(admission({ kind: `Kind${i}` }));
      const body = (await metrics.render()).body;
      const kinds = new Set(
        [...body.matchAll(/^kyverno_admission_requests_total\{[^}]*resource_kind="([^"]*)"/gm)].map((m) => m[1]),
      );
      expect(kinds).toEqual(new Set(['Kind0', 'Kind1', 'other']));
    });
  });

  describe('image verifications', () => {
    it('count passes, failures and errors, with the failure reason', async () => {
      const metrics = new Metrics();
      metrics.observeVerification({ durationSeconds: 0.2 });
      metrics.observeVerification({ reason: 'SignatureNotFound', durationSeconds: 0.1 });
      metrics.observeVerification({ reason: 'SignatureNotFound', durationSeconds: 0.1 });
      metrics.observeVerification({ reason: 'Timeout', durationSeconds: 8 });
      expect(await valueOf(metrics, 'imprimatur_image_verifications_total', { result: 'pass' })).toBe(1);
      expect(
        await valueOf(metrics, 'imprimatur_image_verifications_total', { result: 'fail', reason: 'SignatureNotFound' }),
      ).toBe(2);
      expect(
        await valueOf(metrics, 'imprimatur_image_verifications_total', { result: 'error', reason: 'Timeout' }),
      ).toBe(1);
      expect(await valueOf(metrics, 'imprimatur_image_verification_duration_seconds_count', { result: 'fail' })).toBe(
        2,
      );
    });
  });

  describe('registry requests', () => {
    it('count by host, method and status, "error" when nothing answered', async () => {
      const metrics = new Metrics();
      metrics.observeRegistryRequest({ host: 'GHCR.io', method: 'get', status: 200, durationMs: 12 });
      metrics.observeRegistryRequest({ host: 'ghcr.io', method: 'GET', status: 200, durationMs: 8 });
      metrics.observeRegistryRequest({ host: 'ghcr.io', method: 'HEAD', durationMs: 10_000 });
      expect(
        await valueOf(metrics, 'imprimatur_registry_requests_total', { host: 'ghcr.io', method: 'GET', status: '200' }),
      ).toBe(2);
      expect(
        await valueOf(metrics, 'imprimatur_registry_requests_total', {
          host: 'ghcr.io',
          method: 'HEAD',
          status: 'error',
        }),
      ).toBe(1);
      expect(
        await valueOf(metrics, 'imprimatur_registry_request_duration_seconds_sum', { host: 'ghcr.io', method: 'GET' }),
      ).toBeCloseTo(0.02);
    });

    it('fold hosts past the bound into "other", whatever hosts image references name', async () => {
      const metrics = new Metrics({ maxLabelValues: 3 });
      for (let i = 0; i < 1000; i++) {
        metrics.observeRegistryRequest({ host: `r${i}.attacker.example`, method: 'GET', status: 404, durationMs: 1 });
      }
      expect(
        await valueOf(metrics, 'imprimatur_registry_requests_total', { host: 'other', method: 'GET', status: '404' }),
      ).toBe(997);
      const body = (await metrics.render()).body;
      expect(body.match(/^imprimatur_registry_requests_total\{/gm)).toHaveLength(4);
    });
  });

  describe('the result cache', () => {
    it('is read when scraped: hits, misses, evictions, expirations and entries', async () => {
      const metrics = new Metrics();
      const counts = { hits: 3, misses: 2, evictions: 1, expired: 4, entries: 5 };
      metrics.watchVerificationCache(() => counts);
      expect(await valueOf(metrics, 'imprimatur_verification_cache_hits_total')).toBe(3);
      counts.hits = 7;
      expect(await valueOf(metrics, 'imprimatur_verification_cache_hits_total')).toBe(7);
      expect(await valueOf(metrics, 'imprimatur_verification_cache_misses_total')).toBe(2);
      expect(await valueOf(metrics, 'imprimatur_verification_cache_evictions_total')).toBe(1);
      expect(await valueOf(metrics, 'imprimatur_verification_cache_expirations_total')).toBe(4);
      expect(await valueOf(metrics, 'imprimatur_verification_cache_entries')).toBe(5);
    });
  });

  describe('policies', () => {
    it('are counted by kind and Ready condition, and forgotten when deleted', async () => {
      const metrics = new Metrics();
      const ready = { kind: 'ClusterPolicy', status: 'True', reason: 'Succeeded' };
      metrics.setPolicyReadiness('ClusterPolicy//a', ready);
      metrics.setPolicyReadiness('ClusterPolicy//b', ready);
      metrics.setPolicyReadiness('ClusterPolicy//c', { kind: 'ClusterPolicy', status: 'False', reason: 'InvalidKey' });
      expect(await valueOf(metrics, 'imprimatur_policies', ready)).toBe(2);
      metrics.setPolicyReadiness('ClusterPolicy//b', undefined);
      metrics.setPolicyReadiness('ClusterPolicy//c', ready);
      expect(await valueOf(metrics, 'imprimatur_policies', ready)).toBe(2);
      expect(
        await valueOf(metrics, 'imprimatur_policies', { kind: 'ClusterPolicy', status: 'False', reason: 'InvalidKey' }),
      ).toBeUndefined();
    });
  });

  describe('the controllers', () => {
    it('count reconciles as controller-runtime does, from 0 once declared', async () => {
      const metrics = new Metrics();
      metrics.declareController('clusterpolicy');
      expect(
        await valueOf(metrics, 'controller_runtime_reconcile_total', { controller: 'clusterpolicy', result: 'error' }),
      ).toBe(0);
      metrics.observeReconcile('clusterpolicy', 'success', 0.01);
      metrics.observeReconcile('clusterpolicy', 'error', 0.02);
      expect(
        await valueOf(metrics, 'controller_runtime_reconcile_total', {
          controller: 'clusterpolicy',
          result: 'success',
        }),
      ).toBe(1);
      expect(await valueOf(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'clusterpolicy' })).toBe(
        1,
      );
      expect(
        await valueOf(metrics, 'controller_runtime_reconcile_time_seconds_count', { controller: 'clusterpolicy' }),
      ).toBe(2);
    });

    it('read work-queue depth and leadership when scraped', async () => {
      const metrics = new Metrics();
      let depth = 3;
      let leading = false;
      metrics.watchQueue('policies', () => depth);
      metrics.watchLeader('imprimatur-operator', () => leading);
      metrics.observeQueueAdd('policies');
      expect(await valueOf(metrics, 'workqueue_depth', { name: 'policies' })).toBe(3);
      expect(await valueOf(metrics, 'workqueue_adds_total', { name: 'policies' })).toBe(1);
      expect(await valueOf(metrics, 'leader_election_master_status', { name: 'imprimatur-operator' })).toBe(0);
      depth = 0;
      leading = true;
      expect(await valueOf(metrics, 'workqueue_depth', { name: 'policies' })).toBe(0);
      expect(await valueOf(metrics, 'leader_election_master_status', { name: 'imprimatur-operator' })).toBe(1);
    });
  });

  it('keeps a registry of its own: two instances share nothing', async () => {
    const one = new Metrics();
    const two = new Metrics();
    one.observeVerification({ durationSeconds: 1 });
    expect(await valueOf(one, 'imprimatur_image_verifications_total', { result: 'pass' })).toBe(1);
    expect(await valueOf(two, 'imprimatur_image_verifications_total', { result: 'pass' })).toBeUndefined();
  });

  it('renders the Prometheus text format', async () => {
    const metrics = new Metrics();
    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('# TYPE kyverno_admission_requests_total counter');
  });
});
