// End to end through the real kube-apiserver: CRDs installed with kubectl, the operator and webhook from the
// built CLI, policies applied with kubectl and their status read back, pods admitted through our webhook.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  eventually,
  freePort,
  ROOT,
  loadEnvironment,
  startOperator,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, readyCondition as readyConditionOf } from './support/policies.js';

const SEED_POLICY = readFileSync(join(import.meta.dirname, 'testdata', 'check-image.yaml'), 'utf8');

let env: Environment;
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  env = loadEnvironment();
  await installCrds(env);
  operator = await startOperator(env, await freePort());
}, 300_000);

afterAll(async () => {
  await operator?.stop();
}, 30_000);

function readyCondition(kind: string, name: string, namespace?: string) {
  return readyConditionOf(env, kind, name, namespace);
}

describe('the operator started by bin/imprimatur', () => {
  it('collects start-up garbage once both warm-ups are done, before it says ready', async () => {
    // Log lines reach the file through a pipe, a moment after they are written.
    const lines = await eventually(async () => {
      const all = operator!.logLines();
      return all.some((l) => l['message'] === 'heap collected before ready') ? all : undefined;
    }, 'the heap collection to be logged');
    const at = (message: string) => lines.findIndex((l) => l['message'] === message);
    const collected = lines.filter((l) => l['message'] === 'heap collected before ready');
    expect(collected).toHaveLength(1);
    expect(collected[0]).toMatchObject({ ms: expect.any(Number), heapUsedAfterMiB: expect.any(Number) });
    expect(at('heap collected before ready')).toBeGreaterThan(at('admission path warmed up'));
    expect(at('heap collected before ready')).toBeGreaterThan(at('rule cache warm'));
    expect(at('admission path warmed up')).toBeGreaterThanOrEqual(0);
    expect(at('rule cache warm')).toBeGreaterThanOrEqual(0);
  });
});

describe('the CRDs', () => {
  it('document verifyImages fields for kubectl explain', async () => {
    const explained = await env.kubectl(['explain', 'clusterpolicy.spec.rules.verifyImages']);
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain('imageReferences');
    expect(explained.stdout).toContain('Image patterns this entry applies to');
  });

  it('answer to the short names cpol and pol', async () => {
    expect((await env.kubectl(['get', 'cpol'])).code).toBe(0);
    expect((await env.kubectl(['get', 'pol', '-A'])).code).toBe(0);
  });
});

