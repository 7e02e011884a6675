// A table of invalid policies, each applied with kubectl to the real API server: the ones the CRD schema can judge
// are refused at apply with the API server's message; the rest are accepted and compiled by the operator into
// Ready=False with the exact field and Kyverno's message (kyverno-verifyimages.md §1.4–§1.5), and none of them
// disturbs a valid policy next to them.
import { stringify } from 'yaml';
import {
  eventually,
  freePort,
  loadEnvironment,
  startOperator,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { TEST_CA as CA } from '../../pkg/policy/testdata/policies.js';
import { installCrds, readyCondition, SEED_KEY as KEY } from './support/policies.js';

type Spec = Record<string, unknown>;
type Entry = Record<string, unknown>;

/** A ClusterPolicy with one verifyImages rule; `entry` and `spec` replace parts of the seed's. */
function policy(name: string, parts: { entry?: Entry; spec?: Spec; rule?: Record<string, unknown> } = {}) {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [
        {
          name: 'check-image',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          verifyImages: [
            parts.entry ?? { imageReferences: ['*'], attestors: [{ entries: [{ keys: { publicKeys: KEY } }] }] },
          ],
          ...parts.rule,
        },
      ],
      ...parts.spec,
    },
  };
}

const at = 'spec.rules[0].verifyImages[0]';
const entry0 = `${at}.attestors[0].entries[0]`;
const withAttestor = (attestor: Entry, extra: Entry = {}): Entry => ({
  imageReferences: ['*'],
  attestors: [{ entries: [attestor] }],
  ...extra,
});
const keyless = (fields: Entry) => withAttestor({ keyless: fields });

/** Refused by the CRD schema at kubectl apply: [name, policy, what the API server says]. */
const REFUSED_AT_APPLY: [string, object, string][] = [
  [
    'timeout-99',
    policy('timeout-99', { spec: { webhookTimeoutSeconds: 99 } }),
    'spec.webhookTimeoutSeconds: Invalid value: 99: spec.webhookTimeoutSeconds in body should be less than or equal to 30',
  ],
  [
    'failure-policy-sometimes',
    policy('failure-policy-sometimes', { spec: { failurePolicy: 'Sometimes' } }),
    'spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Ignore", "Fail"',
  ],
  [
    'action-block',
    policy('action-block', { spec: { validationFailureAction: 'Block' } }),
    'spec.validationFailureAction: Unsupported value: "Block"',
  ],
  ['empty-rule-name', policy('empty-rule-name', { rule: { name: '' } }), 'spec.rules[0].name: Invalid value: ""'],
  [
    'count-zero',
    policy('count-zero', {
      entry: { imageReferences: ['*'], attestors: [{ count: 0, entries: [{ keys: { publicKeys: KEY } }] }] },
    }),
    `${at}.attestors[0].count: Invalid value: 0: ${at}.attestors[0].count in body should be greater than or equal to 1`,
  ],
  [
    'bad-type',
    policy('bad-type', { entry: { type: 'Gpg', imageReferences: ['*'] } }),
    `${at}.type: Unsupported value: "Gpg"`,
  ],
];

