// The serving certificate the operator keeps in a Secret, rotated under load: two replicas with --leader-elect share
// one Secret (the leader writes it, both serve it), with lifetimes short enough that the serving certificate is
// renewed several times and the CA rotated and pruned within a minute and a half, while admissions go through the
// real kube-apiserver without a pause. None may fail, and the API server must never meet a certificate it does not
// trust: kube-apiserver builds a new client (so makes new TLS connections) whenever a caBundle changes.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { stringify } from 'yaml';
import {
  eventually,
  freePort,
  loadEnvironment,
  startOperator,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, readyCondition } from './support/policies.js';
import { registryTools } from './support/registry-tools.js';

const OPS = 'certs-e2e-ops';
const APPS = 'certs-e2e';
const SECRET = 'imprimatur-e2e-tls';
const POLICY = 'rotation-check';
const STREAM_MS = 80_000;

let env: Environment;
let work: string;
const operators: OperatorProcess[] = [];
const ports: number[] = [];
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-certs-'));
  await installCrds(env);
  for (const namespace of [OPS, APPS]) expect((await env.kubectl(['create', 'namespace', namespace])).code).toBe(0);
}, 300_000);

afterAll(async () => {
  for (const operator of operators.reverse()) await operator.stop();
  await env.kubectl(['delete', 'cpol', POLICY, '--ignore-not-found']);
  for (const namespace of [OPS, APPS]) await env.kubectl(['delete', 'namespace', namespace, '--wait=false']);
  rmSync(work, { recursive: true, force: true });
}, 120_000);

async function startReplica(name: string): Promise<OperatorProcess> {
  const port = await freePort();
  ports.push(port);
  const operator = await startOperator(env, await freePort(), {
    name,
    args: [
      `--webhook-port=${port}`,
      `--webhook-service-namespace=${OPS}`,
      `--webhook-cert-secret=${SECRET}`,
      '--webhook-cert-validity=20s',
      '--webhook-ca-validity=45s',
      '--leader-elect',
      `--leader-election-namespace=${OPS}`,
      '--leader-election-id=imprimatur-certs-e2e',
      '--leader-elect-lease-duration=4s',
      '--leader-elect-renew-deadline=3s',
      '--leader-elect-retry-period=1s',
    ],
  });
  operators.push(operator);
  return operator;
}

/** The certificate served on a new TLS connection to `port`, verified against `ca` as the API server would. */
function served(port: number, ca: string): Promise<{ fingerprint: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] });
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerX509Certificate()!.fingerprint256;
      // A clean close (close_notify, then FIN) once the server's session tickets are read: the server logs a reset
      // as a failed handshake, and those must all be the API server's.
      socket.on('data', () => undefined);
      socket.once('close', () => resolve({ fingerprint }));
      setTimeout(() => socket.end(), 50);
    });
    socket.once('error', (e) => {
      resolve({ error: e.message });
      socket.destroy();
    });
  });
}

async function registeredCaBundle(): Promise<string | undefined> {
  const got = await env.kubectl([
    'get',
    'mutatingwebhookconfigurations',
    '-l',
    'app.kubernetes.io/managed-by=imprimatur',
    '-o',
    'jsonpath={.items[0].webhooks[0].clientConfig.caBundle}',
  ]);
  return got.code === 0 && got.stdout.trim() ? Buffer.from(got.stdout.trim(), 'base64').toString('utf8') : undefined;
}