describe('the seed check-image ClusterPolicy', () => {
  beforeAll(async () => {
    const applied = await env.kubectl(['apply', '-f', '-'], SEED_POLICY);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toContain('clusterpolicy.kyverno.io/check-image created');
  });

  it('becomes Ready=True with reason Succeeded', async () => {
    const ready = await eventually(() => readyCondition('clusterpolicy', 'check-image'), 'check-image to be Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });

  it('shows READY True in kubectl get', async () => {
    const got = await env.kubectl(['get', 'cpol', 'check-image']);
    expect(got.stdout).toMatch(/^NAME\s+READY\s+FAILURE POLICY\s+VERIFY IMAGES\s+MESSAGE\s+AGE/m);
    expect(got.stdout).toMatch(/^check-image\s+.*\sTrue\s/m);
  });

  it('is enforced by a webhook the operator registered', async () => {
    const got = await env.kubectl([
      'get',
      'mutatingwebhookconfiguration',
      'imprimatur-resource-mutating-webhook-cfg',
      '-o',
      'json',
    ]);
    expect(got.code).toBe(0);
    const config = JSON.parse(got.stdout) as {
      webhooks: { clientConfig: { url: string; caBundle: string }; failurePolicy: string; timeoutSeconds: number }[];
    };
    const [webhook] = config.webhooks;
    expect(webhook!.clientConfig.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/mutate\/fail$/);
    expect(Buffer.from(webhook!.clientConfig.caBundle, 'base64').toString()).toContain('BEGIN CERTIFICATE');
    // The policy asks for Fail and 30 seconds; the registration follows it.
    expect(webhook).toMatchObject({ failurePolicy: 'Fail', timeoutSeconds: 30 });
  });

  it('sends kubectl run through our webhook, which cannot verify an image whose registry does not exist', async () => {
    const ran = await env.kubectl(['run', 'signed', '--image=registry.example/app:v1', '--restart=Never']);
    // The seed policy's failurePolicy is Fail: an image that cannot be checked is not admitted.
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain('resource Pod/default/signed was blocked due to the following policies');
    expect(ran.stderr).toContain("check-image: 'image verification failed for registry.example/app:v1:");
  });
});

describe('invalid policies', () => {
  it('rejects webhookTimeoutSeconds: 99 at kubectl apply, naming the field', async () => {
    const policy = SEED_POLICY.replace('name: check-image\nspec:', 'name: slow-timeout\nspec:').replace(
      'webhookTimeoutSeconds: 30',
      'webhookTimeoutSeconds: 99',
    );
    const applied = await env.kubectl(['apply', '-f', '-'], policy);
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toContain('spec.webhookTimeoutSeconds');
    expect(applied.stderr).toContain('should be less than or equal to 30');
  });

  it('reports a broken PEM key through Ready=False, naming the field', async () => {
    const policy = SEED_POLICY.replace('name: check-image\nspec:', 'name: broken-key\nspec:').replace(
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM',
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfX',
    );
    const applied = await env.kubectl(['apply', '-f', '-'], policy);
    expect(applied.code).toBe(0);
    const ready = await eventually(
      () => readyCondition('clusterpolicy', 'broken-key'),
      'broken-key to get a Ready condition',
    );
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidKey' });
    expect(ready.message).toMatch(/^spec\.rules\[0\]\.verifyImages\[0\]\.key: invalid public key/);
  });

  it('reports Audit with the default mutateDigest through Ready=False', async () => {
    const policy = SEED_POLICY.replace('name: check-image\nspec:', 'name: audit-mutate\nspec:').replace(
      'validationFailureAction: enforce',
      'validationFailureAction: Audit',
    );
    expect((await env.kubectl(['apply', '-f', '-'], policy)).code).toBe(0);
    const ready = await eventually(
      () => readyCondition('clusterpolicy', 'audit-mutate'),
      'audit-mutate to get a Ready condition',
    );
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(ready.message).toBe(
      'spec.rules[0].verifyImages[0].mutateDigest: mutateDigest must be set to false for \u2018Audit\u2019 failure action',
    );
  });

  it('becomes Ready once fixed, and leaves other policies alone', async () => {
    const fixed = SEED_POLICY.replace('name: check-image\nspec:', 'name: broken-key\nspec:');
    expect((await env.kubectl(['apply', '-f', '-'], fixed)).code).toBe(0);
    const ready = await eventually(async () => {
      const c = await readyCondition('clusterpolicy', 'broken-key');
      return c?.status === 'True' ? c : undefined;
    }, 'broken-key to become Ready after the fix');
    expect(ready.reason).toBe('Succeeded');
    expect(await readyCondition('clusterpolicy', 'check-image')).toMatchObject({ status: 'True' });
  });
});

describe('a policy that mixes verifyImages with other rule types', () => {
  const MIXED = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: mixed
spec:
  validationFailureAction: Enforce
  rules:
    - name: require-team-label
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        message: "label team is required"
        pattern:
          metadata:
            labels:
              team: "?*"
    - name: add-default-label
      match:
        any:
          - resources:
              kinds: [Pod]
      mutate:
        patchStrategicMerge:
          metadata:
            labels:
              +(managed): "yes"
    - name: verify
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: ["ghcr.io/example/*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
                      -----BEGIN PUBLIC KEY-----
                      MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM
                      5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==
                      -----END PUBLIC KEY-----
`;

  it('is accepted with the bodies of the other rules kept, and becomes Ready', async () => {
    const applied = await env.kubectl(['apply', '-f', '-'], MIXED);
    expect(applied.stderr).toBe('');
    const got = JSON.parse((await env.kubectl(['get', 'cpol', 'mixed', '-o', 'json'])).stdout) as {
      spec: { rules: Record<string, unknown>[] };
    };
    expect(got.spec.rules[0]!['validate']).toEqual({
      message: 'label team is required',
      pattern: { metadata: { labels: { team: '?*' } } },
    });
    expect(got.spec.rules[1]!['mutate']).toEqual({
      patchStrategicMerge: { metadata: { labels: { '+(managed)': 'yes' } } },
    });
    const ready = await eventually(() => readyCondition('clusterpolicy', 'mixed'), 'mixed to be Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'Succeeded' });
    const counted = JSON.parse((await env.kubectl(['get', 'cpol', 'mixed', '-o', 'json'])).stdout) as {
      status: { rulecount: Record<string, number> };
    };
    expect(counted.status.rulecount).toEqual({ validate: 1, mutate: 1, generate: 0, verifyimages: 1 });
    expect((await env.kubectl(['delete', 'cpol', 'mixed'])).code).toBe(0);
  });
});

describe('a namespaced Policy', () => {
  it('becomes Ready too', async () => {
    const policy = SEED_POLICY.replace('kind: ClusterPolicy', 'kind: Policy').replace(
      'name: check-image\nspec:',
      'name: ns-check\n  namespace: default\nspec:',
    );
    expect((await env.kubectl(['apply', '-f', '-'], policy)).code).toBe(0);
    const ready = await eventually(() => readyCondition('policy', 'ns-check', 'default'), 'ns-check to be Ready');
    expect(ready).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });
});

describe('a deleted policy', () => {
  it('leaves the rule cache and the webhook configuration: Pods are no longer sent to the webhook', async () => {
    expect((await env.kubectl(['delete', 'cpol', 'check-image', 'broken-key'])).code).toBe(0);
    expect((await env.kubectl(['delete', 'pol', 'ns-check', '-n', 'default'])).code).toBe(0);
    const webhooks = await eventually(async () => {
      const got = await env.kubectl([
        'get',
        'mutatingwebhookconfiguration',
        'imprimatur-resource-mutating-webhook-cfg',
        '-o',
        'json',
      ]);
      const config = JSON.parse(got.stdout) as { webhooks?: unknown[] };
      return (config.webhooks ?? []).length === 0 ? [] : undefined;
    }, 'the webhook configuration to have no webhooks');
    expect(webhooks).toEqual([]);
    const ran = await env.kubectl(['run', 'after-delete', '--image=registry.example/app:v1', '--restart=Never']);
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim()).toBe('pod/after-delete created');
  });
});

describe('config/default', () => {
  it('applies with kubectl apply -k --dry-run=server', async () => {
    // A server dry run does not persist the Namespace it would create, so the objects inside it need it to exist.
    expect((await env.kubectl(['create', 'namespace', 'imprimatur-system'])).code).toBe(0);
    const applied = await env.kubectl(['apply', '-k', join(ROOT, 'config', 'default'), '--dry-run=server']);
    expect(applied.code).toBe(0);
    // Only warnings: the CRDs were installed with server-side apply and have no last-applied annotation.
    expect(applied.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('Warning:'))).toEqual([]);
    expect(applied.stdout).toContain('deployment.apps/imprimatur-controller-manager created (server dry run)');
    expect(applied.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/clusterpolicies.kyverno.io');
  });
});
