import { createTestLog } from '../trust/testdata/test-log.js';
import { compile as compilePolicy } from './compile.js';
import { checkImagePolicy, SEED_KEY, TEST_CA } from './testdata/policies.js';

const { trustRoot } = createTestLog();
const compile = (p: unknown) => compilePolicy(p, { trustRoot });

const at = 'spec.rules[0].verifyImages[0]';
const entry0 = `${at}.attestors[0].entries[0]`;
type Entry = Record<string, unknown>;

const keyEntry = (attestor: Entry = {}, extra: Entry = {}): Entry => ({
  imageReferences: ['*'],
  attestors: [{ entries: [{ keys: { publicKeys: SEED_KEY }, ...attestor }] }],
  ...extra,
});

/** The seed policy with one entry, and rule or spec fields added. */
function policyWith(parts: { entry?: Entry; rule?: Entry; spec?: Entry; rules?: Entry[] } = {}) {
  const policy = checkImagePolicy({ verifyImages: [parts.entry ?? keyEntry()], spec: parts.spec });
  const rules = policy.spec.rules as Entry[];
  Object.assign(rules[0]!, parts.rule);
  rules.push(...(parts.rules ?? []));
  return policy;
}

function errorsOf(policy: unknown) {
  const result = compile(policy);
  if (result.ok) throw new Error('expected the policy not to compile');
  return result.error;
}

function expectCompiles(policy: unknown) {
  const result = compile(policy);
  if (!result.ok) throw new Error(JSON.stringify(result.error));
}

describe('a verifyImages entry of type Notary', () => {
  const notary = (attestor: Entry): Entry => ({
    type: 'Notary',
    imageReferences: ['*'],
    attestors: [{ entries: [attestor] }],
  });

  it('is refused as Unsupported on its type, saying Notary is not supported yet', () => {
    expect(errorsOf(policyWith({ entry: notary({ certificates: { cert: TEST_CA } }) }))).toEqual([
      {
        reason: 'Unsupported',
        field: `${at}.type`,
        message: expect.stringMatching(/^type Notary is not supported yet: .*cosign/),
      },
    ]);
  });

  it('is refused even when the operator has no trust root for cosign signatures', () => {
    const result = compilePolicy(policyWith({ entry: notary({ certificates: { cert: TEST_CA } }) }));
    expect(!result.ok && result.error.map((e) => e.reason)).toEqual(['Unsupported']);
  });

  it("keeps Kyverno's own refusal of keys first, as InvalidSpec", () => {
    expect(errorsOf(policyWith({ entry: notary({ keys: { publicKeys: SEED_KEY } }) })).map((e) => e.field)).toEqual([
      `${entry0}.keys`,
      `${at}.type`,
    ]);
    expect(errorsOf(policyWith({ entry: notary({ keys: { publicKeys: SEED_KEY } }) }))[0]).toMatchObject({
      reason: 'InvalidSpec',
      message: 'Keys field is not allowed for type notary',
    });
  });

  it("keeps Kyverno's own refusal of keyless first, as InvalidSpec", () => {
    expect(errorsOf(policyWith({ entry: notary({ keyless: { roots: TEST_CA } }) }))[0]).toEqual({
      reason: 'InvalidSpec',
      field: `${entry0}.keyless`,
      message: 'Keyless field is not allowed for type notary',
    });
  });
});

