// The seed document's second half, end to end: kubectl, the real kube-apiserver, our webhook, and attestations that
// the real cosign CLIs (v3 and v2) attached to images in the local registries, in the legacy .att layout and as
// Sigstore bundles. The seed's attest-code-review ClusterPolicy is applied as written (its key swapped for one whose
// private half the test holds); attestations are logged in the local Rekor, which the operator trusts.
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

const TESTDATA = join(import.meta.dirname, 'testdata');
const PREDICATES = join(TESTDATA, 'predicates');
const SEED_POLICY = readFileSync(join(TESTDATA, 'attest-code-review.yaml'), 'utf8');
const SEED_KEY_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/;
const CODE_REVIEW = 'https://example.com/CodeReview/v1';
const NAMESPACE = 'attestations-e2e';

let env: Environment;
let operator: OperatorProcess | undefined;
let work: string;
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-attestations-'));
  await installCrds(env);
  for (const name of ['k1', 'k2']) {
    expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, name)])).code).toBe(0);
  }
  expect((await env.kubectl(['create', 'namespace', NAMESPACE])).code).toBe(0);
  operator = await startOperator(env, await freePort(), { name: 'operator-attestations' });
}, 300_000);

afterAll(async () => {
  await env.kubectl(['delete', 'cpol', 'attest-code-review', 'attest-types', 'attest-deny', '--ignore-not-found']);
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
  await operator?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

async function apply(policy: string, name: string): Promise<void> {
  const applied = await env.kubectl(['apply', '-f', '-'], policy);
  expect(applied.stderr).toBe('');
  await eventually(async () => {
    const ready = await readyCondition(env, 'clusterpolicy', name);
    return ready?.status === 'True' ? ready : undefined;
  }, `${name} to be Ready`);
}

/** cosign attest, logged in the local Rekor; v3 writes a bundle unless `bundle` is false. */
async function attest(
  cosign: 'cosign' | 'cosign2',
  key: string,
  image: string,
  type: string,
  predicate: string,
  bundle = true,
): Promise<void> {
  const flags =
    cosign === 'cosign2'
      ? ['--rekor-url', env.vars['REKOR_URL']!]
      : ['--use-signing-config=false', '--rekor-url', env.vars['REKOR_URL']!, `--new-bundle-format=${bundle}`];
  const attested = await tool(cosign, [
    'attest',
    ...['--key', join(work, `${key}.key`), ...flags],
    ...['--type', type, '--predicate', join(PREDICATES, predicate), image],
  ]);
  expect(attested.stderr).not.toContain('Error');
  expect(attested.code).toBe(0);
}

function run(name: string, image: string) {
  return env.kubectl(['run', name, `--image=${image}`, '--restart=Never', '-n', NAMESPACE]);
}

async function storedImage(name: string): Promise<string> {
  const got = await env.kubectl(['get', 'pod', name, '-n', NAMESPACE, '-o', 'jsonpath={.spec.containers[0].image}']);
  expect(got.code).toBe(0);
  return got.stdout.trim();
}

/** The seed's layout; a line this long is folded once, after the image, as Kyverno folds it. */
function blocked(policy: string, rule: string, name: string, image: string): string {
  return (
    `resource Pod/${NAMESPACE}/${name} was blocked due to the following policies \n\n${policy}:\n` +
    `  ${rule}: 'image verification failed for ${image}:\n    `
  );
}

describe('the seed’s attest-code-review policy, with a key the test attests with', () => {
  beforeAll(async () => {
    const key = readFileSync(join(work, 'k1.pub'), 'utf8').trim().split('\n').join('\n          ');
    await apply(SEED_POLICY.replace(SEED_KEY_BLOCK, key), 'attest-code-review');
  }, 60_000);

  afterAll(async () => {
    await env.kubectl(['delete', 'cpol', 'attest-code-review', '--ignore-not-found']);
  }, 60_000);

  it.each([
    ['olareg, cosign v3 bundle', 'REGISTRY', 'cosign', true],
    ['olareg, cosign v2 legacy .att', 'REGISTRY', 'cosign2', false],
    ['distribution, cosign v3 bundle', 'REGISTRY_NOREFERRERS', 'cosign', true],
    ['distribution, cosign v3 legacy .att', 'REGISTRY_NOREFERRERS', 'cosign', false],
  ] as const)(
    'admits a Pod whose image carries a matching code review, pinned to its digest (%s)',
    async (_name, registry, cosign, bundle) => {
      const image = await pushRandomImage(env.vars[registry]!, `attest/reviewed-${cosign}-${bundle}`);
      await attest(cosign, 'k1', image, CODE_REVIEW, 'code-review.json', bundle);
      const [name, digest] = image.split('@') as [string, string];
      const pod = `reviewed-${cosign}-${bundle ? 'bundle' : 'legacy'}-${registry === 'REGISTRY' ? 'o' : 'd'}`;
      const ran = await run(pod, `${name}:v1`);
      expect(ran.stderr).toBe('');
      expect(ran.stdout.trim()).toBe(`pod/${pod} created`);
      expect(await storedImage(pod)).toBe(`${name}:v1@${digest}`);
    },
  );

  it.each([
    ['cosign v3 bundle', 'cosign', true],
    ['cosign v2 legacy .att', 'cosign2', false],
  ] as const)(
    'denies a Pod whose review was of another branch, naming the condition that failed (%s)',
    async (_name, cosign, bundle) => {
      const image = await pushRandomImage(env.vars['REGISTRY']!, `attest/unreviewed-${cosign}`);
      await attest(cosign, 'k1', image, CODE_REVIEW, 'code-review-unreviewed-branch.json', bundle);
      const pod = `unreviewed-${bundle ? 'bundle' : 'legacy'}`;
      const ran = await run(pod, image);
      expect(ran.code).not.toBe(0);
      expect(ran.stderr).toContain(blocked('attest-code-review', 'attest', pod, image));
      // The condition that failed first, as Kyverno evaluates "all" (the reviewers are wrong too, but not reached).
      expect(ran.stderr).toContain(
        'attestation checks failed: predicate "https://example.com/CodeReview/v1": ' +
          'spec.rules[0].verifyImages[0].attestations[0].conditions[0].all[1]: ' +
          '"{{ repo.branch }}" Equals "main" is false: the key resolved to "feature/unreviewed"',
      );
    },
  );

  it('denies a Pod whose change was reviewed by no one the policy names', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY_NOREFERRERS']!, 'attest/self-reviewed');
    await attest('cosign', 'k1', image, CODE_REVIEW, 'code-review-self-reviewed.json', true);
    const ran = await run('self-reviewed', image);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain(blocked('attest-code-review', 'attest', 'self-reviewed', image));
    expect(ran.stderr).toContain(
      'spec.rules[0].verifyImages[0].attestations[0].conditions[0].all[2]: "{{ reviewers }}" In ',
    );
  });

  it('denies a Pod whose image carries no attestation: attestation not found', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'attest/none');
    const ran = await run('unattested', image);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain(blocked('attest-code-review', 'attest', 'unattested', image));
    expect(ran.stderr).toContain('attestation not found: ');
  });

  it('denies a Pod whose review was attested with another key', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY_NOREFERRERS']!, 'attest/other-key');
    await attest('cosign', 'k2', image, CODE_REVIEW, 'code-review.json', false);
    const ran = await run('other-key', image);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain('invalid attestation signature: ');
  });

  it('denies a Pod whose image was only signed: signatures are not attestations', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'attest/signed-only');
    const signed = await tool('cosign', [
      'sign',
      ...['--key', join(work, 'k1.key'), '--use-signing-config=false', '--rekor-url', env.vars['REKOR_URL']!],
      image,
    ]);
    expect(signed.code).toBe(0);
    const ran = await run('signed-only', image);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain('attestation not found: ');
  });
});

