import { generateKeyPairSync, sign } from 'node:crypto';
import type { ImageRef } from '../imageref/index.js';
import { computeDigest } from '../oci/index.js';
import type { AttestorTrust, CompiledAttestorSet } from '../policy/index.js';
import { DEFAULT_WORK_LIMITS, WorkBudget } from './budget.js';
import { discoverSignatures, LEGACY_SIGNATURE_ARTIFACT_TYPE } from './discover.js';
import { fakeDigest, FakeRegistry, SIGNATURE_ANNOTATION } from './testdata/fake-registry.js';
import { keyBundle, statement, toBlob } from './testdata/signed-bundles.js';
import { verifyImage } from './verify-image.js';

const IMAGE: ImageRef = { registry: 'registry.example', repository: 'team/app', tag: 'v1' };
const DIGEST = computeDigest(Buffer.from('the image manifest'));
const MIB = 1024 * 1024;
const IGNORE_TLOG: AttestorTrust = {
  requireTlog: false,
  requireSct: false,
  authorities: { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] },
};

const k1 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const ATTESTORS: CompiledAttestorSet[] = [
  {
    field: 'attestors[0]',
    count: 1,
    entries: [
      {
        $case: 'key',
        field: 'k1',
        keyIndex: 0,
        key: k1.publicKey,
        trust: IGNORE_TLOG,
        annotations: {},
        signatureAlgorithm: 'sha256',
      },
    ],
  },
];
/** The image's real signature: a bundle by k1, a couple of kilobytes. */
const REAL = toBlob(keyBundle(k1.privateKey, statement(DIGEST)));

/** A registry listing `junk` referrers that claim to be bundles (with `junkPredicate`), then the real bundle. */
function flooded(junk: number, junkBlob: Uint8Array, junkPredicate?: string | null): FakeRegistry {
  const registry = new FakeRegistry(DIGEST);
  for (let i = 0; i < junk; i++) {
    registry.putBundle(junkBlob, {
      digest: fakeDigest(i + 1),
      ...(junkPredicate !== undefined ? { predicateType: junkPredicate } : {}),
    });
  }
  registry.putBundle(REAL);
  return registry;
}

describe('when the .sig manifest offers 1,000 layers of 1 MiB each', () => {
  it('fails with LimitExceeded naming the byte limit, having read no more than the budget', async () => {
    const registry = new FakeRegistry(DIGEST);
    const payload = Buffer.alloc(MIB, 0x20);
    const signature = Buffer.alloc(64, 1).toString('base64');
    registry.putSignatures(
      Array.from({ length: 1000 }, (_, i) => ({
        payload,
        digest: fakeDigest(i + 1),
        annotations: { [SIGNATURE_ANNOTATION]: signature },
      })),
    );
    const budget = new WorkBudget();
    const outcome = await verifyImage({ image: IMAGE, attestors: ATTESTORS }, { registry, budget });
    expect(outcome).toMatchObject({ verified: false, reason: 'LimitExceeded' });
    expect(!outcome.verified && outcome.message).toContain(
      `more signatures were offered than read: bytes read reached the limit of ${DEFAULT_WORK_LIMITS.bytes}`,
    );
    expect(registry.served.bytes).toBeLessThanOrEqual(DEFAULT_WORK_LIMITS.bytes);
    expect(budget.used('bytes')).toBeLessThanOrEqual(DEFAULT_WORK_LIMITS.bytes);
  });
});

describe('when junk bundles claiming to be cosign signatures are listed before the real one', () => {
  // Every referrer manifest costs a request, and there are 200: 1 for the .sig tag and 1 for the referrers list leave
  // 198, of which a quarter (50) is kept back for blobs; 148 manifests are read, so the real bundle is read when at
  // most 147 junk referrers come before it.
  const junk = Buffer.alloc(4096, 0x78);

  it('fails with LimitExceeded naming the request limit when there are 5,000: the real one is never reached', async () => {
    const registry = flooded(5000, junk);
    const outcome = await verifyImage({ image: IMAGE, attestors: ATTESTORS }, { registry });
    expect(outcome).toMatchObject({ verified: false, reason: 'LimitExceeded' });
    expect(!outcome.verified && outcome.message).toContain(
      `no signature at registry.example/team/app was read before registry requests reached the limit of ${DEFAULT_WORK_LIMITS.requests}`,
    );
    expect(registry.served.requests).toBeLessThanOrEqual(DEFAULT_WORK_LIMITS.requests);
  });

  it('verifies with 147 of them, and fails with LimitExceeded with 148: where the request limit falls', async () => {
    const enough = await verifyImage({ image: IMAGE, attestors: ATTESTORS }, { registry: flooded(147, junk) });
    expect(enough).toMatchObject({ verified: true, matches: [{ format: 'sigstore-bundle' }] });
    const tooMany = await verifyImage({ image: IMAGE, attestors: ATTESTORS }, { registry: flooded(148, junk) });
    expect(tooMany).toMatchObject({ verified: false, reason: 'LimitExceeded' });
  });
});

