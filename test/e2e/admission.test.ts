// The seed document's scenarios, end to end: kubectl, the real kube-apiserver, our webhook, and images that the real
// cosign CLIs signed into the local registries. The seed's check-image ClusterPolicy is applied verbatim; for the
// signed scenarios its key is swapped for one whose private half the test holds (the seed's is not published), and
// signatures are logged in the local Rekor, which the operator trusts, as the seed's legacy `key` requires.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
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

const SEED_POLICY = readFileSync(join(import.meta.dirname, 'testdata', 'check-image.yaml'), 'utf8');
const SEED_KEY_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/;
const NAMESPACE = 'admission-e2e';
/** The operator's own namespace, where the seed's regcred pull Secret lives. */
const OPERATOR_NAMESPACE = 'admission-ops';

let env: Environment;
let operator: OperatorProcess | undefined;
let work: string;
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-admission-'));
  await installCrds(env);
  for (const name of ['k1', 'k2']) {
    expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, name)])).code).toBe(0);
  }
  expect((await env.kubectl(['create', 'namespace', NAMESPACE])).code).toBe(0);
  expect((await env.kubectl(['create', 'namespace', OPERATOR_NAMESPACE])).code).toBe(0);
  operator = await startOperator(env, await freePort(), {
    name: 'operator-admission',
    // As the seed shows: the operator reads a docker-registry Secret in its own namespace.
    args: ['--imagePullSecrets=regcred', `--webhook-service-namespace=${OPERATOR_NAMESPACE}`],
  });
}, 300_000);

afterAll(async () => {
  await env.kubectl(['delete', 'cpol', 'check-image', '--ignore-not-found']);
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
  await env.kubectl(['delete', 'namespace', OPERATOR_NAMESPACE, '--wait=false']);
  await operator?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

/** The seed policy, with its key replaced by `keyFile`'s when given. */
async function applySeedPolicy(keyFile?: string): Promise<void> {
  const policy = keyFile
    ? SEED_POLICY.replace(SEED_KEY_BLOCK, readFileSync(keyFile, 'utf8').trim().split('\n').join('\n          '))
    : SEED_POLICY;
  const applied = await env.kubectl(['apply', '-f', '-'], policy);
  expect(applied.stderr).toBe('');
  // Ready for the current generation: the webhook now enforces this version of it.
  await eventually(async () => {
    const ready = await readyCondition(env, 'clusterpolicy', 'check-image');
    return ready?.status === 'True' ? ready : undefined;
  }, 'check-image to be Ready');
}

async function signLogged(cosign: 'cosign' | 'cosign2', key: string, image: string, bundle: boolean) {
  const flags =
    cosign === 'cosign2'
      ? ['--rekor-url', env.vars['REKOR_URL']!]
      : ['--use-signing-config=false', '--rekor-url', env.vars['REKOR_URL']!, `--new-bundle-format=${bundle}`];
  const signed = await tool(cosign, ['sign', '--key', join(work, `${key}.key`), ...flags, image]);
  expect(signed.code).toBe(0);
}

function run(name: string, image: string) {
  return env.kubectl(['run', name, `--image=${image}`, '--restart=Never', '-n', NAMESPACE]);
}

/** The image of the Pod's first container, as stored. */
async function storedImage(name: string): Promise<string> {
  const got = await env.kubectl(['get', 'pod', name, '-n', NAMESPACE, '-o', 'jsonpath={.spec.containers[0].image}']);
  expect(got.code).toBe(0);
  return got.stdout.trim();
}

function blocked(kind: string, name: string): string {
  return `resource ${kind}/${NAMESPACE}/${name} was blocked due to the following policies \n\ncheck-image:\n  check-image: 'image verification failed for `;
}

describe('the seed’s check-image policy, verbatim', () => {
  beforeAll(() => applySeedPolicy(), 60_000);

  it('denies an unsigned image: signature not found, in the seed’s layout', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'admission/unsigned');
    const tagged = image.replace(/@sha256:.*/, ':v1');
    const ran = await run('unsigned', tagged);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain('denied the request: \n\n' + blocked('Pod', 'unsigned'));
    expect(ran.stderr).toContain(`${tagged}:\n    signature not found: `);
  });

  it('denies an image signed with another key: invalid signature', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY_NOREFERRERS']!, 'admission/other');
    await signLogged('cosign2', 'k1', image, false);
    const ran = await run('signed-other', image);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain(blocked('Pod', 'signed-other'));
    expect(ran.stderr).toContain(':\n    invalid signature: ');
  });
});

