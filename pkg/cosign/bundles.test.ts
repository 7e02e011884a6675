import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { toDSSEBundle } from '@sigstore/bundle';
import { computeDigest } from '../oci/index.js';
import type { AttestorTrust } from '../policy/index.js';
import { parseTrustedRoot } from '../trust/index.js';
import {
  checkBundleWithCertificate,
  checkBundleWithKey,
  COSIGN_SIGN_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  type AttachedBundle,
} from './bundles.js';

const DIGEST = computeDigest(Buffer.from('image'));
const NO_AUTHORITIES = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
/** What an attestor with rekor.ignoreTlog: true checks against. */
const IGNORE_TLOG: AttestorTrust = { requireTlog: false, requireSct: false, authorities: NO_AUTHORITIES };

function statement(digest: string, predicateType = COSIGN_SIGN_PREDICATE_TYPE): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'registry.example/app', digest: { sha256: digest.slice('sha256:'.length) } }],
      predicateType,
      predicate: {},
    }),
  );
}

/** A bundle as cosign writes it for `cosign sign --key`, signed with the given hash over the DSSE PAE. */
function bundle(privateKey: KeyObject, payload: Buffer, hash: string | null): AttachedBundle {
  const type = Buffer.from(IN_TOTO_PAYLOAD_TYPE);
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
  return {
    source: 'referrer sha256:test',
    digest: computeDigest(Buffer.from('referrer')),
    bundle: toDSSEBundle({
      artifact: payload,
      artifactType: IN_TOTO_PAYLOAD_TYPE,
      signature: sign(hash, pae, privateKey),
      keyHint: 'hint',
    }),
  };
}

describe('checkBundleWithKey', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  describe('when the policy’s key signed a cosign signature of the image', () => {
    it('accepts it', () => {
      expect(
        checkBundleWithKey(bundle(p256.privateKey, statement(DIGEST), 'sha256'), p256.publicKey, IGNORE_TLOG, DIGEST),
      ).toEqual({
        ok: true,
        value: undefined,
      });
    });
  });

  describe('when the key is P-384 and cosign hashed with SHA-384', () => {
    it('accepts it, although sigstore-js checks with SHA-256', () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      expect(
        checkBundleWithKey(bundle(p384.privateKey, statement(DIGEST), 'sha384'), p384.publicKey, IGNORE_TLOG, DIGEST),
      ).toEqual({
        ok: true,
        value: undefined,
      });
    });
  });

  describe('when another key signed it', () => {
    it('says nothing about the image: the bundle is not this key’s', () => {
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      expect(
        checkBundleWithKey(bundle(other.privateKey, statement(DIGEST), 'sha256'), p256.publicKey, IGNORE_TLOG, DIGEST),
      ).toBeUndefined();
    });
  });

  describe('when the attestor requires the transparency log and the bundle has no entry', () => {
    it('fails with InvalidSignature, saying the entry is missing', () => {
      const requireTlog: AttestorTrust = { ...IGNORE_TLOG, requireTlog: true };
      expect(
        checkBundleWithKey(bundle(p256.privateKey, statement(DIGEST), 'sha256'), p256.publicKey, requireTlog, DIGEST),
      ).toMatchObject({
        ok: false,
        reason: 'InvalidSignature',
        detail: expect.stringContaining('expected 1 tlog entries, got 0'),
      });
    });
  });

  describe('when it is a signature of another image', () => {
    it('fails with DigestMismatch', () => {
      const other = computeDigest(Buffer.from('other image'));
      expect(
        checkBundleWithKey(bundle(p256.privateKey, statement(other), 'sha256'), p256.publicKey, IGNORE_TLOG, DIGEST),
      ).toMatchObject({
        ok: false,
        reason: 'DigestMismatch',
        detail: expect.stringContaining(`is for ${other}, not ${DIGEST}`),
      });
    });
  });

  describe('when it is an attestation, not a signature', () => {
    it('is not taken for a signature', () => {
      const attestation = statement(DIGEST, 'https://slsa.dev/provenance/v1');
      expect(
        checkBundleWithKey(bundle(p256.privateKey, attestation, 'sha256'), p256.publicKey, IGNORE_TLOG, DIGEST),
      ).toMatchObject({
        ok: false,
        detail: expect.stringContaining('is not a cosign signature'),
      });
    });
  });
});

