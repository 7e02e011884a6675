import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { compileImagePattern, type ImageRef } from '../imageref/index.js';
import { computeDigest, type OciFailure } from '../oci/index.js';
import type { AttestorTrust, CompiledAttestor, CompiledAttestorSet, KeylessAttestor } from '../policy/index.js';
import { toAttestorTrust } from '../trust/index.js';
import { createTestCa, type TestLeaf } from '../trust/testdata/test-ca.js';
import { createTestLog } from '../trust/testdata/test-log.js';
import { BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, SIGNATURE_ANNOTATION } from './legacy-artifact.js';
import { FakeRegistry } from './testdata/fake-registry.js';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  keyBundle,
  keylessBundle,
  statement,
  toBlob,
  type StatementSubject,
} from './testdata/signed-bundles.js';
import { resolveImage, verifyImage } from './verify-image.js';

const IMAGE: ImageRef = { registry: 'registry.example', repository: 'team/app', tag: 'v1' };
const DIGEST = computeDigest(Buffer.from('the image manifest'));
const OTHER_DIGEST = computeDigest(Buffer.from('another image'));
const ISSUER = 'https://issuer.example';

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

/** A registry holding one image and, when there are layers, its .sig manifest. */
function fakeRegistry(layers: readonly Layer[], failure?: OciFailure): FakeRegistry {
  const registry = new FakeRegistry(DIGEST);
  registry.resolveFailure = failure;
  if (layers.length > 0) {
    registry.putSignatures(
      layers.map((l) => {
        const signature = sign('sha256', l.payload, l.signedBy);
        return {
          payload: l.payload,
          annotations: { [SIGNATURE_ANNOTATION]: signature.toString('base64'), ...l.annotations?.(signature) },
        };
      }),
    );
  }
  return registry;
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

/** A test CA and log for keyless signatures, and the trust a keyless attestor of theirs checks against. */
const log = createTestLog();
let leaf: TestLeaf;
let keylessTrust: AttestorTrust;
beforeAll(async () => {
  const ca = await createTestCa();
  leaf = await ca.issue({ email: 'dev@example.com', issuer: ISSUER });
  keylessTrust = {
    requireTlog: true,
    requireSct: false,
    authorities: toAttestorTrust(log.trustRoot, { roots: [ca.rootDer] }),
  };
});

function keylessAttestor(annotations: Record<string, string> = {}): KeylessAttestor {
  return {
    $case: 'keyless',
    field: 'keyless',
    subject: compileImagePattern('dev@example.com'),
    issuer: compileImagePattern(ISSUER),
    extensions: {},
    trust: keylessTrust,
    annotations,
  };
}

describe('verifyImage', () => {
  describe('when the registries are to be read insecurely (allowInsecureRegistry)', () => {
    it('makes every registry call insecure: resolving, listing, reading manifests and blobs', async () => {
      const registry = fakeRegistry([{ payload: payload(DIGEST), signedBy: k1.privateKey }]);
      const attestors = [set([keyAttestor(k1.publicKey, 'key1')])];
      expect(await verifyImage({ image: IMAGE, attestors }, { registry, insecure: true })).toMatchObject({
        verified: true,
      });
      expect(new Set(registry.calls)).toEqual(
        new Set(['resolveDigest insecure', 'getManifest insecure', 'listReferrers insecure', 'getBlob insecure']),
      );
      registry.calls.length = 0;
      expect(await verifyImage({ image: IMAGE, attestors }, { registry })).toMatchObject({ verified: true });
      expect(new Set(registry.calls)).toEqual(new Set(['resolveDigest', 'getManifest', 'listReferrers', 'getBlob']));
    });
  });

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
      // The first entry failing leaves the count out of reach, so the second is not tried.
      expect(!outcome.verified && outcome.message).toContain('0 of 2 required attestors');
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

/** Two ways of signing a bundle: cosign sign --key, and keyless with a certificate and a log entry. */
const BUNDLE_SIGNERS = [
  {
    name: 'a key-signed bundle',
    sign: (body: Buffer): Bundle => keyBundle(k1.privateKey, body),
    attestor: (annotations: Record<string, string> = {}): CompiledAttestor =>
      keyAttestor(k1.publicKey, 'key1', annotations),
  },
  {
    name: 'a keyless bundle',
    sign: (body: Buffer): Bundle => keylessBundle(leaf, log, body),
    attestor: (annotations: Record<string, string> = {}): CompiledAttestor => keylessAttestor(annotations),
  },
] as const;

/** A registry holding one image whose only signature is the bundle made of `body`. */
function bundleRegistry(bundle: Bundle): FakeRegistry {
  const registry = new FakeRegistry(DIGEST);
  registry.putBundle(toBlob(bundle));
  return registry;
}

describe.each(BUNDLE_SIGNERS)('when $name’s in-toto subject carries annotations', ({ sign: signBundle, attestor }) => {
  const verifyAgainst = (subjects: StatementSubject[], annotations: Record<string, string>) =>
    verifyImage(
      { image: IMAGE, attestors: [set([attestor(annotations)])] },
      { registry: bundleRegistry(signBundle(statement(subjects))) },
    );
  const staging: StatementSubject[] = [{ digest: DIGEST, annotations: { env: 'staging' } }];

  it('fails with AnnotationMismatch against an attestor that requires another value', async () => {
    const outcome = await verifyAgainst(staging, { env: 'prod' });
    expect(outcome).toMatchObject({ verified: false, reason: 'AnnotationMismatch' });
    expect(!outcome.verified && outcome.message).toContain('annotation "env" is "staging", the policy requires "prod"');
  });

  it('passes against an attestor that requires the value it carries', async () => {
    const outcome = await verifyAgainst(staging, { env: 'staging' });
    expect(outcome).toMatchObject({ verified: true, matches: [{ format: 'sigstore-bundle' }] });
  });

  it('fails with AnnotationMismatch when the required annotation is absent', async () => {
    const outcome = await verifyAgainst([{ digest: DIGEST }], { env: 'staging' });
    expect(outcome).toMatchObject({ verified: false, reason: 'AnnotationMismatch' });
  });

  it('reads them from the subject that names the image digest, not from another subject', async () => {
    const subjects: StatementSubject[] = [
      { digest: OTHER_DIGEST, annotations: { env: 'prod' } },
      { digest: DIGEST, annotations: { env: 'staging' } },
    ];
    expect(await verifyAgainst(subjects, { env: 'prod' })).toMatchObject({
      verified: false,
      reason: 'AnnotationMismatch',
    });
    expect(await verifyAgainst(subjects, { env: 'staging' })).toMatchObject({ verified: true });
  });
});

describe('when what a trusted signer signed or logged is malformed', () => {
  // Each is signed by the attestor's key or certificate, so that the check reaches the malformed part; the detail shows
  // that it did.
  const STATEMENTS: readonly [string, string, string][] = [
    ['the JSON null', 'null', 'the in-toto statement is not a JSON object'],
    ['an empty array', '[]', 'the in-toto statement is not a JSON object'],
    [
      'a subject list holding null',
      `{"predicateType":"${COSIGN_SIGN_PREDICATE_TYPE}","subject":[null]}`,
      'the in-toto statement has a subject without a digest',
    ],
    [
      'a null subject list',
      `{"predicateType":"${COSIGN_SIGN_PREDICATE_TYPE}","subject":null}`,
      'the in-toto statement has no subject',
    ],
    ['a subject list holding null, and no predicate type', '{"subject":[null]}', 'has no predicateType'],
    [
      '20,000 nested arrays',
      `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      'the in-toto statement is not a JSON object',
    ],
    ['20,000 unclosed arrays', '['.repeat(20_000), 'the in-toto statement is not JSON'],
  ];

  describe.each(BUNDLE_SIGNERS)('in $name', ({ sign: signBundle, attestor }) => {
    it.each(STATEMENTS)(
      'fails with InvalidSignature, and does not throw, when the statement is %s',
      async (_, text, detail) => {
        const registry = bundleRegistry(signBundle(Buffer.from(text)));
        const outcome = verifyImage({ image: IMAGE, attestors: [set([attestor()])] }, { registry });
        await expect(outcome).resolves.toMatchObject({
          verified: false,
          reason: 'InvalidSignature',
          message: expect.stringContaining(detail),
        });
      },
    );
  });

  /** A .sig layer with `body` signed by the attestor's key or certificate, and the Rekor bundle `rekor` makes. */
  const LEGACY_SIGNERS = [
    {
      name: 'a legacy signature by a key',
      layer: (body: Buffer, rekor?: (signature: Buffer) => string) => {
        const signature = sign('sha256', body, k1.privateKey);
        return {
          payload: body,
          annotations: {
            [SIGNATURE_ANNOTATION]: signature.toString('base64'),
            ...(rekor ? { [BUNDLE_ANNOTATION]: rekor(signature) } : {}),
          },
        };
      },
      attestor: () =>
        keyAttestor(k1.publicKey, 'key1', {}, { ...IGNORE_TLOG, requireTlog: true, authorities: log.trustRoot }),
    },
    {
      name: 'a legacy keyless signature',
      layer: (body: Buffer, rekor?: (signature: Buffer) => string) => {
        const signature = sign('sha256', body, leaf.privateKey);
        return {
          payload: body,
          annotations: {
            [SIGNATURE_ANNOTATION]: signature.toString('base64'),
            [CERTIFICATE_ANNOTATION]: leaf.pem,
            ...(rekor ? { [BUNDLE_ANNOTATION]: rekor(signature) } : {}),
          },
        };
      },
      attestor: () => keylessAttestor(),
    },
  ] as const;

  describe.each(LEGACY_SIGNERS)('in $name', ({ layer, attestor }) => {
    const verifyLayer = (body: Buffer, rekor?: (signature: Buffer) => string) => {
      const registry = new FakeRegistry(DIGEST);
      registry.putSignatures([layer(body, rekor)]);
      return verifyImage({ image: IMAGE, attestors: [set([attestor()])] }, { registry });
    };

    it('fails with InvalidSignature, and does not throw, when the payload is the JSON null', async () => {
      await expect(verifyLayer(Buffer.from('null'))).resolves.toMatchObject({
        verified: false,
        reason: 'InvalidSignature',
        message: expect.stringContaining('payload has no critical.image.docker-manifest-digest'),
      });
    });

    const REKOR_BUNDLES: readonly [string, () => string, string][] = [
      ['the JSON null', () => 'null', 'lacks SignedEntryTimestamp or Payload'],
      ['an empty array', () => '[]', 'lacks SignedEntryTimestamp or Payload'],
      [
        'an entry whose logged body is the JSON null',
        () => log.logBody(null as unknown as object),
        'the logged body is not a JSON object',
      ],
      [
        'an entry logged at a time past the end of Date',
        () => log.logBody({}, 8.64e12 + 1),
        'integratedTime 8640000000001 is not a time',
      ],
    ];

    it.each(REKOR_BUNDLES)(
      'fails with InvalidSignature, and does not throw, when the Rekor bundle is %s',
      async (_, rekor, detail) => {
        await expect(verifyLayer(payload(DIGEST), rekor)).resolves.toMatchObject({
          verified: false,
          reason: 'InvalidSignature',
          message: expect.stringMatching(new RegExp(`: transparency log: .*${detail}`)),
        });
      },
    );
  });
});

describe('resolveImage', () => {
  it('resolves the digest with an insecure call when asked, and a secure one otherwise', async () => {
    const registry = fakeRegistry([]);
    expect(await resolveImage(IMAGE, { registry, insecure: true })).toMatchObject({ ok: true });
    expect(await resolveImage(IMAGE, { registry })).toMatchObject({ ok: true });
    expect(registry.calls).toEqual(['resolveDigest insecure', 'resolveDigest']);
  });
});
