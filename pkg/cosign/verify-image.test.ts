import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { ImageRef } from '../imageref/index.js';
import { computeDigest, type Descriptor, type FetchedManifest, type OciFailure } from '../oci/index.js';
import type { CompiledAttestor, CompiledAttestorSet } from '../policy/index.js';
import { err, ok, type Result } from '../result/index.js';
import { SIGNATURE_ANNOTATION } from './discover.js';
import { verifyImage, type ImageRegistry } from './verify-image.js';

const IMAGE: ImageRef = { registry: 'registry.example', repository: 'team/app', tag: 'v1' };
const DIGEST = computeDigest(Buffer.from('the image manifest'));
const OTHER_DIGEST = computeDigest(Buffer.from('another image'));

function payload(digest: string, optional: Record<string, string> | null = null): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': 'registry.example/team/app' },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional,
    }),
  );
}

interface Layer {
  readonly payload: Buffer;
  readonly signedBy: KeyObject;
}

/** A registry holding one image and, optionally, its .sig manifest. */
function fakeRegistry(layers: readonly Layer[], failure?: OciFailure): ImageRegistry {
  const blobs = new Map(layers.map((l) => [computeDigest(l.payload), l.payload]));
  const descriptors: Descriptor[] = layers.map((l) => ({
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    digest: computeDigest(l.payload),
    size: l.payload.length,
    annotations: { [SIGNATURE_ANNOTATION]: sign('sha256', l.payload, l.signedBy).toString('base64') },
  }));
  const sigManifest: FetchedManifest = {
    digest: computeDigest(Buffer.from('sig manifest')),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    bytes: new Uint8Array(),
    manifest: {
      kind: 'manifest',
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: DIGEST, size: 1 },
      layers: descriptors,
    },
  };
  const unknown: OciFailure = {
    code: 'MANIFEST_UNKNOWN',
    message: 'MANIFEST_UNKNOWN: manifest unknown',
    registry: IMAGE.registry,
  };
  return {
    limits: { manifestBytes: 1 << 22, blobBytes: 1 << 20, maxEntries: 1000, maxTags: 100 },
    resolveDigest: async () =>
      failure
        ? err(failure)
        : ok({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 10 }),
    getManifest: async (_ref, reference): Promise<Result<FetchedManifest, OciFailure>> =>
      layers.length > 0 && (reference === `${DIGEST.replace(':', '-')}.sig` || reference === sigManifest.digest)
        ? ok(sigManifest)
        : err(unknown),
    getBlob: async (_ref, digest) => {
      const blob = blobs.get(digest);
      return blob ? ok(blob) : err({ ...unknown, code: 'BLOB_UNKNOWN' });
    },
    listReferrers: async () => ok({ descriptors: [], source: 'tag' as const }),
  };
}

function keyAttestor(key: KeyObject, field: string, annotations: Record<string, string> = {}): CompiledAttestor {
  return { $case: 'key', field, keyIndex: 0, key, annotations, signatureAlgorithm: 'sha256' };
}

function set(entries: CompiledAttestor[], count = entries.length): CompiledAttestorSet {
  return { field: 'spec.rules[0].verifyImages[0].attestors[0]', count, entries };
}

const k1 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const k2 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

