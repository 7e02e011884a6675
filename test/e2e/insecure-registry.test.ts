// Kyverno's imageRegistryCredentials.allowInsecureRegistry, end to end: images in a registry that serves HTTPS with a
// self-signed certificate (hack/cluster-up.sh's REGISTRY_TLS), pushed and signed by crane and the real cosign, and a
// ClusterPolicy whose entry allows insecure registries, or does not. Without it the webhook cannot read the registry,
// and with failurePolicy Fail the Pod is denied with the registry's failure; with it the image is verified and the
// Pod pinned to the digest verified.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const NAMESPACE = 'insecure-e2e';

let env: Environment;
let operator: OperatorProcess | undefined;
let work: string;
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

/** host:port of the registry with the self-signed certificate. */
const registry = () => env.vars['REGISTRY_TLS']!;
/** For crane: trust the registry's certificate (cosign is given --allow-insecure-registry instead, as users do). */
const trustRegistry = () => ({ SSL_CERT_FILE: env.vars['REGISTRY_TLS_CERT']! });

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-insecure-'));
  await installCrds(env);
  expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, 'k1')])).code).toBe(0);
  expect((await env.kubectl(['create', 'namespace', NAMESPACE])).code).toBe(0);
  operator = await startOperator(env, await freePort(), { name: 'operator-insecure' });
}, 300_000);

afterAll(async () => {
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
  await operator?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

/** The policies applied by the current test, deleted after it. */
const applied: string[] = [];

afterEach(async () => {
  if (applied.length > 0) await env.kubectl(['delete', 'cpol', ...applied.splice(0), '--ignore-not-found']);
});

/**
 * A ClusterPolicy verifying the registry's images under `repository` with the test's key, for Pods in the test
 * namespace; its entry carries imageRegistryCredentials.allowInsecureRegistry when `allowInsecureRegistry` is given.
 */
async function applyPolicy(name: string, repository: string, allowInsecureRegistry?: boolean): Promise<void> {
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name },
    spec: {
      validationFailureAction: 'Enforce',
      failurePolicy: 'Fail',
      webhookTimeoutSeconds: 10,
      rules: [
        {
          name,
          match: { any: [{ resources: { kinds: ['Pod'], namespaces: [NAMESPACE] } }] },
          verifyImages: [
            {
              imageReferences: [`${registry()}/${repository}*`],
              attestors: [
                {
                  entries: [
                    {
                      keys: {
                        publicKeys: readFileSync(join(work, 'k1.pub'), 'utf8'),
                        rekor: { ignoreTlog: true },
                      },
                    },
                  ],
                },
              ],
              ...(allowInsecureRegistry === undefined ? {} : { imageRegistryCredentials: { allowInsecureRegistry } }),
            },
          ],
        },
      ],
    },
  };
  applied.push(name);
  const created = await env.kubectl(['apply', '-f', '-'], JSON.stringify(policy));
  expect(created.stderr).toBe('');
  await eventually(async () => {
    const ready = await readyCondition(env, 'clusterpolicy', name);
    return ready?.status === 'True' ? ready : undefined;
  }, `${name} to be Ready`);
}

/** Pushes an image to the registry and, unless `signed` is false, signs it with k1; returns it by digest. */
async function pushImage(repository: string, signed = true): Promise<string> {
  const image = await pushRandomImage(registry(), repository, 'v1', trustRegistry());
  if (signed) {
    const signature = await tool('cosign', [
      'sign',
      '--key',
      join(work, 'k1.key'),
      '--use-signing-config=false',
      '--tlog-upload=false',
      '--allow-insecure-registry',
      image,
    ]);
    expect(signature.code).toBe(0);
  }
  return image;
}

function run(name: string, image: string) {
  return env.kubectl(['run', name, `--image=${image}`, '--restart=Never', '-n', NAMESPACE]);
}

describe('an image in a registry with a self-signed certificate', () => {
  it('is verified, and its Pod admitted pinned to the digest, when the entry allows insecure registries', async () => {
    await applyPolicy('insecure-allowed', 'insecure/allowed', true);
    const image = await pushImage('insecure/allowed');
    const [name, digest] = image.split('@') as [string, string];
    const ran = await run('allowed', `${name}:v1`);
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim()).toBe('pod/allowed created');
    const stored = await env.kubectl([
      'get',
      'pod',
      'allowed',
      '-n',
      NAMESPACE,
      '-o',
      'jsonpath={.spec.containers[0].image}',
    ]);
    expect(stored.stdout.trim()).toBe(`${name}:v1@${digest}`);
  });

  it('is still checked when the entry allows insecure registries: an unsigned one is denied', async () => {
    await applyPolicy('insecure-unsigned', 'insecure/unsigned', true);
    const image = await pushImage('insecure/unsigned', false);
    const ran = await run('unsigned', image);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain(`resource Pod/${NAMESPACE}/unsigned was blocked due to the following policies`);
    expect(ran.stderr).toContain(':\n    signature not found: ');
  });

  it('cannot be read when the entry does not allow insecure registries: the Pod is denied, naming the registry', async () => {
    await applyPolicy('insecure-refused', 'insecure/refused');
    const image = await pushImage('insecure/refused');
    const [name] = image.split('@') as [string, string];
    const ran = await run('refused', `${name}:v1`);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain(`resource Pod/${NAMESPACE}/refused was blocked due to the following policies`);
    // The operator speaks plain HTTP to registries on loopback, which this one answers with a 400; were it to try
    // HTTPS, the certificate would fail the connection. Either way, a registry error naming the image.
    expect(ran.stderr).toMatch(/registry error: (BAD_RESPONSE|NETWORK): /);
    expect(ran.stderr).toContain(`${registry()}/insecure/refused:v1`);
    expect(ran.stderr).not.toContain('signature not found');
  });
});