describe('checkBundleWithCertificate', () => {
  // cosign's own keyless test vector: a v0.3 bundle with a Fulcio certificate for cody@soyland.com, a Rekor v1 dsse
  // entry with SET and inclusion proof, and the public-good trusted root of its day (pkg/cosign/testdata/README.md).
  const testdata = (name: string) => readFileSync(join(import.meta.dirname, 'testdata', name), 'utf8');
  const vector: AttachedBundle = {
    source: 'referrer sha256:vector',
    digest: computeDigest(Buffer.from('vector')),
    bundle: bundleFromJSON(JSON.parse(testdata('oci-attestation.sigstore.json'))),
  };
  const root = parseTrustedRoot(testdata('trusted_root_pgi.json'), 'trusted_root_pgi.json');
  if (!root.ok) throw new Error(root.error);
  const keyless: AttestorTrust = { requireTlog: true, requireSct: true, authorities: root.value };
  const VECTOR_DIGEST = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
  const PREDICATE = 'https://cosign.sigstore.dev/attestation/v1';

  describe('when the certificate leads to the trusted Fulcio CA, with its SCT and Rekor entry', () => {
    it('accepts it and returns the signing certificate', () => {
      const check = checkBundleWithCertificate(vector, keyless, VECTOR_DIGEST, PREDICATE);
      expect(check.ok && check.value.subjectAltName).toBe('cody@soyland.com');
    });
  });

  describe('when the trust root does not hold the Fulcio CA', () => {
    it('fails with InvalidSignature: no trusted certificate path', () => {
      const untrusted: AttestorTrust = { ...keyless, authorities: { ...root.value, certificateAuthorities: [] } };
      expect(checkBundleWithCertificate(vector, untrusted, VECTOR_DIGEST, PREDICATE)).toMatchObject({
        ok: false,
        reason: 'InvalidSignature',
        detail: expect.stringContaining('certificate chain'),
      });
    });
  });

  describe('when the trust root does not hold the CT log and SCTs are required', () => {
    it('fails with InvalidSignature', () => {
      const noCt: AttestorTrust = { ...keyless, authorities: { ...root.value, ctlogs: [] } };
      expect(checkBundleWithCertificate(vector, noCt, VECTOR_DIGEST, PREDICATE)).toMatchObject({
        ok: false,
        reason: 'InvalidSignature',
      });
    });
  });

  describe('when the trust root does not hold the Rekor key', () => {
    it('fails with InvalidSignature', () => {
      const noRekor: AttestorTrust = { ...keyless, authorities: { ...root.value, tlogs: [] } };
      expect(checkBundleWithCertificate(vector, noRekor, VECTOR_DIGEST, PREDICATE)).toMatchObject({
        ok: false,
        reason: 'InvalidSignature',
      });
    });
  });

  describe('when it is about another image', () => {
    it('fails with DigestMismatch', () => {
      expect(checkBundleWithCertificate(vector, keyless, DIGEST, PREDICATE)).toMatchObject({
        ok: false,
        reason: 'DigestMismatch',
      });
    });
  });

  describe('when a signature is expected and this is an attestation', () => {
    it('is not taken for a signature', () => {
      expect(checkBundleWithCertificate(vector, keyless, VECTOR_DIGEST)).toMatchObject({
        ok: false,
        detail: expect.stringContaining('is not a cosign signature'),
      });
    });
  });

  describe('when the log is ignored and nothing else proves the signing time', () => {
    it('fails, saying the certificate has no time to be checked at', () => {
      const ignoreTlog: AttestorTrust = { ...keyless, requireTlog: false };
      expect(checkBundleWithCertificate(vector, ignoreTlog, VECTOR_DIGEST, PREDICATE)).toMatchObject({
        ok: false,
        detail: expect.stringContaining('proves no signing time'),
      });
    });
  });

  describe('when the bundle was signed with a key', () => {
    it('fails: a certificate attestor needs a certificate', () => {
      const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      expect(
        checkBundleWithCertificate(bundle(p256.privateKey, statement(DIGEST), 'sha256'), keyless, DIGEST),
      ).toMatchObject({
        ok: false,
        detail: expect.stringContaining('signed with a key, not a certificate'),
      });
    });
  });
});
