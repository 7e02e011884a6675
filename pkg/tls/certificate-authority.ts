// A private certificate authority that signs only the webhook's serving certificates; kube-apiserver trusts it
// through the caBundle of the webhook configurations, and nothing else trusts it.
import {
  backdate,
  crypto,
  generateKeyPair,
  randomSerial,
  toPrivateKeyPem,
  x509,
  KEY_ALGORITHM,
} from './x509-crypto.js';

/** A certificate and its private key, both PEM. */
export interface KeyedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertificateAuthorityOptions {
  readonly now: Date;
  readonly validityMs: number;
}

export async function createCertificateAuthority(options: CertificateAuthorityOptions): Promise<KeyedCertificate> {
  const keys = await generateKeyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      // Unique per CA: while two CAs are in one caBundle (a rotation), their subjects tell them apart in logs.
      name: `CN=imprimatur-webhook-ca-${options.now.getTime().toString(36)},O=imprimatur`,
      notBefore: backdate(options.now, options.validityMs),
      notAfter: new Date(options.now.getTime() + options.validityMs),
      keys,
      signingAlgorithm: KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: ca.toString('pem'), keyPem: await toPrivateKeyPem(keys.privateKey) };
}