/** Accepted by the API server, refused by the compiler: [name, policy, reason, exact message]. */
const NOT_READY: [string, object, string, string][] = [
  [
    'broken-key',
    policy('broken-key', { entry: withAttestor({ keys: { publicKeys: KEY.replace('8nXRh950', '8nXRh95X') } }) }),
    'InvalidKey',
    `${entry0}.keys.publicKeys: invalid public key: the PEM block does not decode to a public key`,
  ],
  [
    'no-pem-block',
    policy('no-pem-block', { entry: withAttestor({ keys: { publicKeys: 'not a key' } }) }),
    'InvalidKey',
    `${entry0}.keys.publicKeys: invalid public key: no PEM block "-----BEGIN PUBLIC KEY-----" found`,
  ],
  [
    'audit-mutate',
    policy('audit-mutate', { spec: { validationFailureAction: 'Audit' } }),
    'InvalidSpec',
    `${at}.mutateDigest: mutateDigest must be set to false for \u2018Audit\u2019 failure action`,
  ],
  [
    'no-image-reference',
    policy('no-image-reference', { entry: { attestors: [{ entries: [{ keys: { publicKeys: KEY } }] }] } }),
    'InvalidSpec',
    `${at}.imageReferences: An image reference is required`,
  ],
  [
    'count-too-high',
    policy('count-too-high', {
      entry: { imageReferences: ['*'], attestors: [{ count: 2, entries: [{ keys: { publicKeys: KEY } }] }] },
    }),
    'InvalidSpec',
    `${at}.attestors[0].count: Count cannot exceed length of entries`,
  ],
  [
    'no-entries',
    policy('no-entries', { entry: { imageReferences: ['*'], attestors: [{ entries: [] }] } }),
    'InvalidSpec',
    `${at}.attestors[0].entries: An entry is required`,
  ],
  [
    'two-kinds',
    policy('two-kinds', { entry: withAttestor({ keys: { publicKeys: KEY }, certificates: { cert: CA } }) }),
    'InvalidSpec',
    `${entry0}: keys, certificates, keyless, or a nested attestor is required`,
  ],
  [
    'empty-keys',
    policy('empty-keys', { entry: withAttestor({ keys: {} }) }),
    'InvalidSpec',
    `${entry0}.keys: A public key, kms key or secret is required`,
  ],
  [
    'bad-algorithm',
    policy('bad-algorithm', { entry: withAttestor({ keys: { publicKeys: KEY, signatureAlgorithm: 'md5' } }) }),
    'InvalidSpec',
    `${entry0}.keys.signatureAlgorithm: Invalid signature algorithm provided`,
  ],
  [
    'empty-certificates',
    policy('empty-certificates', { entry: withAttestor({ certificates: {} }) }),
    'InvalidSpec',
    `${entry0}.certificates: cert or certChain required`,
  ],
  [
    'keyless-nothing',
    policy('keyless-nothing', { entry: keyless({ subject: 'a@example.com' }) }),
    'InvalidSpec',
    `${entry0}.keyless: Either Rekor URL or roots are required`,
  ],
  [
    'rekor-no-url',
    policy('rekor-no-url', { entry: keyless({ subject: 'a@example.com', roots: CA, rekor: { ignoreTlog: false } }) }),
    'InvalidSpec',
    `${entry0}.keyless.rekor.url: An URL is required`,
  ],
  [
    'notary-keyless',
    policy('notary-keyless', { entry: { ...keyless({ roots: CA }), type: 'Notary' } }),
    'InvalidSpec',
    `${entry0}.keyless: Keyless field is not allowed for type notary`,
  ],
  [
    'notary-keys',
    policy('notary-keys', { entry: { ...withAttestor({ keys: { publicKeys: KEY } }), type: 'Notary' } }),
    'InvalidSpec',
    `${entry0}.keys: Keys field is not allowed for type notary`,
  ],
  [
    'variable-reference',
    policy('variable-reference', {
      entry: withAttestor({ keys: { publicKeys: KEY } }, { imageReferences: ['{{ request.object.x }}'] }),
    }),
    'InvalidImagePattern',
    `${at}.imageReferences[0]: variables are not allowed in image reference`,
  ],
  [
    'wildcard-kind',
    policy('wildcard-kind', { rule: { match: { any: [{ resources: { kinds: ['*'] } }] } } }),
    'InvalidSpec',
    'spec.rules[0].match: wildcard policy does not support rule type',
  ],
  [
    'extractors-on-validate',
    policy('extractors-on-validate', {
      spec: {
        rules: [
          {
            name: 'v',
            match: { any: [{ resources: { kinds: ['Pod'] } }] },
            validate: { message: 'm' },
            imageExtractors: { Pod: [{ path: '/spec/x' }] },
          },
        ],
      },
    }),
    'InvalidSpec',
    "spec.rules[0].imageExtractors: Invalid rule spec for rule 'v', imageExtractors can only be defined for verifyImages rule",
  ],
  [
    'two-operations',
    policy('two-operations', { rule: { validate: { message: 'm' } } }),
    'InvalidSpec',
    "spec.rules[0]: Multiple operations defined in the rule 'check-image', only one operation (mutate,validate,generate,verifyImages) is allowed per rule",
  ],
  [
    'duplicate-rule',
    policy('duplicate-rule', {
      spec: {
        rules: [policy('x').spec.rules[0], policy('x').spec.rules[0]],
      },
    }),
    'InvalidSpec',
    'spec.rules[1].name: Duplicate value "check-image"',
  ],
  [
    'both-timeouts',
    policy('both-timeouts', { spec: { webhookTimeoutSeconds: 10, webhookConfiguration: { timeoutSeconds: 10 } } }),
    'InvalidSpec',
    'spec.webhookTimeoutSeconds: remove the deprecated field and use spec.webhookConfiguration.timeoutSeconds instead',
  ],
  [
    'both-failure-policies',
    policy('both-failure-policies', {
      spec: { failurePolicy: 'Fail', webhookConfiguration: { failurePolicy: 'Fail' } },
    }),
    'InvalidSpec',
    'spec.failurePolicy: remove the deprecated field and use spec.webhookConfiguration.failurePolicy instead',
  ],
  [
    'attestation-without-type',
    policy('attestation-without-type', { entry: { imageReferences: ['*'], attestations: [{ conditions: [] }] } }),
    'InvalidSpec',
    `${at}.attestations[0].type: missing type`,
  ],
  [
    'bad-jmespath',
    policy('bad-jmespath', {
      entry: {
        ...withAttestor({ keys: { publicKeys: KEY } }),
        attestations: [
          {
            type: 'https://example.com/CodeReview/v1',
            conditions: [{ all: [{ key: '{{ repo.[uri }}', operator: 'Equals', value: 'x' }] }],
          },
        ],
      },
    }),
    'InvalidSpec',
    `${at}.attestations[0].conditions[0].all[0].key: "{{ repo.[uri }}": invalid JMESPath expression: Syntax error`,
  ],
  [
    'bad-regexp',
    policy('bad-regexp', {
      entry: keyless({
        subjectRegExp: '(',
        roots: CA,
        rekor: { url: 'https://rekor.example' },
        ctlog: { ignoreSCT: true },
      }),
    }),
    'InvalidSpec',
    `${entry0}.keyless.subjectRegExp: invalid regular expression: Invalid regular expression: /(/: Unterminated group`,
  ],
  [
    'unknown-extension',
    policy('unknown-extension', {
      entry: keyless({
        roots: CA,
        rekor: { url: 'https://rekor.example' },
        ctlog: { ignoreSCT: true },
        additionalExtensions: { issuer: 'x' },
      }),
    }),
    'InvalidSpec',
    `${entry0}.keyless.additionalExtensions: invalid certificate extension issuer`,
  ],
  [
    'bad-rekor-key',
    policy('bad-rekor-key', {
      entry: withAttestor({ keys: { publicKeys: KEY, rekor: { url: 'https://r', pubkey: 'junk' } } }),
    }),
    'InvalidKey',
    `${entry0}.keys.rekor.pubkey: invalid public key: no PEM block "-----BEGIN PUBLIC KEY-----" found`,
  ],
  [
    'bad-roots',
    policy('bad-roots', { entry: keyless({ roots: 'junk', rekor: { url: 'https://r' } }) }),
    'InvalidKey',
    `${entry0}.keyless.roots: invalid certificate: no PEM block "-----BEGIN CERTIFICATE-----" found`,
  ],
];

