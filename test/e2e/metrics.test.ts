// Prometheus metrics, end to end: the operator started with --metrics-bind-address, the seed's check-image policy
// with a key the test signs with, a known number of Pods admitted and denied through kubectl, then /metrics scraped
// and parsed as Prometheus would (parse-prometheus-text-format): each counter says what was sent. And with
// --metrics-bind-address=0 (kubebuilder's default), nothing more listens than the webhook and the probes.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  freePort,
  loadEnvironment,
  startOperator,
  STATE,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, readyCondition } from './support/policies.js';
import { registryTools } from './support/registry-tools.js';

/** One metric family as parse-prometheus-text-format gives it (the package ships no types). */
interface MetricFamily {
  readonly name: string;
  readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  readonly metrics: readonly {
    readonly labels?: Readonly<Record<string, string>>;
    readonly value?: string;
  }[];
}
const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => MetricFamily[];

const SEED_POLICY = readFileSync(join(import.meta.dirname, 'testdata', 'check-image.yaml'), 'utf8');
const SEED_KEY_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/;
const NAMESPACE = 'metrics-e2e';
const ADMITTED = 3;
const DENIED = 2;

let env: Environment;
let work: string;
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-metrics-'));
  await installCrds(env);
  expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, 'k1')])).code).toBe(0);
  expect((await env.kubectl(['create', 'namespace', NAMESPACE])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await env.kubectl(['delete', 'cpol', 'check-image', '--ignore-not-found']);
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

/** The series of `name` whose labels include `labels`. */
function series(families: readonly MetricFamily[], name: string, labels: Record<string, string> = {}) {
  // A name may come back as several families: each histogram series' _bucket, _sum and _count lines make their own.
  return families
    .filter((f) => f.name === name)
    .flatMap((f) => f.metrics)
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

/** The sum of the values of the series of `name` whose labels include `labels`. */
function total(families: readonly MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  return series(families, name, labels).reduce((sum, m) => sum + Number(m.value ?? 0), 0);
}

/**
 * The exposition, and its families as parse-prometheus-text-format reads them. That parser keeps a histogram's
 * series only when it has no labels (it folds every labelled series into one set of buckets), so histograms are
 * read as untyped families: x_bucket, x_sum and x_count, each series with its labels.
 */
async function scrape(port: number): Promise<{ text: string; families: MetricFamily[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await res.text();
  return { text, families: parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped')) };
}

/** The TCP ports the process listens on, from its sockets' inodes in /proc. */
function listeningPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; st 0A is LISTEN; the inode is the tenth field.
      if (fields[3] === '0A' && inodes.has(fields[9]!)) ports.add(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

function pidOf(name: string): number {
  return Number(readFileSync(join(STATE, 'pids', name), 'utf8'));
}

function run(name: string, image: string) {
  return env.kubectl(['run', name, `--image=${image}`, '--restart=Never', '-n', NAMESPACE]);
}

describe('with --metrics-bind-address', () => {
  let operator: OperatorProcess | undefined;
  let metricsPort: number;
  let families: MetricFamily[];
  let text: string;
  let registryHost: string;

  beforeAll(async () => {
    metricsPort = await freePort();
    operator = await startOperator(env, await freePort(), {
      name: 'operator-metrics',
      args: [`--metrics-bind-address=127.0.0.1:${metricsPort}`],
    });
    const key = readFileSync(join(work, 'k1.pub'), 'utf8').trim().split('\n').join('\n          ');
    expect((await env.kubectl(['apply', '-f', '-'], SEED_POLICY.replace(SEED_KEY_BLOCK, key))).stderr).toBe('');
    await eventually(async () => {
      const ready = await readyCondition(env, 'clusterpolicy', 'check-image');
      return ready?.status === 'True' ? ready : undefined;
    }, 'check-image to be Ready');

    registryHost = env.vars['REGISTRY']!;
    const signed = await pushRandomImage(registryHost, 'metrics/signed');
    const signedFlags = [
      '--use-signing-config=false',
      '--rekor-url',
      env.vars['REKOR_URL']!,
      '--new-bundle-format=true',
    ];
    expect((await tool('cosign', ['sign', '--key', join(work, 'k1.key'), ...signedFlags, signed])).code).toBe(0);
    const unsigned = await pushRandomImage(registryHost, 'metrics/unsigned');
    // By tag, so that each admitted Pod is patched (pinned to the digest); the same image each time, so that the
    // first admission verifies it and the others are answered from the result cache.
    for (let i = 0; i < ADMITTED; i++) {
      const ran = await run(`signed-${i}`, signed.replace(/@sha256:.*/, ':v1'));
      expect(ran.stderr).toBe('');
    }
    for (let i = 0; i < DENIED; i++) {
      const ran = await run(`unsigned-${i}`, unsigned.replace(/@sha256:.*/, ':v1'));
      expect(ran.stderr).toContain('signature not found');
    }
    ({ families, text } = await scrape(metricsPort));
  }, 240_000);

  afterAll(() => operator?.stop(), 30_000);

  it('counts the admissions by kind, operation and decision, with Kyverno’s names', () => {
    const mutating = {
      resource_kind: 'Pod',
      resource_request_operation: 'create',
      request_webhook: 'MutatingWebhookConfiguration',
    };
    expect(total(families, 'kyverno_admission_requests_total', { ...mutating, request_decision: 'patched' })).toBe(
      ADMITTED,
    );
    expect(total(families, 'kyverno_admission_requests_total', { ...mutating, request_allowed: 'false' })).toBe(DENIED);
    expect(total(families, 'kyverno_admission_requests_total', { ...mutating, request_decision: 'denied' })).toBe(
      DENIED,
    );
    // kube-apiserver never calls the validating webhook here: the mutating one denied the unsigned Pods, and recorded
    // the admitted Pods' images as passing the validating checks, which its matchCondition reads.
    expect(
      total(families, 'kyverno_admission_requests_total', {
        resource_kind: 'Pod',
        request_webhook: 'ValidatingWebhookConfiguration',
      }),
    ).toBe(0);
    expect(total(families, 'kyverno_admission_review_duration_seconds_count', mutating)).toBe(ADMITTED + DENIED);
    expect(text).toContain('# TYPE kyverno_admission_review_duration_seconds histogram');
    // Fine enough below 5 ms to see an admission answered from the result cache.
    expect(
      series(families, 'kyverno_admission_review_duration_seconds_bucket', { ...mutating, le: '0.0001' }),
    ).not.toEqual([]);
  });

  it('counts one verification per image and entry, the repeats answered from the result cache', () => {
    expect(total(families, 'imprimatur_image_verifications_total', { result: 'pass' })).toBe(1);
    expect(
      total(families, 'imprimatur_image_verifications_total', { result: 'fail', reason: 'SignatureNotFound' }),
    ).toBe(DENIED);
    expect(total(families, 'imprimatur_image_verification_duration_seconds_count')).toBe(1 + DENIED);
    expect(total(families, 'imprimatur_verification_cache_hits_total')).toBe(ADMITTED - 1);
    expect(total(families, 'imprimatur_verification_cache_entries')).toBe(1);
  });

  it('counts the registry’s requests by host, method and status', () => {
    const ours = series(families, 'imprimatur_registry_requests_total', { host: registryHost });
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.every((m) => /^(\d{3}|error)$/.test(m.labels?.['status'] ?? ''))).toBe(true);
    expect(
      total(families, 'imprimatur_registry_requests_total', { host: registryHost, status: '200' }),
    ).toBeGreaterThan(0);
    expect(total(families, 'imprimatur_registry_request_duration_seconds_count', { host: registryHost })).toBe(
      total(families, 'imprimatur_registry_requests_total', { host: registryHost }),
    );
  });

  it('reports the policy Ready, its reconciles, the work queues and the leadership as controller-runtime does', () => {
    expect(total(families, 'imprimatur_policies', { kind: 'ClusterPolicy', status: 'True', reason: 'Succeeded' })).toBe(
      1,
    );
    expect(
      total(families, 'controller_runtime_reconcile_total', { controller: 'clusterpolicy', result: 'success' }),
    ).toBeGreaterThan(0);
    expect(
      total(families, 'controller_runtime_reconcile_time_seconds_count', { controller: 'clusterpolicy' }),
    ).toBeGreaterThan(0);
    expect(series(families, 'workqueue_depth', { name: 'policies' })).toHaveLength(1);
    expect(total(families, 'workqueue_adds_total', { name: 'policies' })).toBeGreaterThan(0);
    expect(total(families, 'leader_election_master_status', { name: 'imprimatur-operator' })).toBe(1);
  });

  it('adds Node.js’s process metrics', () => {
    expect(total(families, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('listens on the metrics port besides the webhook and the probes', () => {
    const ports = listeningPorts(pidOf('operator-metrics'));
    expect(ports.has(metricsPort)).toBe(true);
    expect(ports.has(operator!.probePort)).toBe(true);
    expect(ports.size).toBe(3);
  });
});

describe('with --metrics-bind-address=0', () => {
  it('serves no metrics: it listens only for the webhook and the probes', async () => {
    const operator = await startOperator(env, await freePort(), {
      name: 'operator-no-metrics',
      args: ['--metrics-bind-address=0'],
    });
    try {
      const ports = listeningPorts(pidOf('operator-no-metrics'));
      expect(ports.has(operator.probePort)).toBe(true);
      expect(ports.size).toBe(2);
      expect((await fetch(`http://127.0.0.1:${operator.probePort}/metrics`)).status).toBe(404);
    } finally {
      await operator.stop();
    }
  }, 120_000);
});
