import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VerificationCache } from '../pkg/cache/index.js';
import type { ImageRegistry } from '../pkg/cosign/index.js';
import { createSilentLogger } from '../pkg/log/index.js';
import type { OciFailure } from '../pkg/oci/index.js';
import { compile, type CompiledPolicy } from '../pkg/policy/index.js';
import { err, ok } from '../pkg/result/index.js';
import { decodeAdmissionReview, type AdmissionRequest } from './admission-review.js';
import { handleMutate, toDeadlineMs } from './mutate.js';
import type { PassCache } from './verify-images.js';

const REVIEW = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', 'admission-create-pod.json'), 'utf8'));
const DIGEST_1 = `sha256:${'1'.repeat(64)}`;
const DIGEST_2 = `sha256:${'2'.repeat(64)}`;
const KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' });

function podRequest(image: string): AdmissionRequest {
  const decoded = decodeAdmissionReview(REVIEW);
  if (!decoded.ok) throw new Error(decoded.error);
  const request = decoded.value.request;
  return {
    ...request,
    name: 'web',
    namespace: 'default',
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image }] } },
  };
}

function policy(entry: object, spec: object = {}): CompiledPolicy {
  const compiled = compile({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'check-image', uid: 'u1', resourceVersion: '7' },
    spec: {
      validationFailureAction: 'Enforce',
      webhookTimeoutSeconds: 5,
      rules: [{ name: 'check-image', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [entry] }],
      ...spec,
    },
  });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
  return compiled.value;
}