describe('a field that is parsed but not enforced', () => {
  it.each<[string, ReturnType<typeof policyWith>, string]>([
    [
      'webhookConfiguration.matchConditions',
      policyWith({
        spec: {
          failurePolicy: undefined,
          webhookConfiguration: { matchConditions: [{ name: 'x', expression: 'true' }] },
        },
      }),
      'spec.webhookConfiguration.matchConditions',
    ],
    [
      'applyRules: One with two verifyImages rules',
      policyWith({
        spec: { applyRules: 'One' },
        rules: [{ name: 'second', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [keyEntry()] }],
      }),
      'spec.applyRules',
    ],
    [
      'preconditions',
      policyWith({
        rule: { preconditions: { all: [{ key: '{{ request.operation }}', operator: 'Equals', value: 'CREATE' }] } },
      }),
      'spec.rules[0].preconditions',
    ],
    [
      'preconditions in the legacy list form',
      policyWith({ rule: { preconditions: [{ key: 'a', operator: 'Equals', value: 'a' }] } }),
      'spec.rules[0].preconditions',
    ],
    [
      'celPreconditions',
      policyWith({ rule: { celPreconditions: [{ name: 'x', expression: 'true' }] } }),
      'spec.rules[0].celPreconditions',
    ],
    [
      'imageRegistryCredentials.providers',
      policyWith({ entry: keyEntry({}, { imageRegistryCredentials: { providers: ['amazon'] } }) }),
      `${at}.imageRegistryCredentials.providers`,
    ],
    [
      "an attestor's repository",
      policyWith({ entry: keyEntry({ repository: 'registry.example/signatures' }) }),
      `${entry0}.repository`,
    ],
    [
      "an attestation attestor's repository",
      policyWith({
        entry: {
          imageReferences: ['*'],
          attestations: [
            {
              type: 'https://example.com/CodeReview/v1',
              attestors: [{ entries: [{ keys: { publicKeys: SEED_KEY }, repository: 'registry.example/sigs' }] }],
            },
          ],
        },
      }),
      `${at}.attestations[0].attestors[0].entries[0].repository`,
    ],
    [
      "a nested attestor's repository",
      policyWith({
        entry: {
          imageReferences: ['*'],
          attestors: [
            { entries: [{ attestor: { entries: [{ keys: { publicKeys: SEED_KEY }, repository: 'r.example/s' }] } }] },
          ],
        },
      }),
      `${entry0}.attestor.entries[0].repository`,
    ],
    [
      'keys.signatureAlgorithm sha512',
      policyWith({ entry: keyEntry({ keys: { publicKeys: SEED_KEY, signatureAlgorithm: 'sha512' } }) }),
      `${entry0}.keys.signatureAlgorithm`,
    ],
    [
      "an attestor's signatureAlgorithm sha384 on a key",
      policyWith({ entry: keyEntry({ signatureAlgorithm: 'sha384' }) }),
      `${entry0}.signatureAlgorithm`,
    ],
  ])('(%s) is refused as Unsupported, naming the field and saying it is not supported yet', (_name, policy, field) => {
    expect(errorsOf(policy)).toEqual([
      { reason: 'Unsupported', field, message: expect.stringMatching(/ is not supported yet: /) },
    ]);
  });
});

describe('a legacy field that Kyverno drops as well', () => {
  it.each<[string, Entry, string]>([
    [
      'additionalExtensions',
      { additionalExtensions: { githubWorkflowRepository: 'org/repo' } },
      'additionalExtensions',
    ],
    ['subject beside key', { subject: 'someone@example.com' }, 'subject'],
    ['issuer beside key', { issuer: 'https://issuer.example' }, 'issuer'],
  ])('(%s) is refused as InvalidSpec, saying it is deliberate and why', (_name, extra, name) => {
    expect(errorsOf(policyWith({ entry: { image: '*', key: SEED_KEY, ...extra } }))).toEqual([
      {
        reason: 'InvalidSpec',
        field: `${at}.${name}`,
        message: expect.stringMatching(/would check nothing; Imprimatur refuses it on purpose: /),
      },
    ]);
  });

  it('refuses subject and roots without issuer, and annotations without key or issuer', () => {
    const entry = keyEntry({}, { subject: 'someone@example.com', roots: TEST_CA, annotations: { a: 'b' } });
    expect(errorsOf(policyWith({ entry })).map((e) => [e.reason, e.field])).toEqual([
      ['InvalidSpec', `${at}.subject`],
      ['InvalidSpec', `${at}.roots`],
      ['InvalidSpec', `${at}.annotations`],
    ]);
  });

  it('accepts the legacy fields where Kyverno converts them', () => {
    expectCompiles(policyWith({ entry: { image: '*', key: SEED_KEY, annotations: { a: 'b' } } }));
  });
});

describe('admission: false on a policy with verifyImages rules', () => {
  it("is refused with Kyverno's message", () => {
    expect(errorsOf(policyWith({ spec: { admission: false } }))).toEqual([
      {
        reason: 'InvalidSpec',
        field: 'spec.admission',
        message: 'disabling admission processing is only allowed with validation policies',
      },
    ]);
  });
});

describe('fields that are harmless without enforcement', () => {
  it('compiles a policy that sets them all', () => {
    expectCompiles(
      policyWith({
        spec: { background: true, emitWarning: true, schemaValidation: false, applyRules: 'One' },
        rule: { skipBackgroundRequests: true, reportProperties: { team: 'a' } },
        entry: keyEntry(
          { signatureAlgorithm: 'sha256', keys: { publicKeys: SEED_KEY, signatureAlgorithm: 'sha256' } },
          { cosignOCI11: true, type: 'SigstoreBundle', imageRegistryCredentials: { providers: [] } },
        ),
      }),
    );
  });

  it('leaves preconditions on a rule this operator does not run to the PolicySkipped report', () => {
    const policy = policyWith({
      rules: [
        {
          name: 'other',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          validate: {},
          preconditions: { all: [{ key: 'a', operator: 'Equals', value: 'a' }] },
        },
      ],
    });
    const result = compile(policy);
    expect(result.ok && result.value.unenforcedRules).toEqual(['validate rule "other"']);
  });
});