describe('the seed’s policy with a key the test signs with', () => {
  beforeAll(() => applySeedPolicy(join(work, 'k1.pub')), 60_000);

  it.each([
    ['olareg, cosign v3 bundle', 'REGISTRY', 'cosign', true],
    ['olareg, cosign v2 legacy .sig', 'REGISTRY', 'cosign2', false],
    ['distribution, cosign v3 bundle', 'REGISTRY_NOREFERRERS', 'cosign', true],
    ['distribution, cosign v3 legacy .sig', 'REGISTRY_NOREFERRERS', 'cosign', false],
  ] as const)(
    'admits a signed Pod and pins it to the verified digest (%s)',
    async (_name, registry, cosign, bundle) => {
      const image = await pushRandomImage(env.vars[registry]!, `admission/signed-${cosign}-${bundle}`);
      await signLogged(cosign, 'k1', image, bundle);
      const [name, digest] = image.split('@') as [string, string];
      const pod = `signed-${cosign}-${bundle ? 'bundle' : 'legacy'}-${registry === 'REGISTRY' ? 'o' : 'd'}`;
      const ran = await run(pod, `${name}:v1`);
      expect(ran.stderr).toBe('');
      expect(ran.stdout.trim()).toBe(`pod/${pod} created`);
      expect(await storedImage(pod)).toBe(`${name}:v1@${digest}`);
    },
  );

  it('denies a Deployment of an unsigned image through the autogen rule', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'admission/deployment');
    const created = await env.kubectl(['create', 'deployment', 'web', `--image=${image}`, '-n', NAMESPACE]);
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain(
      `resource Deployment/${NAMESPACE}/web was blocked due to the following policies \n\ncheck-image:\n  autogen-check-image: 'image verification failed for `,
    );
  });

  it('admits a Deployment of a signed image, pinned in the pod template', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'admission/deployment-signed');
    await signLogged('cosign', 'k1', image, true);
    const [name, digest] = image.split('@') as [string, string];
    const created = await env.kubectl(['create', 'deployment', 'signed', `--image=${name}:v1`, '-n', NAMESPACE]);
    expect(created.stderr).toBe('');
    const got = await env.kubectl([
      'get',
      'deployment',
      'signed',
      '-n',
      NAMESPACE,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(got.stdout.trim()).toBe(`${name}:v1@${digest}`);
  });
});

/** A ClusterPolicy for one scenario, matching Pods in the test namespace only. */
function scenarioPolicy(name: string, entry: object, spec: object = {}): string {
  return JSON.stringify({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name },
    spec: {
      validationFailureAction: 'Enforce',
      failurePolicy: 'Fail',
      webhookTimeoutSeconds: 5,
      ...spec,
      rules: [
        {
          name,
          match: { any: [{ resources: { kinds: ['Pod'], namespaces: [NAMESPACE] } }] },
          verifyImages: [entry],
        },
      ],
    },
  });
}

/** The scenario policies applied and not yet deleted. */
const applied: string[] = [];

async function applyScenario(name: string, entry: object, spec: object = {}): Promise<void> {
  applied.push(name);
  expect((await env.kubectl(['apply', '-f', '-'], scenarioPolicy(name, entry, spec))).code).toBe(0);
  await eventually(async () => {
    const ready = await readyCondition(env, 'clusterpolicy', name);
    return ready?.status === 'True' ? ready : undefined;
  }, `${name} to be Ready`);
}

function keyEntry(imageReferences: string[]): object {
  return {
    imageReferences,
    attestors: [
      { entries: [{ keys: { publicKeys: readFileSync(join(work, 'k1.pub'), 'utf8'), rekor: { ignoreTlog: true } } }] },
    ],
  };
}

