import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { ImageRef } from '../imageref/index.js';
import { computeDigest, type Descriptor, type FetchedManifest, type OciFailure } from '../oci/index.js';
import type { AttestorTrust, CompiledAttestor, CompiledAttestorSet } from '../policy/index.js';
import { createTestLog } from '../trust/testdata/test-log.js';
import { err, ok, type Result } from '../result/index.js';
import { BUNDLE_ANNOTATION, SIGNATURE_ANNOTATION } from './discover.js';
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
  /** More annotations, e.g. the Rekor bundle; given the layer's signature. */
  readonly annotations?: (signature: Buffer) => Record<string, string>;
}

/** A registry holding one image and, optionally, its .sig manifest. */
function fakeRegistry(layers: readonly Layer[], failure?: OciFailure): ImageRegistry {
  const blobs = new Map(layers.map((l) => [computeDigest(l.payload), l.payload]));
  const descriptors: Descriptor[] = layers.map((l) => ({
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    digest: computeDigest(l.payload),
    size: l.payload.length,
    annotations: (() => {
      const signature = sign('sha256', l.payload, l.signedBy);
      return { [SIGNATURE_ANNOTATION]: signature.toString('base64'), ...l.annotations?.(signature) };
    })(),
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

const NO_AUTHORITIES = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
const IGNORE_TLOG: AttestorTrust = { requireTlog: false, requireSct: false, authorities: NO_AUTHORITIES };

function keyAttestor(
  key: KeyObject,
  field: string,
  annotations: Record<string, string> = {},
  trust: AttestorTrust = IGNORE_TLOG,
): CompiledAttestor {
  return { $case: 'key', field, keyIndex: 0, key, trust, annotations, signatureAlgorithm: 'sha256' };
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

  describe('when the attestor requires the transparency log', () => {
    const log = createTestLog();
    const requireTlog: AttestorTrust = { requireTlog: true, requireSct: false, authorities: log.trustRoot };
    const pem = k1.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const logged = (entry: (signature: Buffer) => string) => (signature: Buffer) => ({
      [BUNDLE_ANNOTATION]: entry(signature),
    });
    const verifyWith = (layer: Layer, trust = requireTlog) =>
      verifyImage(
        { image: IMAGE, attestors: [set([keyAttestor(k1.publicKey, 'key1', {}, trust)])] },
        { registry: fakeRegistry([layer]) },
      );

    describe('and the signature carries a Rekor entry signed by a trusted log', () => {
      it('is verified, with the time the log recorded it', async () => {
        const layer: Layer = {
          payload: payload(DIGEST),
          signedBy: k1.privateKey,
          annotations: logged((signature) =>
            log.logSignature({ payload: payload(DIGEST), signature, signerPem: pem, integratedTime: 1_700_000_000 }),
          ),
        };
        expect(await verifyWith(layer)).toMatchObject({
          verified: true,
          matches: [{ loggedAt: '2023-11-14T22:13:20.000Z' }],
        });
      });
    });

    describe('and the signature has no Rekor entry', () => {
      it('fails with invalid signature, saying the entry is missing', async () => {
        const outcome = await verifyWith({ payload: payload(DIGEST), signedBy: k1.privateKey });
        expect(outcome).toMatchObject({ verified: false, reason: 'InvalidSignature' });
        expect(!outcome.verified && outcome.message).toMatch(
          /invalid signature: .*transparency log: the signature has no transparency-log entry/,
        );
      });
    });

    describe('and the entry was signed by a log that is not trusted', () => {
      it('fails, naming the unknown log', async () => {
        const other = createTestLog();
        const layer: Layer = {
          payload: payload(DIGEST),
          signedBy: k1.privateKey,
          annotations: logged((signature) =>
            other.logSignature({ payload: payload(DIGEST), signature, signerPem: pem }),
          ),
        };
        const outcome = await verifyWith(layer);
        expect(!outcome.verified && outcome.message).toContain(`no trusted Rekor key for log ${other.logId}`);
      });
    });

    describe('and the entry logs another signature', () => {
      it('fails: the entry is not proof of this signature', async () => {
        const layer: Layer = {
          payload: payload(DIGEST),
          signedBy: k1.privateKey,
          annotations: logged(() =>
            log.logSignature({ payload: payload(DIGEST), signature: Buffer.from('other'), signerPem: pem }),
          ),
        };
        const outcome = await verifyWith(layer);
        expect(!outcome.verified && outcome.message).toContain('the logged signature is not this signature');
      });
    });

    describe('and the entry was made by another key', () => {
      it('fails: the log says someone else signed', async () => {
        const otherPem = k2.publicKey.export({ type: 'spki', format: 'pem' }).toString();
        const layer: Layer = {
          payload: payload(DIGEST),
          signedBy: k1.privateKey,
          annotations: logged((signature) =>
            log.logSignature({ payload: payload(DIGEST), signature, signerPem: otherPem }),
          ),
        };
        const outcome = await verifyWith(layer);
        expect(!outcome.verified && outcome.message).toContain('the logged key or certificate is not the one');
      });
    });

    describe('and the SET was tampered with', () => {
      it('fails: the signed entry timestamp does not verify', async () => {
        const layer: Layer = {
          payload: payload(DIGEST),
          signedBy: k1.privateKey,
          annotations: logged((signature) => {
            const bundle = JSON.parse(log.logSignature({ payload: payload(DIGEST), signature, signerPem: pem })) as {
              Payload: { integratedTime: number };
            };
            bundle.Payload.integratedTime += 1;
            return JSON.stringify(bundle);
          }),
        };
        const outcome = await verifyWith(layer);
        expect(!outcome.verified && outcome.message).toContain('does not verify with the Rekor key');
      });
    });
  });

  describe('with a keyless attestor and a signature without a certificate', () => {
    it('fails with invalid signature: no certificate found on signature', async () => {
      const registry = fakeRegistry([{ payload: payload(DIGEST), signedBy: k1.privateKey }]);
      const keyless: CompiledAttestor = {
        $case: 'keyless',
        field: 'keyless',
        extensions: {},
        trust: { ...IGNORE_TLOG, requireTlog: true },
        annotations: {},
      };
      const outcome = await verifyImage({ image: IMAGE, attestors: [set([keyless])] }, { registry });
      expect(outcome).toMatchObject({ verified: false, reason: 'InvalidSignature' });
      expect(!outcome.verified && outcome.message).toContain('no certificate found on signature');
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
