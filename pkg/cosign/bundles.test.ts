import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { toDSSEBundle } from '@sigstore/bundle';
import { computeDigest } from '../oci/index.js';
import {
  checkBundleWithKey,
  COSIGN_SIGN_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  type AttachedBundle,
} from './bundles.js';

const DIGEST = computeDigest(Buffer.from('image'));

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
      expect(checkBundleWithKey(bundle(p256.privateKey, statement(DIGEST), 'sha256'), p256.publicKey, DIGEST)).toEqual({
        ok: true,
      });
    });
  });

  describe('when the key is P-384 and cosign hashed with SHA-384', () => {
    it('accepts it, although sigstore-js checks with SHA-256', () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      expect(checkBundleWithKey(bundle(p384.privateKey, statement(DIGEST), 'sha384'), p384.publicKey, DIGEST)).toEqual({
        ok: true,
      });
    });
  });

  describe('when another key signed it', () => {
    it('fails with InvalidSignature', () => {
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      expect(
        checkBundleWithKey(bundle(other.privateKey, statement(DIGEST), 'sha256'), p256.publicKey, DIGEST),
      ).toMatchObject({
        ok: false,
        reason: 'InvalidSignature',
      });
    });
  });

  describe('when it is a signature of another image', () => {
    it('fails with DigestMismatch', () => {
      const other = computeDigest(Buffer.from('other image'));
      expect(
        checkBundleWithKey(bundle(p256.privateKey, statement(other), 'sha256'), p256.publicKey, DIGEST),
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
      expect(checkBundleWithKey(bundle(p256.privateKey, attestation, 'sha256'), p256.publicKey, DIGEST)).toMatchObject({
        ok: false,
        detail: expect.stringContaining('is not a cosign signature'),
      });
    });
  });
});