describe('beyond the seed', () => {
  beforeAll(async () => {
    await env.kubectl(['delete', 'cpol', 'check-image', '--ignore-not-found']);
  });

  afterEach(async () => {
    await env.kubectl(['delete', 'cpol', ...applied.splice(0), '--ignore-not-found']);
  });

  it('admits an unsigned image in Audit, with a warning', async () => {
    await applyScenario('audit', { ...keyEntry(['*']), mutateDigest: false }, { validationFailureAction: 'Audit' });
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'admission/audit');
    const ran = await run('audited', image);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain('Warning: policy audit.audit: image verification failed for ');
    expect(ran.stderr).toContain(': signature not found: ');
    // A PolicyViolation Event on the policy and, since the Pod was admitted, one on the Pod.
    const regarding = await eventually(async () => {
      const got = await env.kubectl(['get', 'events.events.k8s.io', '-A', '-o', 'json']);
      const events = (
        JSON.parse(got.stdout) as { items: { reason: string; regarding: { kind: string; name: string } }[] }
      ).items
        .filter((e) => e.reason === 'PolicyViolation')
        .map((e) => `${e.regarding.kind}/${e.regarding.name}`);
      return events.includes('ClusterPolicy/audit') && events.includes('Pod/audited') ? events : undefined;
    }, 'PolicyViolation Events about the policy and the Pod');
    expect(regarding).toEqual(expect.arrayContaining(['ClusterPolicy/audit', 'Pod/audited']));
  });

  it('with type SigstoreBundle, reads bundles alone, as Kyverno does: a cosign v2 .sig is not found', async () => {
    const registry = env.vars['REGISTRY']!;
    await applyScenario('bundles-only', {
      ...keyEntry([`${registry}/admission/bundles-only-*`]),
      type: 'SigstoreBundle',
    });
    const bundled = await pushRandomImage(registry, 'admission/bundles-only-bundle');
    await signLogged('cosign', 'k1', bundled, true);
    const legacy = await pushRandomImage(registry, 'admission/bundles-only-legacy');
    await signLogged('cosign2', 'k1', legacy, false);
    const admitted = await run('bundles-only-bundle', bundled);
    expect(admitted.stderr).toBe('');
    expect(admitted.code).toBe(0);
    const denied = await run('bundles-only-legacy', legacy);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(blocked('Pod', 'bundles-only-legacy').replaceAll('check-image', 'bundles-only'));
    expect(denied.stderr).toContain(':\n    signature not found: ');
  });

  it.each([
    ['Fail', false],
    ['Ignore', true],
  ])('with failurePolicy %s, a registry nobody answers on is decided in time', async (failurePolicy, admitted) => {
    const port = await freePort();
    const name = `unreachable-${failurePolicy.toLowerCase()}`;
    // required and verifyDigest false, or the validating webhook would refuse the image that Ignore let through
    // unverified and unpinned, as Kyverno's does (test/e2e/validate.test.ts); this test is about the mutating
    // webhook's deadline.
    const entry = { ...keyEntry([`127.0.0.1:${port}/*`]), required: false, verifyDigest: false };
    await applyScenario(name, entry, { failurePolicy });
    const started = Date.now();
    const ran = await run(name, `127.0.0.1:${port}/team/app:v1`);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(ran.code === 0).toBe(admitted);
    expect(ran.stderr).toContain('registry error: NETWORK: 127.0.0.1:');
    expect(ran.stderr).not.toContain('ECONNREFUSED');
  });

  it('answers before the API server gives up when a registry hangs', async () => {
    const sockets = new Set<Socket>();
    const hanging = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const port = (hanging.address() as AddressInfo).port;
    try {
      await applyScenario('hanging', keyEntry([`127.0.0.1:${port}/*`]));
      const started = Date.now();
      const ran = await run('hanging', `127.0.0.1:${port}/team/app:v1`);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(ran.code).not.toBe(0);
      // Our answer, not the API server's timeout: the deny message names the policy.
      expect(ran.stderr).toContain('resource Pod/admission-e2e/hanging was blocked due to the following policies');
      expect(ran.stderr).not.toContain('context deadline exceeded');
    } finally {
      for (const s of sockets) s.destroy();
      hanging.close();
    }
  });

  it('pins the digest it verified, from its cache, after the tag has moved to an unsigned image', async () => {
    await applyScenario('moved', keyEntry([`${env.vars['REGISTRY']!}/admission/moved*`]));
    const signed = await pushRandomImage(env.vars['REGISTRY']!, 'admission/moved');
    const signature = await tool('cosign', [
      'sign',
      '--key',
      join(work, 'k1.key'),
      '--use-signing-config=false',
      '--tlog-upload=false',
      signed,
    ]);
    expect(signature.code).toBe(0);
    const [name, digest] = signed.split('@') as [string, string];
    expect((await run('moved-1', `${name}:v1`)).code).toBe(0);
    const unsigned = await pushRandomImage(env.vars['REGISTRY']!, 'admission/moved');
    expect(unsigned).not.toContain(digest);
    const ran = await run('moved-2', `${name}:v1`);
    expect(ran.stderr).toBe('');
    expect(await storedImage('moved-2')).toBe(`${name}:v1@${digest}`);
  });

  it('ignores a verify-images annotation the Pod brings with it', async () => {
    await applyScenario('forged', keyEntry(['*']));
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'admission/forged');
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'forged',
        namespace: NAMESPACE,
        annotations: {
          'kyverno.io/verify-images': JSON.stringify({ [image]: 'pass' }),
          'kyverno.io/verify-images-scoped': JSON.stringify({
            version: 1,
            policies: { '/forged': { forged: { [image]: 'pass' } } },
          }),
        },
      },
      spec: { containers: [{ name: 'c', image }] },
    };
    const created = await env.kubectl(['create', '-f', '-'], JSON.stringify(pod));
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain(':\n    signature not found: ');
  });

  it('finds signatures in a separate repository, as COSIGN_REPOSITORY writes them', async () => {
    const store = `${env.vars['REGISTRY']!}/admission/signatures`;
    await applyScenario('repository', { ...keyEntry(['*']), repository: store });
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'admission/elsewhere');
    const signed = await tool(
      'cosign',
      ['sign', '--key', join(work, 'k1.key'), '--use-signing-config=false', '--tlog-upload=false', image],
      { COSIGN_REPOSITORY: store },
    );
    expect(signed.code).toBe(0);
    const ran = await run('elsewhere', image);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
  });

  it('checks the image of an ephemeral container added with kubectl debug', async () => {
    await applyScenario('debug', keyEntry([`${env.vars['REGISTRY']!}/admission/debug*`]));
    const signed = await pushRandomImage(env.vars['REGISTRY']!, 'admission/debug');
    const signature = await tool('cosign', [
      'sign',
      '--key',
      join(work, 'k1.key'),
      '--use-signing-config=false',
      '--tlog-upload=false',
      signed,
    ]);
    expect(signature.code).toBe(0);
    expect((await run('debugged', signed)).code).toBe(0);
    const unsigned = await pushRandomImage(env.vars['REGISTRY']!, 'admission/debug-tools');
    const debugged = await env.kubectl(['debug', 'debugged', '-n', NAMESPACE, `--image=${unsigned}`, '-c', 'dbg']);
    expect(debugged.code).not.toBe(0);
    expect(debugged.stderr).toContain(`resource Pod/${NAMESPACE}/debugged was blocked due to the following policies`);
    expect(debugged.stderr).toContain(':\n    signature not found: ');
  });

  it('checks a custom kind through the rule’s imageExtractors', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.e2e.imprimatur.io' },
      spec: {
        group: 'e2e.imprimatur.io',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    expect((await env.kubectl(['apply', '-f', '-'], JSON.stringify(crd))).code).toBe(0);
    expect(
      (await env.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/widgets.e2e.imprimatur.io']))
        .code,
    ).toBe(0);
    applied.push('widgets');
    const policy = JSON.parse(scenarioPolicy('widgets', keyEntry(['*']))) as {
      spec: { rules: { match: unknown; imageExtractors?: unknown }[] };
    };
    policy.spec.rules[0]!.match = { any: [{ resources: { kinds: ['Widget'], namespaces: [NAMESPACE] } }] };
    policy.spec.rules[0]!.imageExtractors = { Widget: [{ path: '/spec/image' }] };
    expect((await env.kubectl(['apply', '-f', '-'], JSON.stringify(policy))).code).toBe(0);
    await eventually(async () => {
      const ready = await readyCondition(env, 'clusterpolicy', 'widgets');
      return ready?.status === 'True' ? ready : undefined;
    }, 'widgets to be Ready');
    const widget = (name: string, image: string) =>
      JSON.stringify({
        apiVersion: 'e2e.imprimatur.io/v1',
        kind: 'Widget',
        metadata: { name, namespace: NAMESPACE },
        spec: { image },
      });
    const unsigned = await pushRandomImage(env.vars['REGISTRY']!, 'admission/widget');
    const refused = await eventually(async () => {
      // The webhook configuration follows the policy: wait until the API server sends Widgets to us.
      const created = await env.kubectl(['create', '-f', '-'], widget(`w-${Date.now()}`, unsigned));
      if (created.code === 0) return undefined;
      return created;
    }, 'a Widget of an unsigned image to be refused');
    expect(refused.stderr).toContain('was blocked due to the following policies');
    const signed = await pushRandomImage(env.vars['REGISTRY']!, 'admission/widget-signed');
    const signature = await tool('cosign', [
      'sign',
      '--key',
      join(work, 'k1.key'),
      '--use-signing-config=false',
      '--tlog-upload=false',
      signed,
    ]);
    expect(signature.code).toBe(0);
    const [name, digest] = signed.split('@') as [string, string];
    expect((await env.kubectl(['create', '-f', '-'], widget('signed', `${name}:v1`))).code).toBe(0);
    const got = await env.kubectl(['get', 'widget', 'signed', '-n', NAMESPACE, '-o', 'jsonpath={.spec.image}']);
    expect(got.stdout.trim()).toBe(`${name}:v1@${digest}`);
  });

  it('reads a private registry with the pull Secret named by --imagePullSecrets, as the seed shows', async () => {
    const registry = env.vars['REGISTRY_BASIC']!;
    await applyScenario('private', keyEntry([`${registry}/*`]));
    const image = await pushRandomImage(registry, 'admission/private');
    const signed = await tool('cosign', [
      'sign',
      '--key',
      join(work, 'k1.key'),
      '--use-signing-config=false',
      '--tlog-upload=false',
      image,
    ]);
    expect(signed.code).toBe(0);
    // Without the Secret the registry refuses us, and failurePolicy Fail denies.
    const refused = await run('private-before', image);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('registry error: UNAUTHORIZED');
    const secret = await env.kubectl([
      'create',
      'secret',
      'docker-registry',
      'regcred',
      `--docker-server=${registry}`,
      `--docker-username=${env.vars['REGISTRY_USER']!}`,
      `--docker-password=${env.vars['REGISTRY_PASSWORD']!}`,
      '--docker-email=e2e@example.com',
      '-n',
      OPERATOR_NAMESPACE,
    ]);
    expect(secret.code).toBe(0);
    // The informer sees the new Secret without a restart.
    const admitted = await eventually(async () => {
      const ran = await run(`private-${Date.now()}`, image);
      return ran.code === 0 ? ran : undefined;
    }, 'a Pod from the private registry to be admitted');
    expect(admitted.stderr).toBe('');
  });

  it('selects namespaces by their labels, as they are now', async () => {
    applied.push('by-label');
    const policy = JSON.parse(scenarioPolicy('by-label', keyEntry(['*']))) as { spec: { rules: { match: unknown }[] } };
    policy.spec.rules[0]!.match = {
      any: [
        { resources: { kinds: ['Pod'], namespaceSelector: { matchLabels: { 'imprimatur.io/e2e-verify': 'on' } } } },
      ],
    };
    expect((await env.kubectl(['apply', '-f', '-'], JSON.stringify(policy))).code).toBe(0);
    await eventually(async () => {
      const ready = await readyCondition(env, 'clusterpolicy', 'by-label');
      return ready?.status === 'True' ? ready : undefined;
    }, 'by-label to be Ready');
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'admission/by-label');
    expect((await run('unlabelled', image)).code).toBe(0);
    expect((await env.kubectl(['label', 'namespace', NAMESPACE, 'imprimatur.io/e2e-verify=on'])).code).toBe(0);
    try {
      const refused = await eventually(async () => {
        const ran = await run(`labelled-${Date.now()}`, image);
        return ran.code === 0 ? undefined : ran;
      }, 'the label to be seen');
      expect(refused.stderr).toContain(':\n    signature not found: ');
    } finally {
      await env.kubectl(['label', 'namespace', NAMESPACE, 'imprimatur.io/e2e-verify-']);
    }
  });

  it('leaves alone a user bound to a cluster role the rule excludes', async () => {
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'imprimatur-e2e-trusted' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['create', 'get'] }],
    };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'imprimatur-e2e-trusted' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'imprimatur-e2e-trusted' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'trusted-dev' }],
    };
    expect(
      (
        await env.kubectl(
          ['apply', '-f', '-'],
          JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [role, binding] }),
        )
      ).code,
    ).toBe(0);
    try {
      applied.push('not-trusted');
      const policy = JSON.parse(scenarioPolicy('not-trusted', keyEntry(['*']))) as {
        spec: { rules: { exclude?: unknown }[] };
      };
      policy.spec.rules[0]!.exclude = { any: [{ clusterRoles: ['imprimatur-e2e-trusted'] }] };
      expect((await env.kubectl(['apply', '-f', '-'], JSON.stringify(policy))).code).toBe(0);
      await eventually(async () => {
        const ready = await readyCondition(env, 'clusterpolicy', 'not-trusted');
        return ready?.status === 'True' ? ready : undefined;
      }, 'not-trusted to be Ready');
      const image = await pushRandomImage(env.vars['REGISTRY']!, 'admission/trusted');
      const refused = await run('untrusted', image);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(':\n    signature not found: ');
      const admitted = await eventually(async () => {
        const ran = await env.kubectl([
          'run',
          `trusted-${Date.now()}`,
          `--image=${image}`,
          '--restart=Never',
          '-n',
          NAMESPACE,
          '--as=trusted-dev',
        ]);
        return ran.code === 0 ? ran : undefined;
      }, 'the binding to be seen');
      expect(admitted.stderr).toBe('');
    } finally {
      await env.kubectl(['delete', 'clusterrolebinding,clusterrole', 'imprimatur-e2e-trusted', '--ignore-not-found']);
    }
  });
});