/** A registry whose tag resolves to `digests` in turn, and which holds no signatures. */
function registry(digests: string[], failure?: OciFailure): ImageRegistry & { resolved: number } {
  const unknown: OciFailure = { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', registry: 'r' };
  const fake = {
    resolved: 0,
    resolveDigest: async () => {
      if (failure) return err(failure);
      const digest = digests[Math.min(fake.resolved++, digests.length - 1)]!;
      return ok({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 });
    },
    getManifest: async () => err(unknown),
    getBlob: async () => err({ ...unknown, code: 'BLOB_UNKNOWN' as const }),
    listReferrers: async () => ok({ descriptors: [], source: 'api' as const, bytesRead: 0, truncated: false }),
  };
  return fake;
}

function deps(policies: CompiledPolicy[], reg: ImageRegistry, cache?: PassCache) {
  return {
    policies: () => policies,
    registry: reg,
    log: createSilentLogger(),
    now: Date.now,
    ...(cache ? { cache } : {}),
  };
}

function patchOf(response: { patch?: string }): unknown {
  return response.patch ? JSON.parse(Buffer.from(response.patch, 'base64').toString()) : undefined;
}

describe('handleMutate', () => {
  describe('when the image has no signature and the policy enforces a key', () => {
    it('denies with the seed’s message', async () => {
      const response = await handleMutate(
        podRequest('registry.example/team/app:v1'),
        deps(
          [
            policy({
              imageReferences: ['*'],
              attestors: [{ entries: [{ keys: { publicKeys: KEY, rekor: { ignoreTlog: true } } }] }],
            }),
          ],
          registry([DIGEST_1]),
        ),
      );
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toBe(
        '\n\nresource Pod/default/web was blocked due to the following policies \n\ncheck-image:\n' +
          `  check-image: 'image verification failed for registry.example/team/app:v1:\n` +
          `    signature not found: no signatures at registry.example/team/app'\n`,
      );
    });
  });

  describe('when it denies', () => {
    it('records a Warning PolicyViolation Event on the policy, naming the Pod', async () => {
      const events: { reason: string; type: string; regarding: { kind: string; name: string }; note: string }[] = [];
      const response = await handleMutate(podRequest('registry.example/team/app:v1'), {
        ...deps(
          [
            policy({
              imageReferences: ['*'],
              attestors: [{ entries: [{ keys: { publicKeys: KEY, rekor: { ignoreTlog: true } } }] }],
            }),
          ],
          registry([DIGEST_1]),
        ),
        recordEvent: (e) => void events.push(e),
      });
      expect(response.allowed).toBe(false);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        reason: 'PolicyViolation',
        type: 'Warning',
        regarding: { kind: 'ClusterPolicy', name: 'check-image' },
      });
      expect(events[0]!.note).toContain('Pod default/web');
    });
  });

  describe('when an entry only pins digests', () => {
    it('admits and pins the image to the digest its tag names, keeping the tag', async () => {
      const response = await handleMutate(
        podRequest('registry.example/team/app:v1'),
        deps([policy({ imageReferences: ['registry.example/*'] })], registry([DIGEST_1])),
      );
      expect(response.allowed).toBe(true);
      expect(patchOf(response)).toEqual([
        { op: 'replace', path: '/spec/containers/0/image', value: `registry.example/team/app:v1@${DIGEST_1}` },
      ]);
    });
  });

  describe('when the image is already pinned to a digest', () => {
    it('admits without a patch', async () => {
      const response = await handleMutate(
        podRequest(`registry.example/team/app@${DIGEST_1}`),
        deps([policy({ imageReferences: ['*'] })], registry([DIGEST_1])),
      );
      expect(response).toEqual({ uid: response.uid, allowed: true });
    });
  });

  describe('when a verified tag has moved to another image since', () => {
    it('pins the digest that was verified, from the cache, not the one the tag names now', async () => {
      const cache: PassCache = new VerificationCache({ now: Date.now });
      const reg = registry([DIGEST_1, DIGEST_2]);
      const policies = [policy({ imageReferences: ['*'] })];
      await handleMutate(podRequest('registry.example/team/app:v1'), deps(policies, reg, cache));
      const second = await handleMutate(podRequest('registry.example/team/app:v1'), deps(policies, reg, cache));
      expect(reg.resolved).toBe(1);
      expect(patchOf(second)).toEqual([
        { op: 'replace', path: '/spec/containers/0/image', value: `registry.example/team/app:v1@${DIGEST_1}` },
      ]);
    });
  });

  describe('when one image of a rule is in the cache and the one before it is not', () => {
    it('answers each in the rule’s order, the cached one without the registry', async () => {
      const cache: PassCache = new VerificationCache({ now: Date.now });
      const reg = registry([DIGEST_1, DIGEST_2]);
      const policies = [policy({ imageReferences: ['*'] })];
      await handleMutate(podRequest('registry.example/team/cached:v1'), deps(policies, reg, cache));
      const base = podRequest('registry.example/team/new:v1');
      const twoImages = {
        ...base,
        object: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'web' },
          spec: {
            containers: [
              { name: 'new', image: 'registry.example/team/new:v1' },
              { name: 'cached', image: 'registry.example/team/cached:v1' },
            ],
          },
        },
      };
      const response = await handleMutate(twoImages, deps(policies, reg, cache));
      expect(reg.resolved).toBe(2);
      expect(patchOf(response)).toEqual([
        { op: 'replace', path: '/spec/containers/0/image', value: `registry.example/team/new:v1@${DIGEST_2}` },
        { op: 'replace', path: '/spec/containers/1/image', value: `registry.example/team/cached:v1@${DIGEST_1}` },
      ]);
    });
  });

  describe('when one policy allows an insecure registry and another does not', () => {
    it('reads the image for each in its own way: an insecure answer never serves the secure entry', async () => {
      const reg = registry([DIGEST_1]);
      const asked: (boolean | undefined)[] = [];
      const resolveDigest = reg.resolveDigest;
      const spy: ImageRegistry = {
        ...reg,
        resolveDigest: (ref, options) => {
          asked.push(options?.insecure);
          return resolveDigest(ref, options);
        },
      };
      const insecure = policy({ imageReferences: ['*'], imageRegistryCredentials: { allowInsecureRegistry: true } });
      const secure = { ...policy({ imageReferences: ['*'] }), key: 'ClusterPolicy//secure' };
      const response = await handleMutate(podRequest('registry.example/team/app:v1'), deps([insecure, secure], spy));
      expect(response.allowed).toBe(true);
      expect(asked.map(Boolean).sort()).toEqual([false, true]);
    });
  });

  describe('when the registry cannot be reached', () => {
    const unreachable: OciFailure = {
      code: 'NETWORK',
      message: 'NETWORK: r: cannot reach the registry',
      registry: 'r',
    };

    it('denies under failurePolicy Fail, saying so', async () => {
      const response = await handleMutate(
        podRequest('registry.example/team/app:v1'),
        deps([policy({ imageReferences: ['*'] })], registry([], unreachable)),
      );
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toContain('registry error');
    });

    it('admits with a warning under failurePolicy Ignore', async () => {
      const response = await handleMutate(
        podRequest('registry.example/team/app:v1'),
        deps([policy({ imageReferences: ['*'] }, { failurePolicy: 'Ignore' })], registry([], unreachable)),
      );
      expect(response.allowed).toBe(true);
      expect(response.warnings?.[0]).toMatch(/^policy check-image\.check-image: image verification failed/);
    });
  });

  describe('when a rule’s key is in a ConfigMap that does not exist', () => {
    const withContext = (failurePolicy: 'Fail' | 'Ignore') => {
      const compiled = compile({
        apiVersion: 'kyverno.io/v1',
        kind: 'ClusterPolicy',
        metadata: { name: 'check-image', uid: 'u1', resourceVersion: '7' },
        spec: {
          validationFailureAction: 'Enforce',
          failurePolicy,
          rules: [
            {
              name: 'check-image',
              match: { any: [{ resources: { kinds: ['Pod'] } }] },
              context: [{ name: 'keys', configMap: { name: 'keys', namespace: 'security' } }],
              verifyImages: [
                {
                  imageReferences: ['registry.example/*'],
                  attestors: [
                    { entries: [{ keys: { publicKeys: '{{ keys.data.prod }}', rekor: { ignoreTlog: true } } }] },
                  ],
                },
              ],
            },
          ],
        },
      });
      if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
      return compiled.value;
    };
    const missing = {
      configMap: (namespace: string, name: string) => err(`configmaps "${name}" not found in namespace "${namespace}"`),
    };

    it('denies under failurePolicy Fail, saying which, without asking the registry', async () => {
      const reg = registry([DIGEST_1]);
      const response = await handleMutate(podRequest('registry.example/team/app:v1'), {
        ...deps([withContext('Fail')], reg),
        ruleContext: missing,
      });
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toContain(
        'failed to load context: failed to retrieve config map for context entry keys: configmaps "keys" not found in namespace "security"',
      );
      expect(reg.resolved).toBe(0);
    });

    it('admits with a warning under failurePolicy Ignore', async () => {
      const response = await handleMutate(podRequest('registry.example/team/app:v1'), {
        ...deps([withContext('Ignore')], registry([DIGEST_1])),
        ruleContext: missing,
      });
      expect(response.allowed).toBe(true);
      expect(response.warnings?.[0]).toContain('failed to load context');
    });

    it('loads nothing for an image no entry names', async () => {
      const asked: string[] = [];
      const response = await handleMutate(podRequest('elsewhere.example/team/app:v1'), {
        ...deps([withContext('Fail')], registry([DIGEST_1])),
        ruleContext: {
          configMap: (namespace: string, name: string) => (asked.push(name), missing.configMap(namespace, name)),
        },
      });
      expect(response.allowed).toBe(true);
      expect(asked).toEqual([]);
    });
  });

  describe('when verification throws (a bug)', () => {
    it('lets the failure policy decide rather than answering 500', async () => {
      const broken = { ...registry([DIGEST_1]), resolveDigest: () => Promise.reject(new Error('bug')) };
      const response = await handleMutate(
        podRequest('registry.example/team/app:v1'),
        deps([policy({ imageReferences: ['*'] })], broken),
      );
      expect(response.allowed).toBe(false);
    });
  });

  describe('when no policy matches the kind', () => {
    it('admits without looking at the registry', async () => {
      const reg = registry([DIGEST_1]);
      const request = { ...podRequest('x'), kind: { group: 'apps', version: 'v1', kind: 'Deployment' } };
      const response = await handleMutate(request, deps([policy({ imageReferences: ['*'] })], reg));
      expect(response.allowed).toBe(true);
      expect(reg.resolved).toBe(0);
    });
  });
});

