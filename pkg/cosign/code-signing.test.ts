import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from '@sigstore/core';
import { createTestCa } from '../trust/testdata/test-ca.js';
import { isForCodeSigning } from './code-signing.js';

const fixture = (name: string) =>
  X509Certificate.parse(readFileSync(join(import.meta.dirname, 'testdata', name), 'utf8'));

describe('isForCodeSigning', () => {
  describe('when the certificate is a Fulcio code-signing certificate', () => {
    it('is true', () => {
      expect(isForCodeSigning(fixture('cosign-oci-attestation-leaf.pem'))).toBe(true);
    });
  });

  describe('when the certificate is for TLS servers only', () => {
    it('is false', async () => {
      const leaf = await (
        await createTestCa()
      ).issue({ email: 'a@example.com', issuer: 'https://i', usage: 'serverAuth' });
      expect(isForCodeSigning(X509Certificate.parse(leaf.pem))).toBe(false);
    });
  });

  describe('when the certificate has no extended key usage', () => {
    it('is true, as in Go and RFC 5280', () => {
      const ca = fixture('peculiar-all-san-types.pem');
      expect(ca.extension('2.5.29.37')).toBeUndefined();
      expect(isForCodeSigning(ca)).toBe(true);
    });
  });
});