/**
 * Policies that need trust material an operator started without --trusted-root does not have. (The test trust root
 * holds a timestamp authority, which makes a keyless attestor that ignores the log valid: that one is judged here.)
 */
const MISSING_TRUST: [string, object, string, string][] = [
  [
    'seed-needs-rekor',
    policy('seed-needs-rekor', { entry: { image: '*', key: KEY } }),
    'MissingTrustRoot',
    `${at}.key: signatures must be checked against the Rekor transparency log, but no Rekor public key is known: start the operator with a --trusted-root that holds the log, or write the key as attestors[].entries[].keys with rekor.pubkey or rekor.ignoreTlog`,
  ],
  [
    'keyless-needs-rekor',
    policy('keyless-needs-rekor', {
      entry: keyless({
        subject: 'a@example.com',
        roots: CA,
        rekor: { url: 'https://rekor.example', ignoreTlog: false },
      }),
    }),
    'MissingTrustRoot',
    `${entry0}.keyless.rekor: signatures must be checked against the Rekor transparency log, but no Rekor public key is known: set rekor.pubkey, set rekor.ignoreTlog: true, or start the operator with a --trusted-root that holds the log`,
  ],
  [
    'keyless-ignore-tlog',
    policy('keyless-ignore-tlog', {
      entry: keyless({
        roots: CA,
        rekor: { url: 'https://rekor.example', ignoreTlog: true },
        ctlog: { ignoreSCT: true },
      }),
    }),
    'InvalidSpec',
    `${entry0}.keyless.rekor.ignoreTlog: a signing certificate is checked at the signing time that the transparency log proves; with rekor.ignoreTlog: true there is none unless a timestamp authority is trusted: set ctlog.tsaCertChain, or start the operator with a --trusted-root that holds the timestamp authority, or keep the transparency log`,
  ],
];