describe('handleMutate, which rules apply', () => {
  function ruled(match: object, exclude?: object): CompiledPolicy {
    const compiled = compile({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'check-image', uid: 'u1', resourceVersion: '7' },
      spec: {
        validationFailureAction: 'Enforce',
        rules: [{ name: 'r', match, ...(exclude ? { exclude } : {}), verifyImages: [{ imageReferences: ['*'] }] }],
      },
    });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
    return compiled.value;
  }
  const labelled = (labels: Record<string, string>) => {
    const request = podRequest('registry.example/team/app:v1');
    const object = request.object as { metadata: Record<string, unknown> };
    return { ...request, object: { ...object, metadata: { ...object.metadata, labels } } };
  };

  describe('when the rule excludes the request’s namespace', () => {
    it('leaves the image alone', async () => {
      const reg = registry([DIGEST_1]);
      const policies = [
        ruled({ any: [{ resources: { kinds: ['Pod'] } }] }, { any: [{ resources: { namespaces: ['def*'] } }] }),
      ];
      const response = await handleMutate(podRequest('registry.example/team/app:v1'), deps(policies, reg));
      expect(response).toEqual({ uid: response.uid, allowed: true });
      expect(reg.resolved).toBe(0);
    });
  });

  describe('when the rule selects Pods by label', () => {
    const policies = [ruled({ any: [{ resources: { kinds: ['Pod'], selector: { matchLabels: { app: 'web' } } } }] })];

    it('verifies (and pins) a Pod with the label', async () => {
      const response = await handleMutate(labelled({ app: 'web' }), deps(policies, registry([DIGEST_1])));
      expect(response.patch).toBeDefined();
    });

    it('leaves a Pod without it alone', async () => {
      const reg = registry([DIGEST_1]);
      const response = await handleMutate(labelled({ app: 'db' }), deps(policies, reg));
      expect(response.patch).toBeUndefined();
      expect(reg.resolved).toBe(0);
    });
  });
});

