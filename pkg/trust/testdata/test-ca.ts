// A Fulcio-like certificate authority in a test's memory: a root, and short-lived code-signing leaves with an email
// SAN and Fulcio's OIDC-issuer extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md), so unit
// tests can make keyless signatures without a Fulcio.
import { KeyObject, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
const crypto = webcrypto as unknown as X509Crypto;
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

export interface TestLeaf {
  readonly pem: string;
  readonly der: Buffer;
  readonly privateKey: KeyObject;
}

export interface TestCa {
  readonly rootPem: string;
  readonly rootDer: Buffer;
  issue(identity: {
    email: string;
    issuer: string;
    notBefore?: Date;
    notAfter?: Date;
    /** serverAuth makes a certificate a TLS server's rather than a code signer's. */
    usage?: 'codeSigning' | 'serverAuth';
  }): Promise<TestLeaf>;
}

export async function createTestCa(name = 'imprimatur-test-fulcio'): Promise<TestCa> {
  const keys = (await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: `CN=${name}`,
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + 86_400_000),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  let serial = 2;
  return {
    rootPem: root.toString('pem'),
    rootDer: Buffer.from(root.rawData),
    async issue({
      email,
      issuer,
      notBefore = new Date(now - 60_000),
      notAfter = new Date(now + 600_000),
      usage = 'codeSigning',
    }) {
      const leafKeys = (await crypto.subtle.generateKey(ALGORITHM, true, [
        'sign',
        'verify',
      ])) as webcrypto.CryptoKeyPair;
      const utf8 = Buffer.from(issuer, 'utf8');
      const leaf = await x509.X509CertificateGenerator.create(
        {
          serialNumber: (serial++).toString(16).padStart(2, '0'),
          subject: '',
          issuer: root.subject,
          notBefore,
          notAfter,
          publicKey: leafKeys.publicKey,
          signingKey: keys.privateKey,
          signingAlgorithm: ALGORITHM,
          extensions: [
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[usage]]),
            new x509.SubjectAlternativeNameExtension([{ type: 'email', value: email }], true),
            await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey, false, crypto),
            new x509.Extension(OID_ISSUER_V1, false, utf8),
            // DER UTF8String: tag 0x0c, then a short-form length (issuers here are shorter than 128 bytes).
            new x509.Extension(OID_ISSUER_V2, false, Buffer.concat([Buffer.from([0x0c, utf8.length]), utf8])),
          ],
        },
        crypto,
      );
      return {
        pem: leaf.toString('pem'),
        der: Buffer.from(leaf.rawData),
        privateKey: KeyObject.from(leafKeys.privateKey as unknown as webcrypto.CryptoKey),
      };
    },
  };
}
