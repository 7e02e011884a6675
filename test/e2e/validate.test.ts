// The validating webhook end to end: Kyverno's verifyDigest and required, checked by /validate after /mutate, through
// the real kube-apiserver, with images the real cosign signed into the local registry. Every policy here matches Pods
// in this file's namespace only. Also the ValidatingWebhookConfiguration the operator keeps beside the mutating one:
// there while some policy needs it, gone when none does.
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

const NAMESPACE = 'validate-e2e';
const VALIDATING_CONFIGURATION = 'imprimatur-resource-validating-webhook-cfg';
const MUTATING_CONFIGURATION = 'imprimatur-resource-mutating-webhook-cfg';

let env: Environment;
let operator: OperatorProcess | undefined;
let work: string;
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-validate-'));
  await installCrds(env);
  expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, 'k1')])).code).toBe(0);
  expect((await env.kubectl(['create', 'namespace', NAMESPACE])).code).toBe(0);
  operator = await startOperator(env, await freePort(), { name: 'operator-validate' });
}, 300_000);

afterAll(async () => {
  await env.kubectl(['delete', 'cpol', ...applied.splice(0), '--ignore-not-found']);
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
  await operator?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

/** The policies applied and not yet deleted. */
const applied: string[] = [];

afterEach(async () => {
  if (applied.length > 0) await env.kubectl(['delete', 'cpol', ...applied.splice(0), '--ignore-not-found']);
});

/** A ClusterPolicy with one rule, named as the policy, of one verifyImages entry, for Pods in this namespace. */
function policy(name: string, entry: object, spec: object = {}): string {
  return JSON.stringify({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name, annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' } },
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

/**
 * Applies the policy and waits until it is Ready and, when it checks something, until the API server sends Pods to
 * the validating webhook of its failure policy.
 */
async function applyPolicy(name: string, entry: object, spec: object = {}): Promise<void> {
  if (!applied.includes(name)) applied.push(name);
  expect((await env.kubectl(['apply', '-f', '-'], policy(name, entry, spec))).code).toBe(0);
  await eventually(async () => {
    const ready = await readyCondition(env, 'clusterpolicy', name);
    return ready?.status === 'True' ? ready : undefined;
  }, `${name} to be Ready`);
  const { verifyDigest, required } = entry as { verifyDigest?: boolean; required?: boolean };
  // Both default to true; with neither, there is no validating webhook to wait for.
  if (verifyDigest === false && required === false) return;
  const webhook = `validate.imprimatur.io-${((spec as { failurePolicy?: string }).failurePolicy ?? 'Fail').toLowerCase()}`;
  await eventually(async () => {
    const names = (await validatingConfiguration())?.webhooks.map((w) => w.name) ?? [];
    return names.includes(webhook) ? names : undefined;
  }, `the validating webhook ${webhook} to be registered`);
}

interface WebhookConfiguration {
  webhooks: {
    name: string;
    failurePolicy: string;
    timeoutSeconds: number;
    clientConfig: { url: string };
    rules: { operations: string[]; resources: string[] }[];
    namespaceSelector: unknown;
  }[];
}

/** The ValidatingWebhookConfiguration, or undefined when there is none. */
async function validatingConfiguration(): Promise<WebhookConfiguration | undefined> {
  const got = await env.kubectl(['get', 'validatingwebhookconfiguration', VALIDATING_CONFIGURATION, '-o', 'json']);
  if (got.code !== 0) {
    expect(got.stderr).toContain('NotFound');
    return undefined;
  }
  return JSON.parse(got.stdout) as WebhookConfiguration;
}

function keyEntry(imageReferences: string[]): object {
  return {
    imageReferences,
    attestors: [
      { entries: [{ keys: { publicKeys: readFileSync(join(work, 'k1.pub'), 'utf8'), rekor: { ignoreTlog: true } } }] },
    ],
  };
}

async function sign(image: string): Promise<void> {
  const signed = await tool('cosign', [
    'sign',
    '--key',
    join(work, 'k1.key'),
    '--use-signing-config=false',
    '--tlog-upload=false',
    image,
  ]);
  expect(signed.code).toBe(0);
}

function run(name: string, image: string) {
  return env.kubectl(['run', name, `--image=${image}`, '--restart=Never', '-n', NAMESPACE]);
}

async function storedPod(name: string): Promise<{ image: string; annotations: Record<string, string> }> {
  const got = await env.kubectl(['get', 'pod', name, '-n', NAMESPACE, '-o', 'json']);
  expect(got.code).toBe(0);
  const pod = JSON.parse(got.stdout) as {
    metadata: { annotations?: Record<string, string> };
    spec: { containers: { image: string }[] };
  };
  return { image: pod.spec.containers[0]!.image, annotations: pod.metadata.annotations ?? {} };
}

/** What kubectl prints when the validating webhook of `failurePolicy` denies a Pod for one policy's rule. */
function deniedByValidation(pod: string, policyName: string, message: string, failurePolicy = 'fail'): string {
  return (
    `admission webhook "validate.imprimatur.io-${failurePolicy}" denied the request: \n\n` +
    `resource Pod/${NAMESPACE}/${pod} was blocked due to the following policies \n\n` +
    `${policyName}:\n  ${policyName}: '${message}'`
  );
}

describe('verifyDigest', () => {
  it('denies a Pod whose image has no digest when the mutating webhook is told not to pin it', async () => {
    const registry = env.vars['REGISTRY']!;
    await applyPolicy('no-pin', {
      ...keyEntry([`${registry}/validate/no-pin*`]),
      mutateDigest: false,
      verifyDigest: true,
      required: false,
    });
    const image = await pushRandomImage(registry, 'validate/no-pin');
    await sign(image);
    const [name] = image.split('@') as [string, string];
    // The signature verifies, so the mutating webhook admits; the validating webhook then finds no digest.
    const denied = await run('no-pin', `${name}:v1`);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(deniedByValidation('no-pin', 'no-pin', `missing digest for ${name}:v1`));
    const admitted = await run('no-pin-digest', image);
    expect(admitted.stderr).toBe('');
    expect(admitted.code).toBe(0);
  });
});

describe('required', () => {
  it('denies an image that failurePolicy Ignore let through the mutating webhook unverified', async () => {
    // Nobody answers on the port: the mutating webhook cannot verify, and under Ignore it admits, recording `fail`.
    const port = await freePort();
    await applyPolicy('unreachable', keyEntry([`127.0.0.1:${port}/*`]), { failurePolicy: 'Ignore' });
    const image = `127.0.0.1:${port}/team/app@sha256:${'a'.repeat(64)}`;
    const denied = await run('unreachable', image);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      deniedByValidation('unreachable', 'unreachable', `unverified image ${image}`, 'ignore'),
    );
  });

  it('admits it under Ignore when the entry does not require it', async () => {
    const port = await freePort();
    await applyPolicy(
      'not-required',
      { ...keyEntry([`127.0.0.1:${port}/*`]), required: false },
      {
        failurePolicy: 'Ignore',
      },
    );
    const ran = await run('not-required', `127.0.0.1:${port}/team/app@sha256:${'b'.repeat(64)}`);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain('Warning: policy not-required.not-required: ');
  });

  it('denies the images of an entry that verifies nothing, which no record can ever name', async () => {
    const registry = env.vars['REGISTRY']!;
    await applyPolicy('pin-only', { imageReferences: [`${registry}/validate/pin-only*`] });
    const image = await pushRandomImage(registry, 'validate/pin-only');
    const [name, digest] = image.split('@') as [string, string];
    // The mutating webhook pins the image; having verified nothing, it records nothing for required to find.
    const denied = await run('pin-only', `${name}:v1`);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(deniedByValidation('pin-only', 'pin-only', `unverified image ${name}@${digest}`));
    // As Kyverno's own conformance test for such an entry says, it wants required: false.
    await applyPolicy('pin-only', { imageReferences: [`${registry}/validate/pin-only*`], required: false });
    const admitted = await eventually(async () => {
      const ran = await run(`pin-only-${Date.now()}`, `${name}:v1`);
      return ran.code === 0 ? ran : undefined;
    }, 'the policy without required to be enforced');
    expect(admitted.stderr).toBe('');
    const pod = admitted.stdout
      .trim()
      .replace(/^pod\//, '')
      .replace(/ created$/, '');
    expect((await storedPod(pod)).image).toBe(`${name}:v1@${digest}`);
  });
});

describe('a signed image', () => {
  it('passes both webhooks: pinned, annotated and admitted, and so do its later changes', async () => {
    const registry = env.vars['REGISTRY']!;
    await applyPolicy('signed', keyEntry([`${registry}/validate/signed*`]));
    const image = await pushRandomImage(registry, 'validate/signed');
    await sign(image);
    const [name, digest] = image.split('@') as [string, string];
    const ran = await run('signed', `${name}:v1`);
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim()).toBe('pod/signed created');
    const pod = await storedPod('signed');
    expect(pod.image).toBe(`${name}:v1@${digest}`);
    expect(JSON.parse(pod.annotations['kyverno.io/verify-images-scoped']!)).toEqual({
      version: 1,
      policies: { '/signed': { signed: { [`${name}@${digest}`]: 'pass' } } },
    });
    // An UPDATE that keeps the image: the mutating webhook records it again from the old object, and the
    // validating webhook finds that record.
    const labelled = await env.kubectl(['label', 'pod', 'signed', '-n', NAMESPACE, 'team=web']);
    expect(labelled.stderr).toBe('');
    expect(labelled.code).toBe(0);
  });

  it('passes a Fail policy and an Ignore policy that both verify it: neither webhook erases the other’s record', async () => {
    const registry = env.vars['REGISTRY']!;
    await applyPolicy('both-fail', keyEntry([`${registry}/validate/both*`]));
    await applyPolicy('both-ignore', keyEntry([`${registry}/validate/both*`]), { failurePolicy: 'Ignore' });
    const image = await pushRandomImage(registry, 'validate/both');
    await sign(image);
    const [name, digest] = image.split('@') as [string, string];
    const ran = await run('both', `${name}:v1`);
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim()).toBe('pod/both created');
    const pod = await storedPod('both');
    expect(JSON.parse(pod.annotations['kyverno.io/verify-images-scoped']!)).toEqual({
      version: 1,
      policies: {
        '/both-fail': { 'both-fail': { [`${name}@${digest}`]: 'pass' } },
        '/both-ignore': { 'both-ignore': { [`${name}@${digest}`]: 'pass' } },
      },
    });
  });

  it('can be added with kubectl debug, though the API server drops its record before the validating webhook', async () => {
    const registry = env.vars['REGISTRY']!;
    await applyPolicy('debug', keyEntry([`${registry}/validate/debug*`]));
    const app = await pushRandomImage(registry, 'validate/debug-app');
    const tools = await pushRandomImage(registry, 'validate/debug-tools');
    await sign(app);
    await sign(tools);
    expect((await run('debugged', app)).code).toBe(0);
    const [name, digest] = tools.split('@') as [string, string];
    const debugged = await env.kubectl(['debug', 'debugged', '-n', NAMESPACE, `--image=${name}:v1`, '-c', 'dbg']);
    expect(debugged.stderr).toBe('');
    expect(debugged.code).toBe(0);
    const got = await env.kubectl([
      'get',
      'pod',
      'debugged',
      '-n',
      NAMESPACE,
      '-o',
      'jsonpath={.spec.ephemeralContainers[0].image}',
    ]);
    expect(got.stdout.trim()).toBe(`${name}:v1@${digest}`);
  });
});

describe('the ValidatingWebhookConfiguration', () => {
  it('is kept beside the mutating one while a policy needs it, updated with it, and deleted after', async () => {
    // No policy of this file is left: with none elsewhere, there is nothing for the validating webhook to check.
    await eventually(async () => ((await validatingConfiguration()) ? undefined : true), 'no validating configuration');

    // A policy whose entry checks neither verifyDigest nor required needs the mutating webhook only.
    await applyPolicy('unchecked', { ...keyEntry(['*']), verifyDigest: false, required: false });
    await eventually(async () => {
      const got = await env.kubectl(['get', 'mutatingwebhookconfiguration', MUTATING_CONFIGURATION, '-o', 'json']);
      const names = (JSON.parse(got.stdout) as WebhookConfiguration).webhooks?.map((w) => w.name) ?? [];
      return names.includes('mutate.imprimatur.io-fail') ? names : undefined;
    }, 'the mutating webhook to be registered');
    expect(await validatingConfiguration()).toBeUndefined();

    // Created for a policy that checks, with its failure policy and timeout, at /validate/<failure policy>.
    await applyPolicy('checked', keyEntry(['*']), { failurePolicy: 'Ignore', webhookTimeoutSeconds: 12 });
    const created = (await validatingConfiguration())!;
    expect(created.webhooks).toHaveLength(1);
    expect(created.webhooks[0]).toMatchObject({
      name: 'validate.imprimatur.io-ignore',
      failurePolicy: 'Ignore',
      timeoutSeconds: 12,
      rules: [{ operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers'] }],
    });
    expect(created.webhooks[0]!.clientConfig.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/validate\/ignore$/);

    // Updated when the policy changes its failure policy.
    await applyPolicy('checked', keyEntry(['*']), { failurePolicy: 'Fail', webhookTimeoutSeconds: 12 });
    const updated = await eventually(async () => {
      const config = await validatingConfiguration();
      return config?.webhooks.length === 1 && config.webhooks[0]!.failurePolicy === 'Fail' ? config : undefined;
    }, 'the validating webhook to follow the policy to Fail');
    expect(updated.webhooks[0]!.clientConfig.url).toMatch(/\/validate\/fail$/);

    // Deleted once no policy needs it, though a policy still needs the mutating webhook.
    expect((await env.kubectl(['delete', 'cpol', 'checked'])).code).toBe(0);
    applied.splice(applied.indexOf('checked'), 1);
    await eventually(
      async () => ((await validatingConfiguration()) ? undefined : true),
      'the validating configuration to be deleted',
    );
  });
});