const fingerprints = (bundle: string) =>
  (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map(
    (pem) => new X509Certificate(pem).fingerprint256,
  );

describe('the serving certificate kept in a Secret', () => {
  it('is rotated, CA and all, under a steady stream of admissions, with no TLS failure and no admission lost', async () => {
    for (const name of ['k1']) {
      expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, name)])).code).toBe(0);
    }
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'certs/signed');
    const signed = await tool('cosign', [
      'sign',
      '--key',
      join(work, 'k1.key'),
      '--use-signing-config=false',
      '--rekor-url',
      env.vars['REKOR_URL']!,
      image,
    ]);
    expect(signed.code).toBe(0);
    const [name, digest] = image.split('@') as [string, string];

    const leader = await startReplica('operator-certs-a');
    const follower = await startReplica('operator-certs-b');
    const applied = await env.kubectl(
      ['apply', '-f', '-'],
      stringify({
        apiVersion: 'kyverno.io/v1',
        kind: 'ClusterPolicy',
        metadata: { name: POLICY },
        spec: {
          validationFailureAction: 'Enforce',
          failurePolicy: 'Fail',
          webhookTimeoutSeconds: 10,
          rules: [
            {
              name: 'check',
              match: { any: [{ resources: { kinds: ['Pod'], namespaces: [APPS] } }] },
              verifyImages: [{ imageReferences: [`${name}*`], key: readFileSync(join(work, 'k1.pub'), 'utf8') }],
            },
          ],
        },
      }),
    );
    expect(applied.stderr).toBe('');
    await eventually(async () => {
      const ready = await readyCondition(env, 'clusterpolicy', POLICY);
      return ready?.status === 'True' ? ready : undefined;
    }, `${POLICY} to be Ready`);
    // The Secret as the leader wrote it: a CA, its key, and a serving certificate for loopback.
    const secret = JSON.parse((await env.kubectl(['get', 'secret', SECRET, '-n', OPS, '-o', 'json'])).stdout) as {
      type: string;
      data: Record<string, string>;
    };
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);

    // The stream: three clients creating Pods (server-side dry runs, so the mutating webhook is called and nothing
    // is stored) one after another, each expected back pinned to the digest.
    const deadline = Date.now() + STREAM_MS;
    const outcomes = { admitted: 0, failed: [] as string[] };
    const pod = (i: number) =>
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `stream-${i}`, namespace: APPS },
        spec: { containers: [{ name: 'app', image: `${name}:v1` }] },
      });
    let sent = 0;
    const client = async () => {
      while (Date.now() < deadline) {
        const i = sent++;
        const created = await env.kubectl(
          ['create', '--dry-run=server', '-o', 'jsonpath={.spec.containers[0].image}', '-f', '-'],
          pod(i),
        );
        if (created.code === 0 && created.stdout.trim() === `${name}:v1@${digest}`) outcomes.admitted++;
        else outcomes.failed.push(`${i}: ${created.stderr.trim() || created.stdout.trim()}`);
      }
    };
    // Beside it, what each replica serves to a new connection, checked against the caBundle registered then.
    const seen = { leaf: [new Set<string>(), new Set<string>()], bundles: new Set<string>(), tls: [] as string[] };
    const prober = async () => {
      while (Date.now() < deadline) {
        const bundle = await registeredCaBundle();
        if (bundle) {
          seen.bundles.add(fingerprints(bundle).join(','));
          for (const [i, port] of ports.entries()) {
            const got = await served(port, bundle);
            if ('error' in got) seen.tls.push(`replica ${i}: ${got.error}`);
            else seen.leaf[i]!.add(got.fingerprint);
          }
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    await Promise.all([client(), client(), client(), prober()]);

    expect({ failed: outcomes.failed, tls: seen.tls }).toEqual({ failed: [], tls: [] });
    expect(outcomes.admitted).toBe(sent);
    expect(outcomes.admitted).toBeGreaterThan(30);
    // Renewed several times, and served by both replicas.
    expect(seen.leaf[0]!.size).toBeGreaterThanOrEqual(4);
    expect([...seen.leaf[1]!].filter((f) => seen.leaf[0]!.has(f)).length).toBeGreaterThanOrEqual(3);
    // The CA rotated: a bundle with two CAs was registered, and later one with only the new one.
    const bundles = [...seen.bundles].map((b) => b.split(','));
    expect(bundles.some((b) => b.length === 2)).toBe(true);
    expect(new Set(bundles.flat()).size).toBeGreaterThanOrEqual(2);
    // The API server never failed a handshake with either replica (the server logs each failure at debug).
    for (const operator of [leader, follower]) {
      expect(operator.logLines().filter((l) => l['message'] === 'TLS handshake failed')).toEqual([]);
    }
    // Only the leader wrote.
    const writers = [leader, follower].map(
      (o) => o.logLines().filter((l) => String(l['message'] ?? '').startsWith('serving certificate: writing')).length,
    );
    expect(writers[0]).toBeGreaterThanOrEqual(5);
    expect(writers[1]).toBe(0);
  }, 300_000);
});