let env: Environment;
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  env = loadEnvironment();
  await installCrds(env);
  operator = await startOperator(env, await freePort());
}, 300_000);

afterAll(async () => {
  await env.kubectl(['delete', 'clusterpolicy', '-l', 'imprimatur.io/e2e=invalid', '--wait=false']);
  await operator?.stop();
}, 30_000);

function ready(name: string) {
  return readyCondition(env, 'clusterpolicy', name);
}

function labelled(object: object): string {
  const o = structuredClone(object) as { metadata: Record<string, unknown> };
  o.metadata['labels'] = { 'imprimatur.io/e2e': 'invalid' };
  return stringify(o);
}

describe('an invalid policy that the CRD schema can judge', () => {
  it.each(REFUSED_AT_APPLY)(
    '(%s) is refused at kubectl apply with the field and the rule',
    async (_name, object, message) => {
      const applied = await env.kubectl(['apply', '-f', '-'], labelled(object));
      expect(applied.code).not.toBe(0);
      expect(applied.stderr).toContain(message);
    },
  );
});

describe('an invalid policy that only the compiler can judge', () => {
  beforeAll(async () => {
    // A valid neighbour, to see that invalid policies leave it alone.
    expect((await env.kubectl(['apply', '-f', '-'], labelled(policy('valid-neighbour')))).code).toBe(0);
    const all = NOT_READY.map(([, object]) => labelled(object)).join('---\n');
    const applied = await env.kubectl(['apply', '-f', '-'], all);
    expect(applied.stderr).toBe('');
  }, 60_000);

  it.each(NOT_READY)(
    '(%s) is Ready=False with its reason and the exact message',
    async (name, _object, reason, message) => {
      const condition = await eventually(() => ready(name), `${name} to get a Ready condition`);
      expect(condition).toMatchObject({ status: 'False', reason });
      expect(condition.message.startsWith(message)).toBe(true);
    },
  );

  it('leaves a valid policy beside them Ready', async () => {
    const condition = await eventually(() => ready('valid-neighbour'), 'valid-neighbour to be Ready');
    expect(condition).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });

  it('keeps every one of them out of the rule cache', async () => {
    // The operator writes its log lines at most every 100 ms: the neighbour's line may follow its status.
    const compiled = await eventually(async () => {
      const lines = operator!.logLines().filter((l) => l['message'] === 'policy compiled');
      const keys = new Set(lines.map((l) => String(l['key'])));
      return keys.has('ClusterPolicy//valid-neighbour') ? keys : undefined;
    }, 'the valid neighbour to be logged as compiled');
    for (const [name] of NOT_READY) expect(compiled.has(`ClusterPolicy//${name}`)).toBe(false);
  });
});

describe('a policy that needs trust material nobody supplied', () => {
  let bare: OperatorProcess | undefined;

  beforeAll(async () => {
    // One operator at a time writes status: the one with a trusted root steps aside for one without.
    await operator?.stop();
    operator = undefined;
    bare = await startOperator(env, await freePort(), { trustedRoot: false, name: 'operator-no-root' });
    const all = MISSING_TRUST.map(([, object]) => labelled(object)).join('---\n');
    expect((await env.kubectl(['apply', '-f', '-'], all)).stderr).toBe('');
  }, 120_000);

  afterAll(async () => {
    await bare?.stop();
  }, 30_000);

  it.each(MISSING_TRUST)(
    '(%s) is Ready=False with its reason and the remedies',
    async (name, _object, reason, message) => {
      const condition = await eventually(() => ready(name), `${name} to get a Ready condition`);
      expect(condition).toMatchObject({ status: 'False', reason });
      expect(condition.message.startsWith(message)).toBe(true);
    },
  );
});