describe('handleMutate, the verify-images annotations', () => {
  const audit = () =>
    policy(
      {
        imageReferences: ['*'],
        mutateDigest: false,
        attestors: [{ entries: [{ keys: { publicKeys: KEY, rekor: { ignoreTlog: true } } }] }],
      },
      { validationFailureAction: 'Audit' },
    );

  describe('when an Audit rule fails an image', () => {
    it('admits, warns, and records the failure in both annotations, whatever the Pod claimed', async () => {
      const request = podRequest('registry.example/team/app:v1');
      const object = request.object as { metadata: Record<string, unknown> };
      const forged = {
        ...request,
        object: {
          ...object,
          metadata: { ...object.metadata, annotations: { 'kyverno.io/verify-images': '{"x":"pass"}' } },
        },
      };
      const response = await handleMutate(forged, deps([audit()], registry([DIGEST_1])));
      expect(response.allowed).toBe(true);
      expect(response.warnings).toHaveLength(1);
      expect(patchOf(response)).toEqual([
        {
          op: 'add',
          path: '/metadata/annotations/kyverno.io~1verify-images',
          value: '{"registry.example/team/app:v1":"fail"}',
        },
        {
          op: 'add',
          path: '/metadata/annotations/kyverno.io~1verify-images-scoped',
          value: '{"policies":{"/check-image":{"check-image":{"registry.example/team/app:v1":"fail"}}},"version":1}',
        },
      ]);
    });
  });

  describe('when the Ignore webhook answers after the Fail one wrote its entries', () => {
    const incoming = (scoped: object) => {
      const request = podRequest('registry.example/team/app:v1');
      const object = request.object as { metadata: Record<string, unknown> };
      return {
        ...request,
        object: {
          ...object,
          metadata: {
            ...object.metadata,
            annotations: { 'kyverno.io/verify-images-scoped': JSON.stringify({ version: 1, policies: scoped }) },
          },
        },
      };
    };
    const scopedOf = (response: { patch?: string }) => {
      const ops = patchOf(response) as { path: string; value: string }[];
      const op = ops.find((o) => o.path.endsWith('verify-images-scoped'))!;
      return (JSON.parse(op.value) as { policies: Record<string, unknown> }).policies;
    };
    // The Fail webhook's entry for its own policy, and a forged one for this webhook's policy.
    const written = {
      '/fail-policy': { verify: { 'registry.example/team/app:v1': 'pass' } },
      '/check-image': { 'check-image': { 'registry.example/team/app:v1': 'pass' } },
    };

    it('keeps the other policies’ entries and writes its own afresh, forged ones overwritten', async () => {
      const response = await handleMutate(incoming(written), {
        ...deps([audit()], registry([DIGEST_1])),
        keepOtherPoliciesVerifications: true,
      });
      expect(scopedOf(response)).toEqual({
        '/fail-policy': { verify: { 'registry.example/team/app:v1': 'pass' } },
        '/check-image': { 'check-image': { 'registry.example/team/app:v1': 'fail' } },
      });
    });

    it('drops every incoming entry when it is the first webhook', async () => {
      const response = await handleMutate(incoming(written), deps([audit()], registry([DIGEST_1])));
      expect(scopedOf(response)).toEqual({
        '/check-image': { 'check-image': { 'registry.example/team/app:v1': 'fail' } },
      });
    });

    it('keeps nothing of a malformed annotation', async () => {
      const response = await handleMutate(incoming({ '/x': 'not a map', '/y': { r: { img: 'maybe' } } }), {
        ...deps([audit()], registry([DIGEST_1])),
        keepOtherPoliciesVerifications: true,
      });
      expect(scopedOf(response)).toEqual({
        '/check-image': { 'check-image': { 'registry.example/team/app:v1': 'fail' } },
      });
    });
  });

  describe('when an UPDATE keeps an image the old object records as verified by the rule', () => {
    const pinned = `registry.example/team/app@${DIGEST_1}`;
    const enforced = () =>
      policy({
        imageReferences: ['*'],
        attestors: [{ entries: [{ keys: { publicKeys: KEY, rekor: { ignoreTlog: true } } }] }],
      });
    const update = (oldAnnotation: string, newImage = pinned) => {
      const request = podRequest(newImage);
      const old = podRequest(pinned).object as { metadata: Record<string, unknown> };
      return {
        ...request,
        operation: 'UPDATE' as const,
        oldObject: {
          ...old,
          metadata: { ...old.metadata, annotations: { 'kyverno.io/verify-images-scoped': oldAnnotation } },
        },
      };
    };
    const recorded = JSON.stringify({
      version: 1,
      policies: { '/check-image': { 'check-image': { [pinned]: 'pass' } } },
    });

    it('admits it without asking the registry, as Kyverno 1.19 does', async () => {
      const reg = registry([DIGEST_1]);
      const response = await handleMutate(update(recorded), deps([enforced()], reg));
      expect(response.allowed).toBe(true);
      expect(reg.resolved).toBe(0);
    });

    it('writes the annotations of an object that brought none in one add of the map, the record of validated images included', async () => {
      const response = await handleMutate(update(recorded), {
        ...deps([enforced()], registry([DIGEST_1])),
        validatedImagesAnnotation: 'imprimatur.io/validated-images-fail',
      });
      expect(patchOf(response)).toEqual([
        {
          op: 'add',
          path: '/metadata/annotations',
          value: {
            'kyverno.io/verify-images': JSON.stringify({ [pinned]: 'pass' }),
            'kyverno.io/verify-images-scoped': JSON.stringify({
              policies: { '/check-image': { 'check-image': { [pinned]: 'pass' } } },
              version: 1,
            }),
            'imprimatur.io/validated-images-fail': `v1: ${pinned}`,
          },
        },
      ]);
    });

    it('verifies it again when the image changed', async () => {
      const reg = registry([DIGEST_2]);
      const response = await handleMutate(update(recorded, 'registry.example/team/app:v2'), deps([enforced()], reg));
      expect(response.allowed).toBe(false);
      expect(reg.resolved).toBe(1);
    });
  });
});

