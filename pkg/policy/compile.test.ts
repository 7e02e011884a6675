import { createTestLog } from '../trust/testdata/test-log.js';
import { compile as compilePolicy } from './compile.js';
import { compileKeyAttestors } from './key-policy.js';
import { parseImageRef } from '../imageref/index.js';
import { checkImagePolicy, OTHER_KEY, SEED_KEY, TEST_CA } from './testdata/policies.js';

/** The seed policy's legacy key requires the transparency log: compile against a trust root that holds one. */
const { trustRoot } = createTestLog();
const compile = (p: unknown) => compilePolicy(p, { trustRoot });

function errorsOf(policy: unknown) {
  const result = compile(policy);
  if (result.ok) throw new Error('expected the policy not to compile');
  return result.error;
}

describe('compile', () => {
  describe('when given the seed check-image policy', () => {
    const result = compile(checkImagePolicy());

    it('compiles it with the legacy key turned into one key attestor', () => {
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const policy = result.value;
      expect(policy.key).toBe('ClusterPolicy//check-image');
      expect(policy).toMatchObject({
        uid: 'u-1',
        generation: 3,
        resourceVersion: '42',
        failurePolicy: 'Fail',
        timeoutSeconds: 30,
      });
      const entry = policy.rules[0]!.verifyImages[0]!;
      expect(entry.failureAction).toBe('Enforce');
      expect(entry.mutateDigest && entry.verifyDigest && entry.required && entry.useCache).toBe(true);
      expect(entry.attestors).toHaveLength(1);
      const attestor = entry.attestors[0]!.entries[0]!;
      expect(attestor.$case).toBe('key');
      if (attestor.$case === 'key') expect(attestor.key.asymmetricKeyType).toBe('ec');
      expect(entry.attestors[0]!.count).toBe(1);
    });

    it('compiles the image pattern so that * matches any image', () => {
      if (!result.ok) throw new Error('not compiled');
      const [pattern] = result.value.rules[0]!.verifyImages[0]!.imageReferences;
      expect(pattern!.matches({ registry: 'ghcr.io', repository: 'org/app', tag: 'v1' })).toBe(true);
    });

    it('matches an image however it is spelled: host case, :443, library/, a tag beside the digest', () => {
      const policy = checkImagePolicy({
        verifyImages: [
          { imageReferences: ['ghcr.io/acme/*', 'docker.io/nginx*', 'ghcr.io/team/app:v1'], key: SEED_KEY },
        ],
      });
      const compiled = compile(policy);
      if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
      const patterns = compiled.value.rules[0]!.verifyImages[0]!.imageReferences;
      const matched = (image: string) => {
        const ref = parseImageRef(image);
        if (!ref.ok) throw new Error(ref.error);
        return patterns.some((p) => p.matches(ref.value));
      };
      expect(matched('GHCR.IO/acme/app:v1')).toBe(true);
      expect(matched('ghcr.io:443/acme/app:v1')).toBe(true);
      expect(matched('docker.io/library/nginx:1.27')).toBe(true);
      expect(matched(`ghcr.io/team/app:v1@sha256:${'a'.repeat(64)}`)).toBe(true);
      expect(matched('ghcr.io:4443/acme/app:v1')).toBe(false);
    });

    it('counts one verifyImages rule', () => {
      expect(result.ok && result.value.ruleCount).toEqual({ validate: 0, mutate: 0, generate: 0, verifyimages: 1 });
    });
  });

  describe('when match names kinds with group and version', () => {
    it('keeps the bare kind names, for a set lookup at admission', () => {
      const policy = checkImagePolicy();
      (policy.spec.rules[0] as Record<string, unknown>)['match'] = {
        any: [{ resources: { kinds: ['v1/Pod', 'apps/v1/Deployment'] } }],
      };
      const result = compile(policy);
      expect(result.ok && [...result.value.rules[0]!.kinds]).toEqual(['Pod', 'Deployment']);
    });
  });

  describe('when the public key is not valid PEM', () => {
    it('fails with InvalidKey on the key field', () => {
      const broken = SEED_KEY.replace('MFkwEwYH', 'MFkwEwYX');
      const [error] = errorsOf(checkImagePolicy({ verifyImages: [{ image: '*', key: broken }] }));
      expect(error).toMatchObject({ reason: 'InvalidKey', field: 'spec.rules[0].verifyImages[0].key' });
      expect(error!.message).toMatch(/^invalid public key: /);
    });

    it('fails when the text has no PEM block at all', () => {
      const [error] = errorsOf(checkImagePolicy({ verifyImages: [{ image: '*', key: 'not a key' }] }));
      expect(error!.message).toBe('invalid public key: no PEM block "-----BEGIN PUBLIC KEY-----" found');
    });
  });

  describe('when publicKeys holds several PEM blocks', () => {
    it('expands them into one attestor each and requires all by default', () => {
      const result = compile(
        checkImagePolicy({
          verifyImages: [
            {
              imageReferences: ['ghcr.io/*'],
              attestors: [{ entries: [{ keys: { publicKeys: `${SEED_KEY}\n${OTHER_KEY}` } }] }],
            },
          ],
        }),
      );
      expect(result.ok).toBe(true);
      if (result.ok)
        expect(result.value.rules[0]!.verifyImages[0]!.attestors[0]).toMatchObject({
          count: 2,
          entries: [{ $case: 'key' }, { $case: 'key' }],
        });
    });
  });

  describe('when webhookTimeoutSeconds is out of range', () => {
    it('names the field and gives Kyverno’s message', () => {
      const errors = errorsOf(checkImagePolicy({ spec: { webhookTimeoutSeconds: 99 } }));
      expect(errors[0]).toMatchObject({ reason: 'InvalidSpec', field: 'spec.webhookTimeoutSeconds' });
    });
  });

  describe('when an entry allows insecure registries', () => {
    it('says so on the compiled entry, which otherwise does not', () => {
      const entry = (imageRegistryCredentials?: object) => {
        const compiled = compile(
          checkImagePolicy({
            verifyImages: [
              {
                imageReferences: ['*'],
                key: SEED_KEY,
                ...(imageRegistryCredentials ? { imageRegistryCredentials } : {}),
              },
            ],
          }),
        );
        if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
        return compiled.value.rules[0]!.verifyImages[0]!;
      };
      expect(entry({ allowInsecureRegistry: true, secrets: ['regcred'] })).toMatchObject({
        allowInsecureRegistry: true,
        registrySecrets: ['regcred'],
      });
      expect(entry({ allowInsecureRegistry: false }).allowInsecureRegistry).toBe(false);
      expect(entry({ secrets: ['regcred'] }).allowInsecureRegistry).toBe(false);
      expect(entry().allowInsecureRegistry).toBe(false);
    });
  });

  describe('when the failure action is Audit and mutateDigest is left at its default', () => {
    it('rejects the entry as Kyverno does', () => {
      const errors = errorsOf(checkImagePolicy({ spec: { validationFailureAction: 'Audit' } }));
      expect(errors).toContainEqual({
        reason: 'InvalidSpec',
        field: 'spec.rules[0].verifyImages[0].mutateDigest',
        message: 'mutateDigest must be set to false for \u2018Audit\u2019 failure action',
      });
    });
  });

  describe('when an entry has no image reference', () => {
    it('says an image reference is required', () => {
      const errors = errorsOf(checkImagePolicy({ verifyImages: [{ key: SEED_KEY }] }));
      expect(errors).toContainEqual({
        reason: 'InvalidSpec',
        field: 'spec.rules[0].verifyImages[0].imageReferences',
        message: 'An image reference is required',
      });
    });
  });

  describe('when an attestor set asks for more entries than it has', () => {
    it('says the count cannot exceed the entries', () => {
      const errors = errorsOf(
        checkImagePolicy({
          verifyImages: [
            { imageReferences: ['*'], attestors: [{ count: 2, entries: [{ keys: { publicKeys: SEED_KEY } }] }] },
          ],
        }),
      );
      expect(errors).toContainEqual({
        reason: 'InvalidSpec',
        field: 'spec.rules[0].verifyImages[0].attestors[0].count',
        message: 'Count cannot exceed length of entries',
      });
    });
  });

  describe('when an attestor names two kinds of verification', () => {
    it('asks for exactly one', () => {
      const errors = errorsOf(
        checkImagePolicy({
          verifyImages: [
            {
              imageReferences: ['*'],
              attestors: [{ entries: [{ keys: { publicKeys: SEED_KEY }, keyless: { roots: 'x' } }] }],
            },
          ],
        }),
      );
      expect(errors[0]).toMatchObject({
        field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0]',
        message: 'keys, certificates, keyless, or a nested attestor is required',
      });
    });
  });

  describe('when the object does not match the schema', () => {
    it('reports InvalidSpec with the path of the wrong field', () => {
      const policy = checkImagePolicy();
      (policy.spec.rules[0] as Record<string, unknown>)['verifyImages'] = [
        { image: '*', key: SEED_KEY, mutateDigest: 'yes' },
      ];
      const errors = errorsOf(policy);
      expect(errors[0]).toMatchObject({ reason: 'InvalidSpec', field: 'spec.rules[0].verifyImages[0].mutateDigest' });
    });
  });

  describe('when a rule combines verifyImages with validate', () => {
    it('rejects the rule with Kyverno’s message', () => {
      const policy = checkImagePolicy();
      (policy.spec.rules[0] as Record<string, unknown>)['validate'] = { message: 'x' };
      const errors = errorsOf(policy);
      expect(errors[0]!.message).toMatch(/^Multiple operations defined in the rule 'check-image'/);
    });
  });

  describe('when a rule matches Pods', () => {
    it('compiles its autogen copies for the Pod controllers too', () => {
      const result = compile(checkImagePolicy());
      expect(result.ok && result.value.rules.map((r) => [r.name, [...r.kinds]])).toEqual([
        ['check-image', ['Pod']],
        [
          'autogen-check-image',
          ['DaemonSet', 'Deployment', 'Job', 'StatefulSet', 'ReplicaSet', 'ReplicationController'],
        ],
        ['autogen-cronjob-check-image', ['CronJob']],
      ]);
      expect(result.ok && result.value.autogenRules.map((r) => r.name)).toEqual([
        'autogen-check-image',
        'autogen-cronjob-check-image',
      ]);
      expect(result.ok && result.value.ruleCount.verifyimages).toBe(1);
    });

    it('shares its compiled image verifications with them rather than compiling each copy again', () => {
      const result = compile(checkImagePolicy());
      if (!result.ok) throw new Error('did not compile');
      const [own, workloads, cronJobs] = result.value.rules;
      expect(workloads!.verifyImages).toBe(own!.verifyImages);
      expect(cronJobs!.verifyImages).toBe(own!.verifyImages);
    });

    it('compiles a rule of its own with the same verifyImages on its own, so that its messages name its fields', () => {
      const policy = checkImagePolicy();
      const rules = policy.spec.rules as Record<string, unknown>[];
      rules.push({ ...rules[0]!, name: 'again' });
      const result = compile(policy);
      if (!result.ok) throw new Error('did not compile');
      const byName = new Map(result.value.rules.map((r) => [r.name, r]));
      expect(byName.get('again')!.verifyImages).not.toBe(byName.get('check-image')!.verifyImages);
      expect(byName.get('again')!.verifyImages[0]!.field).toBe('spec.rules[1].verifyImages[0]');
      expect(byName.get('autogen-again')!.verifyImages).toBe(byName.get('again')!.verifyImages);
    });

    it('changes its revision when the autogen annotation changes, though the generation does not', () => {
      const plain = compile(checkImagePolicy());
      const annotated = checkImagePolicy();
      (annotated.metadata as Record<string, unknown>)['annotations'] = {
        'pod-policies.kyverno.io/autogen-controllers': 'none',
      };
      const none = compile(annotated);
      expect(none.ok && none.value.rules.map((r) => r.name)).toEqual(['check-image']);
      expect(plain.ok && none.ok && plain.value.revision !== none.value.revision).toBe(true);
    });
  });

  describe('when the policy also has validate and mutate rules', () => {
    it('names the rules it does not enforce', () => {
      const policy = checkImagePolicy();
      policy.spec.rules.push(
        { name: 'v', match: { resources: { kinds: ['Pod'] } }, validate: { message: 'x' } } as never,
        { name: 'm', match: { resources: { kinds: ['Pod'] } }, mutate: { patchStrategicMerge: {} } } as never,
      );
      const result = compile(policy);
      expect(result.ok && result.value.unenforcedRules).toEqual(['validate rule "v"', 'mutate rule "m"']);
    });
  });

  describe('when failure actions are overridden by namespace', () => {
    it('resolves the overrides with compiled namespace patterns', () => {
      const result = compile(
        checkImagePolicy({
          spec: { validationFailureActionOverrides: [{ action: 'audit', namespaces: ['dev-*'] }] },
        }),
      );
      const [override] = result.ok ? result.value.failureActionOverrides : [];
      expect(override?.action).toBe('Audit');
      expect(override?.namespaces[0]!.matches('dev-team')).toBe(true);
    });
  });

  describe('when signatures must be in the transparency log and no Rekor key is known', () => {
    it('fails the seed policy with MissingTrustRoot on its legacy key, naming the remedies', () => {
      const result = compilePolicy(checkImagePolicy());
      expect(!result.ok && result.error).toEqual([
        {
          reason: 'MissingTrustRoot',
          field: 'spec.rules[0].verifyImages[0].key',
          message: expect.stringMatching(/no Rekor public key is known: .*--trusted-root.*rekor\.ignoreTlog/),
        },
      ]);
    });

    it('compiles when the attestor names its Rekor key', () => {
      const rekorKey = createTestLog().publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const result = compilePolicy(
        checkImagePolicy({
          verifyImages: [
            {
              imageReferences: ['*'],
              attestors: [
                {
                  entries: [
                    { keys: { publicKeys: SEED_KEY, rekor: { url: 'https://rekor.example', pubkey: rekorKey } } },
                  ],
                },
              ],
            },
          ],
        }),
      );
      expect(result.ok).toBe(true);
      const attestor = result.ok ? result.value.rules[0]!.verifyImages[0]!.attestors[0]!.entries[0] : undefined;
      expect(attestor?.$case === 'key' && attestor.trust).toMatchObject({
        requireTlog: true,
        authorities: { tlogs: [{ baseURL: 'https://rekor.example' }] },
      });
    });

    it('compiles when the attestor ignores the log', () => {
      const result = compilePolicy(
        checkImagePolicy({
          verifyImages: [
            {
              imageReferences: ['*'],
              attestors: [{ entries: [{ keys: { publicKeys: SEED_KEY, rekor: { ignoreTlog: true } } }] }],
            },
          ],
        }),
      );
      const attestor = result.ok ? result.value.rules[0]!.verifyImages[0]!.attestors[0]!.entries[0] : undefined;
      expect(attestor?.$case === 'key' && attestor.trust.requireTlog).toBe(false);
    });

    it('fails with InvalidKey when rekor.pubkey does not parse', () => {
      const errors = errorsOf(
        checkImagePolicy({
          verifyImages: [
            {
              imageReferences: ['*'],
              attestors: [
                { entries: [{ keys: { publicKeys: SEED_KEY, rekor: { url: 'https://r', pubkey: 'junk' } } }] },
              ],
            },
          ],
        }),
      );
      expect(errors).toContainEqual({
        reason: 'InvalidKey',
        field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.rekor.pubkey',
        message: expect.stringContaining('invalid public key'),
      });
    });
  });

  describe('when a keyless attestor has neither roots nor a trust root with a Fulcio CA', () => {
    it('fails with MissingTrustRoot for the CA and the CT log', () => {
      const errors = errorsOf(
        checkImagePolicy({
          verifyImages: [
            {
              imageReferences: ['*'],
              attestors: [
                {
                  entries: [
                    {
                      keyless: {
                        subject: 'a@b.c',
                        issuer: 'https://issuer',
                        rekor: { url: 'https://rekor.sigstore.dev' },
                      },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const at = 'spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless';
      expect(errors.map((e) => [e.reason, e.field])).toEqual([
        ['MissingTrustRoot', `${at}.roots`],
        ['MissingTrustRoot', `${at}.ctlog`],
      ]);
    });
  });

  describe('when a keyless attestor ignores the log and trusts no timestamp authority', () => {
    it('fails: the certificate would have no time to be checked at', () => {
      const errors = errorsOf(
        checkImagePolicy({
          verifyImages: [
            {
              imageReferences: ['*'],
              attestors: [
                {
                  entries: [
                    {
                      keyless: {
                        subject: 'a@b.c',
                        roots: TEST_CA,
                        rekor: { url: 'https://r', ignoreTlog: true },
                        ctlog: { ignoreSCT: true },
                      },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      expect(errors).toEqual([
        {
          reason: 'InvalidSpec',
          field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.rekor.ignoreTlog',
          message: expect.stringContaining('set ctlog.tsaCertChain'),
        },
      ]);
    });
  });

  describe('when a certificate attestor names a certificate without a chain', () => {
    it('verifies with the certificate’s key, as Kyverno does', () => {
      const result = compile(
        checkImagePolicy({
          verifyImages: [{ imageReferences: ['*'], attestors: [{ entries: [{ certificates: { cert: TEST_CA } }] }] }],
        }),
      );
      const attestor = result.ok ? result.value.rules[0]!.verifyImages[0]!.attestors[0]!.entries[0] : undefined;
      expect(attestor).toMatchObject({
        $case: 'key',
        field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].certificates.cert',
      });
    });
  });

  describe('when a legacy key comes with attestations', () => {
    it('uses the key for the attestations too', () => {
      const result = compile(
        checkImagePolicy({
          verifyImages: [
            {
              image: '*',
              key: SEED_KEY,
              attestations: [{ predicateType: 'https://example.com/CodeReview/v1', conditions: [] }],
            },
          ],
        }),
      );
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const entry = result.value.rules[0]!.verifyImages[0]!;
      expect(entry.attestors).toHaveLength(0);
      expect(entry.attestations[0]).toMatchObject({
        predicateType: 'https://example.com/CodeReview/v1',
        attestors: [{ entries: [{ $case: 'key' }] }],
      });
    });
  });

  describe('when a legacy key comes with an empty list of attestations', () => {
    it('checks the image’s signatures with the key, rather than losing it', () => {
      const result = compile(checkImagePolicy({ verifyImages: [{ image: '*', key: SEED_KEY, attestations: [] }] }));
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const entry = result.value.rules[0]!.verifyImages[0]!;
      expect(entry.attestations).toEqual([]);
      expect(entry.attestors).toMatchObject([
        { count: 1, entries: [{ $case: 'key', field: 'spec.rules[0].verifyImages[0].key' }] },
      ]);
    });
  });

  describe('when a legacy key comes with attestations that all name their own attestors', () => {
    it('checks the image’s signatures with the key, and leaves the attestations theirs', () => {
      const result = compile(
        checkImagePolicy({
          verifyImages: [
            {
              image: '*',
              key: SEED_KEY,
              attestations: [
                {
                  predicateType: 'https://example.com/CodeReview/v1',
                  attestors: [{ entries: [{ keys: { publicKeys: OTHER_KEY, rekor: { ignoreTlog: true } } }] }],
                },
              ],
            },
          ],
        }),
      );
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const entry = result.value.rules[0]!.verifyImages[0]!;
      expect(entry.attestors).toMatchObject([
        { entries: [{ $case: 'key', field: 'spec.rules[0].verifyImages[0].key' }] },
      ]);
      expect(entry.attestations[0]!.attestors).toMatchObject([
        {
          entries: [
            {
              $case: 'key',
              field: 'spec.rules[0].verifyImages[0].attestations[0].attestors[0].entries[0].keys.publicKeys',
            },
          ],
        },
      ]);
    });
  });

  describe('when a legacy key comes with one attestation that names attestors and one that does not', () => {
    it('gives the key to the one that does not, and not to the image’s signatures', () => {
      const result = compile(
        checkImagePolicy({
          verifyImages: [
            {
              image: '*',
              key: SEED_KEY,
              attestations: [
                {
                  predicateType: 'https://example.com/CodeReview/v1',
                  attestors: [{ entries: [{ keys: { publicKeys: OTHER_KEY, rekor: { ignoreTlog: true } } }] }],
                },
                { predicateType: 'https://slsa.dev/provenance/v1' },
              ],
            },
          ],
        }),
      );
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const entry = result.value.rules[0]!.verifyImages[0]!;
      expect(entry.attestors).toHaveLength(0);
      expect(entry.attestations.map((a) => a.attestors.map((set) => set.entries.map((e) => e.field)))).toEqual([
        [['spec.rules[0].verifyImages[0].attestations[0].attestors[0].entries[0].keys.publicKeys']],
        [['spec.rules[0].verifyImages[0].key']],
      ]);
    });
  });

  describe.each([
    ['-1', -1],
    ['0', 0],
    ['null', null],
    ['the string "0"', '0'],
  ])('when a nested attestor set’s count is %s', (_, count) => {
    it('fails with InvalidSpec on the nested count, as a set at the top would', () => {
      const errors = errorsOf(
        checkImagePolicy({
          verifyImages: [
            {
              imageReferences: ['*'],
              attestors: [
                {
                  entries: [
                    {
                      attestor: {
                        count,
                        entries: [{ keys: { publicKeys: SEED_KEY, rekor: { ignoreTlog: true } } }],
                      },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      expect(errors).toEqual([
        {
          reason: 'InvalidSpec',
          field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].attestor.count',
          message: expect.stringMatching(/^failed to unmarshal attestor set: .*Expected integer/),
        },
      ]);
    });
  });
});

describe('compileKeyAttestors', () => {
  it('makes one entry per PEM text, all required unless count says otherwise', () => {
    const all = compileKeyAttestors([SEED_KEY, OTHER_KEY], { trustRoot });
    expect(all.ok && all.value).toMatchObject({ count: 2, entries: [{ $case: 'key' }, { $case: 'key' }] });
    const one = compileKeyAttestors([SEED_KEY, OTHER_KEY], { count: 1, trustRoot });
    expect(one.ok && one.value.count).toBe(1);
  });

  it('says what is wrong with a key that does not parse', () => {
    const bad = compileKeyAttestors(['not a key'], { ignoreTlog: true });
    expect(!bad.ok && bad.error[0]!.message).toContain('invalid public key');
  });
});

describe('compile, a signature repository', () => {
  it('is parsed when the policy compiles, and a bad one names its field', () => {
    const good = compile(
      checkImagePolicy({ verifyImages: [{ image: '*', key: SEED_KEY, repository: 'ghcr.io/acme/sigs' }] }),
    );
    expect(good.ok && good.value.rules[0]!.verifyImages[0]!.repository).toEqual({
      registry: 'ghcr.io',
      repository: 'acme/sigs',
      tag: 'latest',
    });
    const bad = errorsOf(checkImagePolicy({ verifyImages: [{ image: '*', key: SEED_KEY, repository: 'Not A Repo' }] }));
    expect(bad).toContainEqual(
      expect.objectContaining({ reason: 'InvalidSpec', field: 'spec.rules[0].verifyImages[0].repository' }),
    );
  });
});
