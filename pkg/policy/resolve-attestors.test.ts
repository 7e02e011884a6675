import { createTestLog } from '../trust/testdata/test-log.js';
import { err, ok } from '../result/index.js';
import { compile as compilePolicy } from './compile.js';
import type { CompiledImageVerification, CompiledPolicy } from './compiled-policy.js';
import { fillEntry, hasDeferredAttestors, type AttestorLookups } from './resolve-attestors.js';
import { checkImagePolicy, OTHER_KEY, SEED_KEY } from './testdata/policies.js';

const { trustRoot } = createTestLog();

function compiled(policy: unknown): CompiledPolicy {
  const result = compilePolicy(policy, { trustRoot });
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

/** The first entry of a check-image policy whose rule has these verifyImages entries and context. */
function entryOf(verifyImages: unknown[], context?: unknown[]): CompiledImageVerification {
  const policy = checkImagePolicy({ verifyImages });
  if (context) (policy.spec.rules[0] as Record<string, unknown>)['context'] = context;
  return compiled(policy).rules[0]!.verifyImages[0]!;
}

const NO_SECRETS: AttestorLookups = {
  secretPublicKey: (namespace, name) => err(`secrets "${name}" not found in namespace "${namespace}"`),
  now: Date.now,
};

const keysContext = (production: string) => ({ keys: { data: { production } } });

describe('an attestor whose key is a variable', () => {
  const entry = entryOf([
    {
      imageReferences: ['*'],
      attestors: [{ entries: [{ keys: { publicKeys: '{{ keys.data.production }}', rekor: { ignoreTlog: true } } }] }],
    },
  ]);

  it('compiles: the key is read at admission, not now', () => {
    expect(hasDeferredAttestors(entry)).toBe(true);
    expect(entry.attestors[0]!.entries[0]!.$case).toBe('deferred');
  });

  it('is filled with the key the context holds, and compiled as a static key', () => {
    const filled = fillEntry(entry, keysContext(SEED_KEY), NO_SECRETS);
    if (!filled.ok) throw new Error(filled.error.message);
    const [attestor] = filled.value.entry.attestors[0]!.entries;
    expect(attestor!.$case).toBe('key');
    expect(filled.value.entry.attestors[0]!.count).toBe(1);
    expect(filled.value.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives another fingerprint for another key, and the same for the same key', () => {
    const a = fillEntry(entry, keysContext(SEED_KEY), NO_SECRETS);
    const b = fillEntry(entry, keysContext(OTHER_KEY), NO_SECRETS);
    const again = fillEntry(entry, keysContext(SEED_KEY), NO_SECRETS);
    if (!a.ok || !b.ok || !again.ok) throw new Error('not filled');
    expect(a.value.fingerprint).not.toBe(b.value.fingerprint);
    expect(again.value.fingerprint).toBe(a.value.fingerprint);
  });

  it('parses a key once per distinct content: the same content finds the same compiled key', () => {
    const a = fillEntry(entry, keysContext(SEED_KEY), NO_SECRETS);
    const b = fillEntry(entry, keysContext(SEED_KEY), NO_SECRETS);
    if (!a.ok || !b.ok) throw new Error('not filled');
    expect(b.value.entry.attestors[0]!.entries[0]).toBe(a.value.entry.attestors[0]!.entries[0]);
  });

  it('fails naming the variable when the context does not have it', () => {
    const filled = fillEntry(entry, { keys: { data: {} } }, NO_SECRETS);
    expect(filled).toEqual(
      err({
        field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0]',
        message: expect.stringMatching(/^failed to substitute variables: .*production/),
      }),
    );
  });

  it('fails naming the field when what fills it is no key', () => {
    const filled = fillEntry(entry, keysContext('not a key'), NO_SECRETS);
    expect(filled).toEqual(
      err({
        field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.publicKeys',
        message: 'invalid public key: no PEM block "-----BEGIN PUBLIC KEY-----" found',
      }),
    );
  });

  it('fails when the variable is not a string, rather than throwing', () => {
    const filled = fillEntry(entry, { keys: { data: { production: { a: 1 } } } }, NO_SECRETS);
    expect(filled.ok).toBe(false);
  });

  it('counts every filled key when the set gives no count', () => {
    const filled = fillEntry(entry, keysContext(`${SEED_KEY}\n${OTHER_KEY}`), NO_SECRETS);
    if (!filled.ok) throw new Error(filled.error.message);
    expect(filled.value.entry.attestors[0]!.entries).toHaveLength(2);
    expect(filled.value.entry.attestors[0]!.count).toBe(2);
  });
});

describe('keys in Secrets', () => {
  const secrets = (keys: Record<string, string>): AttestorLookups => ({
    secretPublicKey: (namespace, name) => {
      const key = keys[`${namespace}/${name}`];
      return key === undefined ? err(`secrets "${name}" not found in namespace "${namespace}"`) : ok(key);
    },
    now: Date.now,
  });

  it.each([
    ['a k8s:// public key', { publicKeys: 'k8s://team/cosign', rekor: { ignoreTlog: true } }],
    ['keys.secret', { secret: { name: 'cosign', namespace: 'team' }, rekor: { ignoreTlog: true } }],
  ])('reads %s from the Secret at admission', (_name, keys) => {
    const entry = entryOf([{ imageReferences: ['*'], attestors: [{ entries: [{ keys }] }] }]);
    expect(hasDeferredAttestors(entry)).toBe(true);
    const filled = fillEntry(entry, {}, secrets({ 'team/cosign': SEED_KEY }));
    if (!filled.ok) throw new Error(filled.error.message);
    expect(filled.value.entry.attestors[0]!.entries[0]!.$case).toBe('key');
    const rotated = fillEntry(entry, {}, secrets({ 'team/cosign': OTHER_KEY }));
    if (!rotated.ok) throw new Error(rotated.error.message);
    expect(rotated.value.fingerprint).not.toBe(filled.value.fingerprint);
  });

  it('fails with the Secret that is missing', () => {
    const entry = entryOf([
      { imageReferences: ['*'], attestors: [{ entries: [{ keys: { publicKeys: 'k8s://team/gone' } }] }] },
    ]);
    expect(fillEntry(entry, {}, secrets({}))).toEqual(
      err({
        field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.publicKeys',
        message: 'secrets "gone" not found in namespace "team"',
      }),
    );
  });
});

describe('an entry whose attestors are all in the policy', () => {
  it('is not deferred, and is filled as it is, with no fingerprint', () => {
    const entry = entryOf([{ image: '*', key: SEED_KEY }]);
    expect(hasDeferredAttestors(entry)).toBe(false);
    expect(fillEntry(entry, {}, NO_SECRETS)).toEqual(ok({ entry, fingerprint: '' }));
  });
});

describe('the legacy key field with a variable', () => {
  it('is deferred and filled like an attestor', () => {
    const entry = entryOf(
      [{ image: '*', key: '{{ keys.data.production }}' }],
      [{ name: 'keys', configMap: { name: 'keys', namespace: 'default' } }],
    );
    const filled = fillEntry(entry, keysContext(SEED_KEY), NO_SECRETS);
    if (!filled.ok) throw new Error(filled.error.message);
    expect(filled.value.entry.attestors[0]!.entries[0]!.$case).toBe('key');
  });
});

describe('a key held in a KMS', () => {
  it.each([
    [
      { keys: { kms: 'awskms:///arn:aws:kms:us-east-1:1:key/abc' } },
      'spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.kms',
    ],
    [
      { keys: { publicKeys: 'gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k' } },
      'spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.publicKeys',
    ],
  ])('is refused as Unsupported, naming the field (%j)', (attestor, field) => {
    const result = compilePolicy(
      checkImagePolicy({ verifyImages: [{ imageReferences: ['*'], attestors: [{ entries: [attestor] }] }] }),
      {
        trustRoot,
      },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toContainEqual({
      reason: 'Unsupported',
      field,
      message: expect.stringContaining('not supported yet'),
    });
  });
});

describe('an entry whose signature repository is a variable', () => {
  const entry = entryOf([
    {
      imageReferences: ['*'],
      repository: 'registry.example/signatures/{{ request.namespace }}',
      attestors: [{ entries: [{ keys: { publicKeys: SEED_KEY, rekor: { ignoreTlog: true } } }] }],
    },
  ]);

  it('is filled and parsed at admission, and the repository is part of the fingerprint', () => {
    expect(hasDeferredAttestors(entry)).toBe(true);
    const a = fillEntry(entry, { request: { namespace: 'team-a' } }, NO_SECRETS);
    const b = fillEntry(entry, { request: { namespace: 'team-b' } }, NO_SECRETS);
    if (!a.ok || !b.ok) throw new Error('not filled');
    expect(a.value.entry.repository).toMatchObject({ registry: 'registry.example', repository: 'signatures/team-a' });
    expect(a.value.fingerprint).not.toBe(b.value.fingerprint);
  });

  it('fails naming the field when the filled text is no repository', () => {
    const filled = fillEntry(entry, { request: { namespace: 'Not Valid' } }, NO_SECRETS);
    expect(filled).toEqual(
      err({ field: 'spec.rules[0].verifyImages[0].repository', message: expect.stringContaining('Not Valid') }),
    );
  });
});

describe('a deferred attestor that needs trust material nobody supplied', () => {
  const withoutRoot = (verifyImages: unknown[]) => compilePolicy(checkImagePolicy({ verifyImages }));

  it('is MissingTrustRoot when the policy compiles, as a static one is', () => {
    const result = withoutRoot([
      { imageReferences: ['*'], attestors: [{ entries: [{ keys: { publicKeys: '{{ keys.data.production }}' } }] }] },
    ]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]).toMatchObject({ reason: 'MissingTrustRoot' });
    const keyless = withoutRoot([
      {
        imageReferences: ['*'],
        attestors: [
          { entries: [{ keyless: { subject: '{{ request.namespace }}@example.com', issuer: 'https://x' } }] },
        ],
      },
    ]);
    expect(keyless.ok).toBe(false);
  });

  it('compiles when the variables are what decide it, or the settings need nothing', () => {
    const ignored = withoutRoot([
      {
        imageReferences: ['*'],
        attestors: [{ entries: [{ keys: { publicKeys: '{{ keys.data.production }}', rekor: { ignoreTlog: true } } }] }],
      },
    ]);
    expect(ignored.ok).toBe(true);
    const fromContext = withoutRoot([
      {
        imageReferences: ['*'],
        attestors: [
          {
            entries: [
              { keys: { publicKeys: '{{ keys.data.production }}', rekor: { pubkey: '{{ keys.data.rekor }}' } } },
            ],
          },
        ],
      },
    ]);
    expect(fromContext.ok).toBe(true);
  });
});
