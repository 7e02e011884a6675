import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle } from '@sigstore/bundle';
import { computeDigest } from '../oci/index.js';
import type { AttestorTrust, KeyAttestor } from '../policy/index.js';
import { parseTrustedRoot } from '../trust/index.js';
import { toBundleArtifact } from './bundle-artifact.js';
import type { ClaimRequirement } from './check-claims.js';
import { checkWithKey } from './check-key.js';
import type { SignedArtifact } from './signed-artifact.js';
import { COSIGN_SIGN_PREDICATE_TYPE } from './statement.js';
import { CAPTURED, readCaptured } from './testdata/captured-registry.js';
import { keyBundle, statement, toBlob } from './testdata/signed-bundles.js';

const DIGEST = computeDigest(Buffer.from('image'));
const NO_AUTHORITIES = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
/** What an attestor with rekor.ignoreTlog: true checks against. */
const IGNORE_TLOG: AttestorTrust = { requireTlog: false, requireSct: false, authorities: NO_AUTHORITIES };
const WANT: ClaimRequirement = { digest: DIGEST, predicateType: COSIGN_SIGN_PREDICATE_TYPE, annotations: {} };

function attestor(key: KeyObject, trust: AttestorTrust = IGNORE_TLOG): KeyAttestor {
  return {
    $case: 'key',
    field: 'spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.publicKeys',
    keyIndex: 0,
    key,
    trust,
    annotations: {},
    signatureAlgorithm: 'sha256',
  };
}

/** The bundle as discovery reads it from a referrer. */
function attached(bundle: Bundle): SignedArtifact {
  const artifact = toBundleArtifact('referrer sha256:test', computeDigest(Buffer.from('referrer')), toBlob(bundle));
  if (!artifact.ok) throw new Error(artifact.error);
  return artifact.value;
}

describe('checkWithKey on a Sigstore bundle', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  describe('when the policy’s key signed a cosign signature of the image', () => {
    it('accepts it', () => {
      expect(
        checkWithKey(attestor(p256.publicKey), attached(keyBundle(p256.privateKey, statement(DIGEST))), WANT),
      ).toEqual({
        $case: 'match',
        match: {
          format: 'sigstore-bundle',
          scheme: 'ecdsa-sha256',
          signature: computeDigest(Buffer.from('referrer')),
          source: 'referrer sha256:test',
        },
      });
    });
  });

  describe('when the key is P-384 and cosign hashed with SHA-384', () => {
    it('accepts it, although sigstore-js checks with SHA-256', () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      const check = checkWithKey(
        attestor(p384.publicKey),
        attached(keyBundle(p384.privateKey, statement(DIGEST), 'sha384')),
        WANT,
      );
      expect(check).toMatchObject({ $case: 'match', match: { scheme: 'ecdsa-sha384' } });
    });
  });

  describe('when another key signed it', () => {
    it('says nothing about the image: the bundle is not this key’s', () => {
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      expect(
        checkWithKey(attestor(p256.publicKey), attached(keyBundle(other.privateKey, statement(DIGEST))), WANT),
      ).toEqual({ $case: 'unrelated' });
    });
  });

  describe('when the attestor requires the transparency log and the bundle has no entry', () => {
    it('fails with InvalidSignature, saying the entry is missing', () => {
      const requireTlog: AttestorTrust = { ...IGNORE_TLOG, requireTlog: true };
      expect(
        checkWithKey(
          attestor(p256.publicKey, requireTlog),
          attached(keyBundle(p256.privateKey, statement(DIGEST))),
          WANT,
        ),
      ).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('expected 1 tlog entries, got 0') },
      });
    });
  });

  describe('when it is a signature of another image', () => {
    it('fails with DigestMismatch', () => {
      const other = computeDigest(Buffer.from('other image'));
      expect(
        checkWithKey(attestor(p256.publicKey), attached(keyBundle(p256.privateKey, statement(other))), WANT),
      ).toMatchObject({
        $case: 'failure',
        failure: { reason: 'DigestMismatch', detail: expect.stringContaining(`is for ${other}, not ${DIGEST}`) },
      });
    });
  });

  describe('when it is a signature of a thousand other images', () => {
    it('fails with DigestMismatch, naming five of them and how many more', () => {
      const others = Array.from({ length: 1000 }, (_, i) => ({ digest: computeDigest(Buffer.from(`other ${i}`)) }));
      const check = checkWithKey(
        attestor(p256.publicKey),
        attached(keyBundle(p256.privateKey, statement(others))),
        WANT,
      );
      expect(check).toMatchObject({
        $case: 'failure',
        failure: {
          reason: 'DigestMismatch',
          detail: expect.stringContaining(`is for ${others[0]!.digest}, `),
        },
      });
      const detail = check.$case === 'failure' ? check.failure.detail : '';
      expect(detail).toContain(`${others[4]!.digest} and 995 more, not ${DIGEST}`);
      expect(detail).not.toContain(others[5]!.digest);
    });
  });

  describe('when it is an attestation, not a signature', () => {
    it('is not taken for a signature', () => {
      const attestation = statement(DIGEST, 'https://slsa.dev/provenance/v1');
      expect(
        checkWithKey(attestor(p256.publicKey), attached(keyBundle(p256.privateKey, attestation)), WANT),
      ).toMatchObject({
        $case: 'failure',
        failure: { reason: 'InvalidSignature', detail: expect.stringContaining('is not a cosign signature') },
      });
    });
  });
});