describe('verifyImage', () => {
  describe('when the image is signed by the policy’s key', () => {
    it('is verified, for the resolved digest', async () => {
      const registry = fakeRegistry([{ payload: payload(DIGEST), signedBy: k1.privateKey }]);
      const outcome = await verifyImage(
        { image: IMAGE, attestors: [set([keyAttestor(k1.publicKey, 'key1')])] },
        { registry },
      );
      expect(outcome).toMatchObject({
        verified: true,
        digest: DIGEST,
        image: `registry.example/team/app@${DIGEST}`,
        matches: [{ attestor: 'key1', format: 'simple-signing', scheme: 'ecdsa-sha256' }],
      });
    });
  });

  describe('when the image has no signatures', () => {
    it('fails with SignatureNotFound and the seed’s words', async () => {
      const outcome = await verifyImage(
        { image: IMAGE, attestors: [set([keyAttestor(k1.publicKey, 'key1')])] },
        { registry: fakeRegistry([]) },
      );
      expect(outcome).toMatchObject({ verified: false, reason: 'SignatureNotFound' });
      expect(!outcome.verified && outcome.message).toMatch(
        new RegExp(`^image verification failed for registry\\.example/team/app@${DIGEST}: signature not found`),
      );
    });
  });

  describe('when the signature was made by another key', () => {
    it('fails with InvalidSignature and the seed’s words', async () => {
      const registry = fakeRegistry([{ payload: payload(DIGEST), signedBy: k2.privateKey }]);
      const outcome = await verifyImage(
        { image: IMAGE, attestors: [set([keyAttestor(k1.publicKey, 'key1')])] },
        { registry },
      );
      expect(outcome).toMatchObject({ verified: false, reason: 'InvalidSignature' });
      expect(!outcome.verified && outcome.message).toContain(': invalid signature: no signature verifies with key1');
    });
  });

  describe('when the signature is for another digest', () => {
    it('fails with DigestMismatch', async () => {
      const registry = fakeRegistry([{ payload: payload(OTHER_DIGEST), signedBy: k1.privateKey }]);
      const outcome = await verifyImage(
        { image: IMAGE, attestors: [set([keyAttestor(k1.publicKey, 'key1')])] },
        { registry },
      );
      expect(outcome).toMatchObject({ verified: false, reason: 'DigestMismatch' });
      expect(!outcome.verified && outcome.message).toContain(`is for ${OTHER_DIGEST}, not ${DIGEST}`);
    });
  });

  describe('when the policy requires annotations', () => {
    it('passes when they match and fails with AnnotationMismatch when not', async () => {
      const registry = fakeRegistry([{ payload: payload(DIGEST, { env: 'prod' }), signedBy: k1.privateKey }]);
      const good = await verifyImage(
        { image: IMAGE, attestors: [set([keyAttestor(k1.publicKey, 'k', { env: 'prod' })])] },
        { registry },
      );
      expect(good.verified).toBe(true);
      const bad = await verifyImage(
        { image: IMAGE, attestors: [set([keyAttestor(k1.publicKey, 'k', { env: 'dev' })])] },
        { registry },
      );
      expect(bad).toMatchObject({ verified: false, reason: 'AnnotationMismatch' });
    });
  });

  describe('with count', () => {
    const registry = fakeRegistry([{ payload: payload(DIGEST), signedBy: k1.privateKey }]);
    const entries = [keyAttestor(k2.publicKey, 'key2'), keyAttestor(k1.publicKey, 'key1')];

    it('needs every entry when count is the number of entries', async () => {
      const outcome = await verifyImage({ image: IMAGE, attestors: [set(entries)] }, { registry });
      expect(outcome).toMatchObject({ verified: false, reason: 'InvalidSignature' });
      expect(!outcome.verified && outcome.message).toContain('1 of 2 required attestors');
    });

    it('is satisfied by one of two when count is 1', async () => {
      const outcome = await verifyImage({ image: IMAGE, attestors: [set(entries, 1)] }, { registry });
      expect(outcome).toMatchObject({ verified: true, matches: [{ attestor: 'key1' }] });
    });

    it('counts a nested set as one entry', async () => {
      const nested: CompiledAttestor = { $case: 'nested', field: 'nested', set: set(entries, 1) };
      const outcome = await verifyImage({ image: IMAGE, attestors: [set([nested])] }, { registry });
      expect(outcome.verified).toBe(true);
    });
  });

  describe('when the registry fails', () => {
    it('fails with RegistryError carrying the OCI code', async () => {
      const failure: OciFailure = {
        code: 'UNAUTHORIZED',
        message: 'UNAUTHORIZED: registry.example/team/app:v1: authentication required (HTTP 401)',
        registry: 'registry.example',
      };
      const outcome = await verifyImage(
        { image: IMAGE, attestors: [set([keyAttestor(k1.publicKey, 'key1')])] },
        { registry: fakeRegistry([], failure) },
      );
      expect(outcome).toMatchObject({ verified: false, reason: 'RegistryError', ociCode: 'UNAUTHORIZED' });
      expect(!outcome.verified && outcome.message).toContain('authentication required');
    });
  });

  describe('with an attestor kind not verified yet', () => {
    it('fails closed, saying so', async () => {
      const registry = fakeRegistry([{ payload: payload(DIGEST), signedBy: k1.privateKey }]);
      const keyless: CompiledAttestor = {
        $case: 'keyless',
        field: 'keyless',
        roots: [],
        ignoreTlog: false,
        ignoreSct: false,
        annotations: {},
      };
      const outcome = await verifyImage({ image: IMAGE, attestors: [set([keyless])] }, { registry });
      expect(outcome).toMatchObject({ verified: false, reason: 'InvalidSignature' });
      expect(!outcome.verified && outcome.message).toContain('keyless attestors are not verified yet');
    });
  });

  it('uses the digest the registry resolved, never the tag', async () => {
    const registry = fakeRegistry([{ payload: payload(DIGEST), signedBy: k1.privateKey }]);
    const outcome = await verifyImage(
      { image: IMAGE, attestors: [set([keyAttestor(k1.publicKey, 'key1')])] },
      { registry },
    );
    expect(outcome.verified && outcome.digest).toBe(DIGEST);
  });
});