describe('when thousands of junk referrers are listed', () => {
  // A flood of referrers can keep a bundle listed after it from being read (the budget is finite), but never the
  // .sig layers, which are read before any referrer manifest, nor the blobs of the manifests that were read, for
  // which a quarter of the requests is kept back.
  const junk = Buffer.alloc(4096, 0x78);

  it('verifies a real bundle that declares cosign’s predicate type among 5,000 junk ones that declare none', async () => {
    const registry = flooded(5000, junk, null);
    const outcome = await verifyImage({ image: IMAGE, attestors: ATTESTORS }, { registry });
    expect(outcome).toMatchObject({ verified: true, matches: [{ format: 'sigstore-bundle' }] });
    expect(registry.served.requests).toBeLessThanOrEqual(DEFAULT_WORK_LIMITS.requests);
  });

  it('still verifies a .sig layer', async () => {
    const registry = flooded(5000, junk);
    const payload = Buffer.from(
      JSON.stringify({ critical: { image: { 'docker-manifest-digest': DIGEST } }, optional: null }),
    );
    const layer = {
      payload,
      annotations: { [SIGNATURE_ANNOTATION]: sign('sha256', payload, k1.privateKey).toString('base64') },
    };
    registry.putSignatures([layer]);
    const outcome = await verifyImage({ image: IMAGE, attestors: ATTESTORS }, { registry });
    expect(outcome).toMatchObject({ verified: true, matches: [{ format: 'simple-signing' }] });
    expect(registry.served.requests).toBeLessThanOrEqual(DEFAULT_WORK_LIMITS.requests);
  });
});

describe('when large junk bundles are listed before a small real one', () => {
  it('verifies the real one, read first as the smallest, within the byte budget', async () => {
    // 100 × 200 KiB of junk is more than the 8 MiB the budget allows to be read.
    const registry = flooded(100, Buffer.alloc(200 * 1024, 0x78));
    const outcome = await verifyImage({ image: IMAGE, attestors: ATTESTORS }, { registry });
    expect(outcome).toMatchObject({ verified: true, matches: [{ format: 'sigstore-bundle' }] });
    expect(registry.served.bytes).toBeLessThanOrEqual(DEFAULT_WORK_LIMITS.bytes);
  });
});

describe('when an entry of type SigstoreBundle asks for bundles alone', () => {
  /** A registry with a legacy .sig signature, a legacy referrer manifest and, when `bundle`, the real bundle. */
  function everyLayout(bundle: boolean): FakeRegistry {
    const registry = new FakeRegistry(DIGEST);
    const payload = Buffer.from('{"critical":{}}');
    const annotations = { [SIGNATURE_ANNOTATION]: sign('sha256', payload, k1.privateKey).toString('base64') };
    registry.putSignatures([{ payload, annotations }]);
    registry.putAttestationReferrer(LEGACY_SIGNATURE_ARTIFACT_TYPE, [{ envelope: payload, annotations }]);
    if (bundle) registry.putBundle(REAL);
    return registry;
  }
  const location = { repository: IMAGE, digest: DIGEST };

  it('reads the bundle, and neither asks for the .sig tag nor reads the legacy referrer', async () => {
    const registry = everyLayout(true);
    const found = await discoverSignatures(location, { registry, budget: new WorkBudget(), layouts: 'bundles' });
    expect(found.ok && found.value.artifacts.map((a) => a.format)).toEqual(['sigstore-bundle']);
    expect(registry.manifestsAsked).toHaveLength(1);
    expect(registry.manifestsAsked[0]).not.toContain('.sig');
    expect(registry.calls).toEqual(['listReferrers', 'getManifest', 'getBlob']);
  });

  it('finds nothing where only legacy signatures are', async () => {
    const registry = everyLayout(false);
    const found = await discoverSignatures(location, { registry, budget: new WorkBudget(), layouts: 'bundles' });
    expect(found.ok && found.value.artifacts).toEqual([]);
    expect(registry.calls).toEqual(['listReferrers']);
  });

  it('reads every layout when asked for all of them (type Cosign)', async () => {
    const registry = everyLayout(true);
    const found = await discoverSignatures(location, { registry, budget: new WorkBudget(), layouts: 'all' });
    const formats = found.ok ? found.value.artifacts.map((a) => a.format).sort() : [];
    expect(formats).toEqual(['sigstore-bundle', 'simple-signing', 'simple-signing']);
    expect(registry.manifestsAsked).toContain(`${DIGEST.replace(':', '-')}.sig`);
  });
});