describe('checkWithKey on the bundle cosign v3 wrote with a Rekor entry (testdata/captured/v3-bundle-rekor)', () => {
  const captured = readCaptured('v3-bundle-rekor');
  const [bundleDigest, blob] = Object.entries(captured.blobs).find(([, b]) =>
    Buffer.from(b, 'base64').toString('utf8').includes('"dsseEnvelope"'),
  )!;
  const root = parseTrustedRoot(readFileSync(join(CAPTURED, 'trusted_root.json'), 'utf8'), 'trusted_root.json');
  if (!root.ok) throw new Error(root.error);
  const k1 = createPublicKey(readFileSync(join(CAPTURED, 'k1.pub'), 'utf8'));
  const requireTlog: AttestorTrust = { requireTlog: true, requireSct: false, authorities: root.value };
  const want: ClaimRequirement = { ...WANT, digest: captured.digest };
  type Entry = { integratedTime: string; inclusionPromise?: unknown };

  /** The captured bundle, its log entry changed by `edit`, as discovery reads it. */
  function withEntry(edit: (entry: Entry) => void): SignedArtifact {
    const json = JSON.parse(Buffer.from(blob, 'base64').toString('utf8')) as {
      verificationMaterial: { tlogEntries: Entry[] };
    };
    edit(json.verificationMaterial.tlogEntries[0]!);
    const artifact = toBundleArtifact(`referrer ${bundleDigest}`, bundleDigest, Buffer.from(JSON.stringify(json)));
    if (!artifact.ok) throw new Error(artifact.error);
    return artifact.value;
  }

  describe('as captured, with the entry’s inclusion promise and proof', () => {
    it('accepts it, with the time the signed entry timestamp proves', () => {
      let integratedTime = '';
      const entry = withEntry((e) => void (integratedTime = e.integratedTime));
      expect(checkWithKey(attestor(k1, requireTlog), entry, want)).toMatchObject({
        $case: 'match',
        match: { format: 'sigstore-bundle', loggedAt: new Date(Number(integratedTime) * 1000).toISOString() },
      });
    });
  });

  describe.each([
    ['another time', '1700000000'],
    ['a time past the end of Date', '99999999999999'],
  ])('when the entry has its inclusion proof but no promise, and says it was logged at %s', (_, integratedTime) => {
    it('accepts it, the proof holding, but claims no log time: the proof does not cover integratedTime', () => {
      const entry = withEntry((e) => {
        delete e.inclusionPromise;
        e.integratedTime = integratedTime;
      });
      const check = checkWithKey(attestor(k1, requireTlog), entry, want);
      expect(check).toMatchObject({ $case: 'match', match: { format: 'sigstore-bundle', scheme: 'ecdsa-sha256' } });
      expect(check.$case === 'match' && check.match.loggedAt).toBeUndefined();
    });
  });
});
