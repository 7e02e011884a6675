// kyverno.io/v2beta1, end to end: the CRDs serve ClusterPolicy in v2beta1 beside v1, as Kyverno's do. A v2beta1
// policy applied with kubectl is stored as v1, read by the operator as v1, enforced at admission, and shown by
// kubectl get either way; v2beta1 refuses the deprecated fields Kyverno's v2beta1 drops. And a policy that asks for
// something Imprimatur does not verify (type: Notary) is Ready=False with reason Unsupported, never Ready=True.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { TEST_CA } from '../../pkg/policy/testdata/policies.js';

const NAMESPACE = 'api-versions-e2e';
const LABEL = 'imprimatur.io/e2e=api-versions';

let env: Environment;
let operator: OperatorProcess | undefined;
let work: string;
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-api-versions-'));
  await installCrds(env);
  expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, 'k1')])).code).toBe(0);
  expect((await env.kubectl(['create', 'namespace', NAMESPACE])).code).toBe(0);
  operator = await startOperator(env, await freePort(), { name: 'operator-api-versions' });
}, 300_000);

afterAll(async () => {
  await env.kubectl(['delete', 'clusterpolicy', '-l', LABEL, '--ignore-not-found']);
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
  await operator?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

/** A kyverno.io/v2beta1 ClusterPolicy with one verifyImages entry, written as Kyverno's v2beta1 samples are. */
function v2beta1Policy(name: string, entry: Record<string, unknown>) {
  return stringify({
    apiVersion: 'kyverno.io/v2beta1',
    kind: 'ClusterPolicy',
    metadata: { name, labels: { 'imprimatur.io/e2e': 'api-versions' } },
    spec: {
      validationFailureAction: 'Enforce',
      background: false,
      failurePolicy: 'Fail',
      webhookTimeoutSeconds: 30,
      rules: [
        {
          name: 'check-image',
          match: { any: [{ resources: { kinds: ['Pod'], namespaces: [NAMESPACE] } }] },
          verifyImages: [entry],
        },
      ],
    },
  });
}

function run(name: string, image: string) {
  return env.kubectl(['run', name, `--image=${image}`, '--restart=Never', '-n', NAMESPACE]);
}

describe('a kyverno.io/v2beta1 ClusterPolicy', () => {
  const images = () => `${env.vars['REGISTRY']!}/api-versions/*`;

  beforeAll(async () => {
    const entry = {
      imageReferences: [images()],
      attestors: [{ entries: [{ keys: { publicKeys: readFileSync(join(work, 'k1.pub'), 'utf8') } }] }],
    };
    const applied = await env.kubectl(['apply', '-f', '-'], v2beta1Policy('v2beta1-keys', entry));
    expect(applied.stderr).toBe('');
    expect(applied.stdout.trim()).toBe('clusterpolicy.kyverno.io/v2beta1-keys created');
  }, 60_000);

  it('becomes Ready', async () => {
    const ready = await eventually(() => readyCondition(env, 'clusterpolicy', 'v2beta1-keys'), 'a Ready condition');
    expect(ready).toMatchObject({ status: 'True', reason: 'Succeeded', message: 'Ready' });
  });

  it('is served in v2beta1 as written, and in v1', async () => {
    for (const version of ['v2beta1', 'v1']) {
      const got = await env.kubectl(['get', `clusterpolicies.${version}.kyverno.io`, 'v2beta1-keys', '-o', 'json']);
      expect(got.code).toBe(0);
      const object = JSON.parse(got.stdout) as { apiVersion: string; spec: { rules: { verifyImages: unknown[] }[] } };
      expect(object.apiVersion).toBe(`kyverno.io/${version}`);
      expect(object.spec.rules[0]!.verifyImages[0]).toMatchObject({ imageReferences: [images()], mutateDigest: true });
    }
  });

  it('is listed by kubectl get cpol, with the same columns in either version', async () => {
    await eventually(() => readyCondition(env, 'clusterpolicy', 'v2beta1-keys'), 'a Ready condition');
    const listed = await env.kubectl(['get', 'cpol', 'v2beta1-keys']);
    expect(listed.code).toBe(0);
    const [header, row] = listed.stdout.trim().split('\n') as [string, string];
    expect(header.split(/\s+/)).toEqual(['NAME', 'READY', 'FAILURE', 'POLICY', 'VERIFY', 'IMAGES', 'MESSAGE', 'AGE']);
    expect(row.split(/\s+/).slice(0, 5)).toEqual(['v2beta1-keys', 'True', 'Fail', '1', 'Ready']);
    const inV2beta1 = await env.kubectl(['get', 'clusterpolicies.v2beta1.kyverno.io', 'v2beta1-keys']);
    expect(inV2beta1.stdout.trim().split('\n')[0]).toBe(header);
  });

  it('denies an unsigned image', async () => {
    await eventually(() => readyCondition(env, 'clusterpolicy', 'v2beta1-keys'), 'a Ready condition');
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'api-versions/unsigned');
    const ran = await run('unsigned', image);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain('v2beta1-keys:\n  check-image: ');
    expect(ran.stderr).toContain('signature not found');
  });

  it('admits an image signed with its key, pinned to the verified digest', async () => {
    await eventually(() => readyCondition(env, 'clusterpolicy', 'v2beta1-keys'), 'a Ready condition');
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'api-versions/signed');
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
    const ran = await run('signed', `${name}:v1`);
    expect(ran.stderr).toBe('');
    const stored = await env.kubectl([
      'get',
      'pod',
      'signed',
      '-n',
      NAMESPACE,
      '-o',
      'jsonpath={.spec.containers[0].image}',
    ]);
    expect(stored.stdout.trim()).toBe(`${name}:v1@${digest}`);
  });

  it('is documented by kubectl explain in v2beta1, without the fields v2beta1 drops', async () => {
    const explain = (version: string) =>
      env.kubectl(['explain', 'clusterpolicy.spec.rules.verifyImages', `--api-version=kyverno.io/${version}`]);
    const [v1, v2beta1] = await Promise.all([explain('v1'), explain('v2beta1')]);
    expect(v2beta1.code).toBe(0);
    expect(v2beta1.stdout).toContain('VERSION:    v2beta1');
    expect(v2beta1.stdout).toMatch(/^ {2}imageReferences\t<\[\]string>/m);
    expect(v1.stdout).toMatch(/^ {2}key\t<string>/m);
    expect(v2beta1.stdout).not.toMatch(/^ {2}key\t/m);
  });
});