describe('handleMutate, namespaces by their labels', () => {
  const labelsOf = (labels: Record<string, string>) => (namespace: string) =>
    namespace === 'default' ? labels : undefined;

  describe('when a rule selects namespaces by label', () => {
    const selecting = () => {
      const compiled = compile({
        apiVersion: 'kyverno.io/v1',
        kind: 'ClusterPolicy',
        metadata: { name: 'prod-only', uid: 'u2', resourceVersion: '1' },
        spec: {
          validationFailureAction: 'Enforce',
          rules: [
            {
              name: 'r',
              match: { any: [{ resources: { kinds: ['Pod'], namespaceSelector: { matchLabels: { env: 'prod' } } } }] },
              verifyImages: [{ imageReferences: ['*'] }],
            },
          ],
        },
      });
      if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
      return [compiled.value];
    };

    it('checks a Pod in a namespace with the label', async () => {
      const reg = registry([DIGEST_1]);
      await handleMutate(podRequest('registry.example/team/app:v1'), {
        ...deps(selecting(), reg),
        namespaceLabels: labelsOf({ env: 'prod' }),
      });
      expect(reg.resolved).toBe(1);
    });

    it('leaves a Pod in a namespace without it alone', async () => {
      const reg = registry([DIGEST_1]);
      await handleMutate(podRequest('registry.example/team/app:v1'), {
        ...deps(selecting(), reg),
        namespaceLabels: labelsOf({ env: 'dev' }),
      });
      expect(reg.resolved).toBe(0);
    });
  });

  describe('when validationFailureActionOverrides audits namespaces by label', () => {
    const overridden = () =>
      policy(
        {
          imageReferences: ['*'],
          mutateDigest: false,
          attestors: [{ entries: [{ keys: { publicKeys: KEY, rekor: { ignoreTlog: true } } }] }],
        },
        { validationFailureActionOverrides: [{ action: 'Audit', namespaceSelector: { matchLabels: { env: 'dev' } } }] },
      );

    it('admits a failing image there with a warning', async () => {
      const response = await handleMutate(podRequest('registry.example/team/app:v1'), {
        ...deps([overridden()], registry([DIGEST_1])),
        namespaceLabels: labelsOf({ env: 'dev' }),
      });
      expect(response.allowed).toBe(true);
      expect(response.warnings).toHaveLength(1);
    });

    it('enforces elsewhere, and where the labels are not known', async () => {
      for (const namespaceLabels of [labelsOf({ env: 'prod' }), () => undefined]) {
        const response = await handleMutate(podRequest('registry.example/team/app:v1'), {
          ...deps([overridden()], registry([DIGEST_1])),
          namespaceLabels,
        });
        expect(response.allowed).toBe(false);
      }
    });
  });
});

