import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VerificationCache } from '../pkg/cache/index.js';
import type { ImageRegistry } from '../pkg/cosign/index.js';
import { createSilentLogger } from '../pkg/log/index.js';
import type { OciFailure } from '../pkg/oci/index.js';
import { compile, type CompiledPolicy } from '../pkg/policy/index.js';
import { err, ok } from '../pkg/result/index.js';
import { observeAdmissions, type AdmissionMetrics } from './admission-metrics.js';
import { decodeAdmissionReview, type AdmissionRequest } from './admission-review.js';
import { handleMutate } from './mutate.js';
import { allowed, denied, patched } from './responses.js';
import type { PassCache } from './verify-images.js';

const REVIEW = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', 'admission-create-pod.json'), 'utf8'));
const DIGEST = `sha256:${'1'.repeat(64)}`;
const KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' });

function podRequest(image = 'registry.example/team/app:v1'): AdmissionRequest {
  const decoded = decodeAdmissionReview(REVIEW);
  if (!decoded.ok) throw new Error(decoded.error);
  return {
    ...decoded.value.request,
    name: 'web',
    namespace: 'default',
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image }] } },
  };
}

type Observed = Parameters<AdmissionMetrics['observeAdmission']>[0];

/** A clock that moves 2 ms per reading. */
function ticking(): () => number {
  let t = 0;
  return () => (t += 2);
}

describe('observeAdmissions', () => {
  it.each([
    ['allowed', allowed('u'), { allowed: true, patched: false }],
    ['patched', patched('u', [{ op: 'add', path: '/x', value: 1 }]), { allowed: true, patched: true }],
    ['denied', denied('u', 'no'), { allowed: false, patched: false }],
  ] as const)(
    'tells the metrics of an admission %s, with its kind, operation and duration',
    async (_, response, decision) => {
      const seen: Observed[] = [];
      const decide = observeAdmissions('mutate', () => response, { observeAdmission: (a) => seen.push(a) }, ticking());
      expect(await decide(podRequest(), 'Fail')).toBe(response);
      expect(seen).toEqual([
        { webhook: 'mutate', kind: 'Pod', operation: 'CREATE', ...decision, durationSeconds: 0.002 },
      ]);
    },
  );

  it('counts nothing when the handler throws, and lets the exception through', async () => {
    const seen: Observed[] = [];
    const decide = observeAdmissions(
      'validate',
      () => Promise.reject(new Error('bug')),
      { observeAdmission: (a) => seen.push(a) },
      ticking(),
    );
    await expect(decide(podRequest())).rejects.toThrow('bug');
    expect(seen).toEqual([]);
  });

  it('answers the admission when the metrics throw', async () => {
    const decide = observeAdmissions(
      'mutate',
      () => allowed('u'),
      {
        observeAdmission: () => {
          throw new Error('broken counter');
        },
      },
      ticking(),
    );
    expect(await decide(podRequest())).toEqual(allowed('u'));
  });
});

describe('the verification observer', () => {
  function policy(entry: object): CompiledPolicy {
    const compiled = compile({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'check-image', uid: 'u1', resourceVersion: '7' },
      spec: {
        validationFailureAction: 'Enforce',
        webhookTimeoutSeconds: 5,
        rules: [{ name: 'check-image', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [entry] }],
      },
    });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
    return compiled.value;
  }

  /** A registry whose tags all resolve to DIGEST, and which holds no signatures. */
  const registry: ImageRegistry = (() => {
    const unknown: OciFailure = { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', registry: 'r' };
    return {
      resolveDigest: async () =>
        ok({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 1 }),
      getManifest: async () => err(unknown),
      getBlob: async () => err({ ...unknown, code: 'BLOB_UNKNOWN' as const }),
      listReferrers: async () => ok({ descriptors: [], source: 'api' as const, bytesRead: 0, truncated: false }),
    };
  })();

  function run(policies: CompiledPolicy[], seen: object[], cache?: PassCache) {
    return handleMutate(podRequest(), {
      policies: () => policies,
      registry,
      log: createSilentLogger(),
      now: Date.now,
      ...(cache ? { cache } : {}),
      observeVerification: (v) => seen.push(v),
    });
  }

  it('is told of a failure with its reason', async () => {
    const seen: object[] = [];
    const keyed = policy({
      imageReferences: ['*'],
      attestors: [{ entries: [{ keys: { publicKeys: KEY, rekor: { ignoreTlog: true } } }] }],
    });
    expect((await run([keyed], seen)).allowed).toBe(false);
    expect(seen).toEqual([{ reason: 'SignatureNotFound', durationSeconds: expect.any(Number) }]);
  });

  it('is told of a pass without a reason, and not of the cache hits after it', async () => {
    const seen: object[] = [];
    const cache: PassCache = new VerificationCache({ now: Date.now });
    const pinning = policy({ imageReferences: ['*'] });
    await run([pinning], seen, cache);
    await run([pinning], seen, cache);
    await run([pinning], seen, cache);
    expect(seen).toEqual([{ durationSeconds: expect.any(Number) }]);
    expect(cache.stats().hits).toBe(2);
  });
});