describe('a kyverno.io/v2beta1 ClusterPolicy with a field only v1 has', () => {
  it('is refused at kubectl apply, as Kyverno refuses it', async () => {
    const applied = await env.kubectl(
      ['apply', '-f', '-'],
      v2beta1Policy('v2beta1-legacy-key', { image: '*', key: readFileSync(join(work, 'k1.pub'), 'utf8') }),
    );
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toContain('unknown field "spec.rules[0].verifyImages[0].image"');
    expect(applied.stderr).toContain('unknown field "spec.rules[0].verifyImages[0].key"');
  });
});

describe('a Notary policy', () => {
  const MESSAGE =
    'spec.rules[0].verifyImages[0].type: type Notary is not supported yet: Imprimatur verifies cosign and ' +
    'Sigstore signatures only, so this entry would check nothing; sign the images with cosign and use type Cosign';

  beforeAll(async () => {
    const entry = {
      type: 'Notary',
      imageReferences: ['*'],
      attestors: [{ entries: [{ certificates: { cert: TEST_CA } }] }],
    };
    const applied = await env.kubectl(['apply', '-f', '-'], v2beta1Policy('notary', entry));
    expect(applied.stderr).toBe('');
  }, 60_000);

  it('is Ready=False with reason Unsupported and a message naming the field', async () => {
    const ready = await eventually(() => readyCondition(env, 'clusterpolicy', 'notary'), 'a Ready condition');
    expect(ready).toEqual(expect.objectContaining({ status: 'False', reason: 'Unsupported', message: MESSAGE }));
  });

  it('says so in kubectl describe, in its condition and its Warning Event', async () => {
    const described = await eventually(async () => {
      const got = await env.kubectl(['describe', 'cpol', 'notary']);
      return got.stdout.includes('PolicyError') ? got.stdout : undefined;
    }, 'a PolicyError Event');
    expect(described).toMatch(/Reason:\s+Unsupported/);
    expect(described).toMatch(
      /Warning\s+PolicyError\s+.*Unsupported: spec\.rules\[0\]\.verifyImages\[0\]\.type: type Notary/,
    );
  });

  it('is listed as not Ready by kubectl get cpol', async () => {
    await eventually(() => readyCondition(env, 'clusterpolicy', 'notary'), 'a Ready condition');
    const listed = await env.kubectl(['get', 'cpol', 'notary', '--no-headers']);
    expect(listed.stdout.trim().split(/\s+/).slice(0, 2)).toEqual(['notary', 'False']);
  });
});
