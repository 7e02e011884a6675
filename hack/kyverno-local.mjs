// Kyverno's admission controller (tools/kyverno, built by `hack/install-tools.sh kyverno`), run out of cluster against
// a cluster of hack/cluster-up.sh, as the reference for make bench-kyverno: the same API server and registry as
// Imprimatur, one tool at a time. The recipe is ../shared/reference/kyverno-local-run.md: six environment variables
// it exits without, webhooks registered by URL on loopback, its two TLS Secrets made by itself, the two ConfigMaps
// made beforehand, readiness on /health/readiness, and its webhook configurations deleted after it stops (it leaves
// them behind with failurePolicy Fail, pointing at a dead URL).
//
// Kyverno's CRDs and ours share the names clusterpolicies.kyverno.io and policies.kyverno.io, and both controllers
// write a policy's status: installKyvernoCrds puts Kyverno's in place for its turn and installOurCrds (bench-support)
// puts ours back; the caller deletes its policies between turns.
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { bin, eventually, freePort, must, ROOT, spawnLogged, waitEstablished } from './bench-support.mjs';

const NAMESPACE = 'kyverno';
const KYVERNO_VERSION = /^KYVERNO=(\S+)$/m.exec(readFileSync(join(ROOT, 'tools', 'versions.env'), 'utf8'))[1];
/** What a stopped Kyverno leaves behind: its webhook configurations carry this label. */
const MANAGED = 'webhook.kyverno.io/managed-by=kyverno';

/** Where the module proxy put Kyverno's source (its CRDs are in config/crds/). */
async function kyvernoSourceDir() {
  const out = await must('go', ['mod', 'download', '-json', `github.com/kyverno/kyverno@${KYVERNO_VERSION}`], {
    GOFLAGS: '-mod=mod',
    GOWORK: 'off',
  });
  return JSON.parse(out).Dir;
}

/**
 * Applies every CRD Kyverno's controllers expect (kyverno.io, policies.kyverno.io, reports, policy reports),
 * server-side: clusterpolicies.kyverno.io is too large for client-side apply's annotation. Replaces ours.
 */
export async function installKyvernoCrds(cluster) {
  const crds = join(await kyvernoSourceDir(), 'config', 'crds');
  const files = readdirSync(crds, { recursive: true })
    .filter((f) => String(f).endsWith('.yaml'))
    .map((f) => join(crds, String(f)));
  for (const file of files) await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]);
  await waitEstablished(
    cluster,
    ['clusterpolicies.kyverno.io', 'policies.kyverno.io', 'updaterequests.kyverno.io', 'policyexceptions.kyverno.io'],
    "Kyverno's CRDs",
  );
}

/** GET https://127.0.0.1:port/path on Kyverno's self-signed certificate: its status code, 0 when nothing answers. */
function httpsStatus(port, path) {
  return new Promise((ok) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('error', () => ok(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Deletes the webhook configurations a Kyverno registered (they outlive it). */
export async function removeKyvernoWebhooks(cluster) {
  for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
    await cluster.tryKubectl(['delete', kind, '-l', MANAGED, '--ignore-not-found', '--wait=true']);
  }
}

/**
 * Starts Kyverno against the cluster, its webhooks limited to namespaces labelled `selectorLabel` (key=value), and
 * waits until it is ready and has registered its resource webhooks. Its CRDs must be installed (installKyvernoCrds).
 * Returns { pid, stop() }: stop ends it and deletes the webhook configurations it leaves behind.
 */
export async function startKyverno(cluster, { logFile, selectorLabel, name = 'kyverno-bench' }) {
  const [key, value] = selectorLabel.split('=');
  await cluster.tryKubectl(['create', 'namespace', NAMESPACE]);
  const configMaps = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kyverno', namespace: NAMESPACE },
        data: {
          webhooks: JSON.stringify({ namespaceSelector: { matchLabels: { [key]: value } } }),
        },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kyverno-metrics', namespace: NAMESPACE },
        // Fine buckets below 5 ms, where a warm admission falls.
        data: {
          bucketBoundaries: '0.0005,0.001,0.002,0.003,0.005,0.0075,0.01,0.015,0.02,0.03,0.05,0.1,0.25,0.5,1,2.5,5',
        },
      },
    ],
  };
  await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(configMaps));

  const [webhookPort, metricsPort] = [await freePort(), await freePort()];
  const child = spawnLogged(
    bin('kyverno'),
    [
      `--kubeconfig=${cluster.kubeconfig}`,
      `--serverIP=127.0.0.1:${webhookPort}`,
      '--webhookServerHost=127.0.0.1',
      `--webhookServerPort=${webhookPort}`,
      '--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca',
      '--tlsSecretName=kyverno-svc.kyverno.svc.kyverno-tls-pair',
      '--tlsKeyAlgorithm=ECDSA',
      '--admissionReports=false',
      '--generateValidatingAdmissionPolicy=false',
      '--controllerRuntimeMetricsAddress=0',
      '--enableTuf=false',
      '--metricsHost=127.0.0.1',
      `--metricsPort=${metricsPort}`,
      '-v=2',
    ],
    {
      env: {
        ...process.env,
        KYVERNO_NAMESPACE: NAMESPACE,
        KYVERNO_SERVICEACCOUNT_NAME: 'kyverno-admission-controller',
        KYVERNO_DEPLOYMENT: 'kyverno-admission-controller',
        KYVERNO_POD_NAME: 'kyverno-admission-controller-local',
        INIT_CONFIG: 'kyverno',
        METRICS_CONFIG: 'kyverno-metrics',
      },
      logFile,
    },
  );
  // Recorded with the cluster's processes, so hack/cluster-down.sh stops it if the caller dies.
  writeFileSync(join(cluster.state, 'pids', name), String(child.pid));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), sleep(20_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await removeKyvernoWebhooks(cluster);
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`kyverno exited: ${readFileSync(logFile, 'utf8').slice(-3000)}`);
        if ((await httpsStatus(webhookPort, '/health/readiness')) !== 200) return undefined;
        const r = await cluster.tryKubectl([
          'get',
          'mutatingwebhookconfiguration',
          'kyverno-resource-mutating-webhook-cfg',
        ]);
        return r.code === 0 || undefined;
      },
      'Kyverno to be ready with its webhooks registered',
      120_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: child.pid, metricsPort, stop };
}