describe('handleMutate, roles', () => {
  const excludingAdmins = () => {
    const compiled = compile({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'not-admins', uid: 'u3', resourceVersion: '1' },
      spec: {
        validationFailureAction: 'Enforce',
        rules: [
          {
            name: 'r',
            match: { any: [{ resources: { kinds: ['Pod'] } }] },
            exclude: { any: [{ clusterRoles: ['cluster-admin'] }] },
            verifyImages: [{ imageReferences: ['*'] }],
          },
        ],
      },
    });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
    return [compiled.value];
  };

  it.each([
    ['a user bound to the excluded cluster role', ['cluster-admin'], 0],
    ['a user who is not', ['view'], 1],
  ])('leaves %s alone only when excluded', async (_who, clusterRoles, resolved) => {
    const reg = registry([DIGEST_1]);
    await handleMutate(podRequest('registry.example/team/app:v1'), {
      ...deps(excludingAdmins(), reg),
      userRoles: () => ({ roles: [], clusterRoles }),
    });
    expect(reg.resolved).toBe(resolved);
  });

  it('applies the rule when roles cannot be resolved: verified more, never less', async () => {
    const reg = registry([DIGEST_1]);
    await handleMutate(podRequest('registry.example/team/app:v1'), deps(excludingAdmins(), reg));
    expect(reg.resolved).toBe(1);
  });
});