describe('a policy over the predicate types cosign attest knows', () => {
  beforeAll(async () => {
    const publicKeys = readFileSync(join(work, 'k1.pub'), 'utf8');
    const attestors = [{ entries: [{ keys: { publicKeys } }] }];
    const policy = {
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'attest-types' },
      spec: {
        validationFailureAction: 'Enforce',
        failurePolicy: 'Fail',
        webhookTimeoutSeconds: 15,
        rules: [
          {
            name: 'types',
            match: { any: [{ resources: { kinds: ['Pod'], namespaces: [NAMESPACE] } }] },
            verifyImages: [
              {
                imageReferences: [`${env.vars['REGISTRY']}/attest/types*`],
                attestations: [
                  {
                    type: 'https://slsa.dev/provenance/v1',
                    attestors,
                    conditions: [
                      {
                        all: [
                          {
                            key: '{{ runDetails.builder.id }}',
                            operator: 'Equals',
                            value: 'https://github.com/example/builder@*',
                          },
                        ],
                      },
                    ],
                  },
                  {
                    type: 'https://cyclonedx.org/bom',
                    attestors,
                    conditions: [
                      {
                        all: [
                          {
                            key: '{{ components[].licenses[].expression }}',
                            operator: 'AllNotIn',
                            value: ['GPL-3.0*', 'AGPL-*'],
                            message: 'no GPL components',
                          },
                        ],
                      },
                    ],
                  },
                  {
                    type: 'https://cosign.sigstore.dev/attestation/vuln/v1',
                    attestors,
                    conditions: [
                      {
                        all: [
                          {
                            key: "{{ time_since('', metadata.scanFinishedOn, '') }}",
                            operator: 'DurationLessThan',
                            value: '87600h',
                          },
                        ],
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
    };
    await apply(JSON.stringify(policy), 'attest-types');
  }, 60_000);

  it('admits an image with all three attestations whose conditions hold (a v3 bundle and legacy layers)', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'attest/types-ok');
    await attest('cosign', 'k1', image, 'slsaprovenance1', 'slsaprovenance1.json', true);
    await attest('cosign', 'k1', image, 'cyclonedx', 'cyclonedx.json', false);
    await attest('cosign2', 'k1', image, 'vuln', 'vuln.json');
    const ran = await run('types-ok', image);
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim()).toBe('pod/types-ok created');
  });

  it('denies one that lacks one of them, naming the type', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'attest/types-missing');
    await attest('cosign', 'k1', image, 'slsaprovenance1', 'slsaprovenance1.json', true);
    await attest('cosign', 'k1', image, 'cyclonedx', 'cyclonedx.json', true);
    const ran = await run('types-missing', image);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain('attestation not found: ');
    expect(ran.stderr).toContain('https://cosign.sigstore.dev/attestation/vuln/v1');
  });
});

describe('validate.deny across named attestations', () => {
  beforeAll(async () => {
    const publicKeys = readFileSync(join(work, 'k1.pub'), 'utf8');
    const attestors = [{ entries: [{ keys: { publicKeys } }] }];
    const policy = {
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'attest-deny' },
      spec: {
        validationFailureAction: 'Enforce',
        failurePolicy: 'Fail',
        webhookTimeoutSeconds: 15,
        rules: [
          {
            name: 'provenance-and-review',
            match: { any: [{ resources: { kinds: ['Pod'], namespaces: [NAMESPACE] } }] },
            verifyImages: [
              {
                imageReferences: [`${env.vars['REGISTRY']}/attest/deny*`],
                attestations: [
                  { name: 'provenance', type: 'https://slsa.dev/provenance/v1', attestors },
                  { name: 'review', type: CODE_REVIEW, attestors },
                ],
                validate: {
                  message: 'built from {{ provenance.buildDefinition.externalParameters.repository }}',
                  deny: {
                    conditions: {
                      any: [
                        {
                          key: '{{ provenance.buildDefinition.externalParameters.repository }}',
                          operator: 'NotEquals',
                          value: '{{ review.repo.uri }}',
                          message: 'the reviewed repository is not the one built',
                        },
                      ],
                    },
                  },
                },
              },
            ],
          },
        ],
      },
    };
    await apply(JSON.stringify(policy), 'attest-deny');
  }, 60_000);

  afterAll(async () => {
    await env.kubectl(['delete', 'cpol', 'attest-deny', '--ignore-not-found']);
  }, 60_000);

  it('admits an image whose provenance and review name the same repository', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'attest/deny-same');
    await attest('cosign', 'k1', image, 'slsaprovenance1', 'slsaprovenance1.json', true);
    await attest('cosign', 'k1', image, CODE_REVIEW, 'code-review.json', true);
    const ran = await run('deny-same', image);
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim()).toBe('pod/deny-same created');
  });

  it('denies one whose review is of another repository, with the message and the condition’s', async () => {
    const image = await pushRandomImage(env.vars['REGISTRY']!, 'attest/deny-other');
    await attest('cosign', 'k1', image, 'slsaprovenance1', 'slsaprovenance1.json', true);
    await attest('cosign', 'k1', image, CODE_REVIEW, 'code-review-other-repository.json', true);
    const ran = await run('deny-other', image);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain(
      'attestation checks failed: validation in verifyImages failed: built from https://github.com/example/my-project; ' +
        'the reviewed repository is not the one built',
    );
  });
});
