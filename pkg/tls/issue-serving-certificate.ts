// A TLS server certificate for the webhook, signed by our CA. SANs for every host the API server may use: CN-only
// certificates are rejected since Kubernetes 1.19 / Go 1.15.
import { isIP } from 'node:net';
import type { KeyedCertificate } from './certificate-authority.js';
import {
  backdate,
  crypto,
  generateKeyPair,
  importSigningKey,
  randomSerial,
  toPrivateKeyPem,
  x509,
  KEY_ALGORITHM,
} from './x509-crypto.js';

export interface ServingCertificateRequest {
  /** The CA that signs it. */
  readonly ca: KeyedCertificate;
  /** IP addresses and DNS names the certificate is valid for; the first is also its common name. */
  readonly hosts: readonly string[];
  readonly now: Date;
  /** Capped at the CA's own expiry: a certificate outliving its issuer would fail first at the CA. */
  readonly validityMs: number;
}

export async function issueServingCertificate(request: ServingCertificateRequest): Promise<KeyedCertificate> {
  if (request.hosts.length === 0) throw new Error('bug: issueServingCertificate needs at least one host');
  const ca = new x509.X509Certificate(request.ca.certPem);
  const signingKey = await importSigningKey(request.ca.keyPem);
  const keys = await generateKeyPair();
  const notAfter = Math.min(request.now.getTime() + request.validityMs, ca.notAfter.getTime());
  const leaf = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: `CN=${request.hosts[0]}`,
      issuer: ca.subject,
      notBefore: backdate(request.now, request.validityMs),
      notAfter: new Date(notAfter),
      signingKey,
      publicKey: keys.publicKey,
      signingAlgorithm: KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          request.hosts.map((h) => (isIP(h) ? { type: 'ip', value: h } : { type: 'dns', value: h })),
        ),
        await x509.AuthorityKeyIdentifierExtension.create(await ca.publicKey.export(crypto), false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: leaf.toString('pem'), keyPem: await toPrivateKeyPem(keys.privateKey) };
}