describe('toDeadlineMs', () => {
  it('keeps a fifth of the webhook timeout, at least half a second, for the answer', () => {
    expect(toDeadlineMs(10_000)).toBe(8_000);
    expect(toDeadlineMs(1_000)).toBe(500);
    expect(toDeadlineMs(30_000)).toBe(24_000);
  });
});

describe('handleMutate, the record of validated images', () => {
  const RECORD = 'imprimatur.io/validated-images-fail';
  const withRecord = (d: ReturnType<typeof deps>) => ({ ...d, validatedImagesAnnotation: RECORD });
  const forged = (request: AdmissionRequest): AdmissionRequest => ({
    ...request,
    object: {
      ...(request.object as object),
      metadata: { name: 'web', annotations: { [RECORD]: 'v1: registry.example/evil:v1' } },
    },
  });

  describe('when the validating webhook’s checks pass on the object as it leaves', () => {
    it('records its images, pinned, for the validating webhook’s matchCondition', async () => {
      const response = await handleMutate(
        podRequest('registry.example/team/app:v1'),
        withRecord(deps([policy({ imageReferences: ['registry.example/*'], required: false })], registry([DIGEST_1]))),
      );
      expect(patchOf(response)).toEqual([
        { op: 'replace', path: '/spec/containers/0/image', value: `registry.example/team/app:v1@${DIGEST_1}` },
        {
          op: 'add',
          path: '/metadata/annotations',
          value: { [RECORD]: `v1: registry.example/team/app:v1@${DIGEST_1}` },
        },
      ]);
    });

    it('overwrites a record the object brought', async () => {
      const response = await handleMutate(
        forged(podRequest('registry.example/team/app:v1')),
        withRecord(deps([policy({ imageReferences: ['registry.example/*'], required: false })], registry([DIGEST_1]))),
      );
      expect(patchOf(response)).toContainEqual({
        op: 'add',
        path: '/metadata/annotations/imprimatur.io~1validated-images-fail',
        value: `v1: registry.example/team/app:v1@${DIGEST_1}`,
      });
    });
  });

  describe('when they would fail (required, for an entry that verifies nothing)', () => {
    it('records nothing, and removes a record the object brought, so that the validating webhook is called', async () => {
      const reg = registry([DIGEST_1]);
      const entry = { imageReferences: ['registry.example/*'] };
      const plain = await handleMutate(
        podRequest('registry.example/team/app:v1'),
        withRecord(deps([policy(entry)], reg)),
      );
      expect(plain.allowed).toBe(true);
      expect(JSON.stringify(patchOf(plain))).not.toContain(RECORD.split('/')[1]);
      const brought = await handleMutate(
        forged(podRequest('registry.example/team/app:v1')),
        withRecord(deps([policy(entry)], reg)),
      );
      expect(patchOf(brought)).toContainEqual({
        op: 'remove',
        path: '/metadata/annotations/imprimatur.io~1validated-images-fail',
      });
    });
  });

  describe('when no policy applies', () => {
    it('removes a record the object brought, and writes none', async () => {
      const request = forged({ ...podRequest('x'), kind: { group: 'apps', version: 'v1', kind: 'Deployment' } });
      const response = await handleMutate(
        request,
        withRecord(deps([policy({ imageReferences: ['*'] })], registry([]))),
      );
      expect(response.allowed).toBe(true);
      expect(patchOf(response)).toEqual([
        { op: 'remove', path: '/metadata/annotations/imprimatur.io~1validated-images-fail' },
      ]);
    });
  });

  describe('for the path that answers for every policy', () => {
    it('writes no record, as no validating webhook reads one there', async () => {
      const response = await handleMutate(
        podRequest('registry.example/team/app:v1'),
        deps([policy({ imageReferences: ['registry.example/*'], required: false })], registry([DIGEST_1])),
      );
      expect(patchOf(response)).toEqual([
        { op: 'replace', path: '/spec/containers/0/image', value: `registry.example/team/app:v1@${DIGEST_1}` },
      ]);
    });
  });
});
