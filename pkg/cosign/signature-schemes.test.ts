import { createHash, generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { verifyRawSignature } from './signature-schemes.js';

const DATA = Buffer.from(
  '{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:x"}}}',
);

function ec(curve: string) {
  return generateKeyPairSync('ec', { namedCurve: curve });
}

describe('verifyRawSignature', () => {
  describe.each([
    ['P-256', 'prime256v1', 'sha256'],
    ['P-384', 'secp384r1', 'sha384'],
    ['P-521', 'secp521r1', 'sha512'],
  ])('with an ECDSA %s key', (_name, curve, defaultHash) => {
    const { publicKey, privateKey } = ec(curve);

    it('accepts a DER signature made with the curve’s default hash (cosign >= 2.6)', () => {
      expect(verifyRawSignature(publicKey, DATA, sign(defaultHash, DATA, privateKey))).toBe(`ecdsa-${defaultHash}`);
    });

    it('accepts a DER signature made with SHA-256 (cosign <= 2.5)', () => {
      expect(verifyRawSignature(publicKey, DATA, sign('sha256', DATA, privateKey))).toBe('ecdsa-sha256');
    });

    it('accepts a raw r||s signature', () => {
      const raw = sign(defaultHash, DATA, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(verifyRawSignature(publicKey, DATA, raw)).toBe(`ecdsa-${defaultHash}`);
    });

    it('rejects a signature over other data', () => {
      expect(verifyRawSignature(publicKey, Buffer.from('other'), sign(defaultHash, DATA, privateKey))).toBeUndefined();
    });
  });

  describe('with a key that did not sign', () => {
    it('rejects the signature', () => {
      const signer = ec('prime256v1');
      const other = ec('prime256v1');
      expect(verifyRawSignature(other.publicKey, DATA, sign('sha256', DATA, signer.privateKey))).toBeUndefined();
    });
  });

  describe('with an RSA key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

    it('accepts PKCS#1 v1.5 with SHA-256', () => {
      expect(verifyRawSignature(publicKey, DATA, sign('sha256', DATA, privateKey))).toBe('rsa-pkcs1v15-sha256');
    });

    it('accepts PSS', () => {
      const sig = sign('sha256', DATA, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      expect(verifyRawSignature(publicKey, DATA, sig)).toBe('rsa-pss-sha256');
    });
  });

  describe('with an Ed25519 key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');

    it('accepts pure Ed25519', () => {
      expect(verifyRawSignature(publicKey, DATA, sign(null, DATA, privateKey))).toBe('ed25519');
    });

    it('accepts Ed25519ph (cosign >= 2.6)', () => {
      const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
      const sig = ed25519ph.sign(DATA, seed);
      expect(verifyRawSignature(publicKey as KeyObject, DATA, sig)).toBe('ed25519ph');
    });

    it('rejects garbage', () => {
      expect(verifyRawSignature(publicKey, DATA, createHash('sha512').update('x').digest())).toBeUndefined();
    });
  });
});
