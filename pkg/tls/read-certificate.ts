// Certificates as read back from where they are kept (a Secret anyone with write access could have edited): each
// PEM block parsed by Node's X509Certificate, with the facts a rotation decides on. Nothing here throws on bad input.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { err, ok, type Result } from '../result/index.js';

export interface CertificateFacts {
  readonly pem: string;
  /** SHA-256 of the DER, colon-separated hex: what tells two certificates apart. */
  readonly fingerprint: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  readonly x509: X509Certificate;
}

/** A caBundle with more certificates than this is not one we wrote; a rotation keeps two or three. */
export const MAX_BUNDLE_CERTIFICATES = 16;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle, in order; an error naming the block that does not parse. */
export function readCertificates(pem: string): Result<CertificateFacts[], string> {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) return err('no PEM CERTIFICATE block');
  if (blocks.length > MAX_BUNDLE_CERTIFICATES)
    return err(`${blocks.length} certificates, more than the ${MAX_BUNDLE_CERTIFICATES} a bundle may hold`);
  const certificates: CertificateFacts[] = [];
  for (const [index, block] of blocks.entries()) {
    const read = readCertificate(block);
    if (!read.ok) return err(`certificate ${index + 1}: ${read.error}`);
    certificates.push(read.value);
  }
  return ok(certificates);
}

export function readCertificate(pem: string): Result<CertificateFacts, string> {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch (e) {
    return err(`not an X.509 certificate: ${(e as Error).message}`);
  }
  return ok({
    pem: `${x509.toString().trim()}\n`,
    fingerprint: x509.fingerprint256,
    subject: x509.subject.replace(/\n/g, ','),
    notBefore: x509.validFromDate,
    notAfter: x509.validToDate,
    isCa: x509.ca,
    x509,
  });
}

/** The certificate names this host (IP address or DNS name) among its SANs; the common name does not count. */
export function coversHost(certificate: CertificateFacts, host: string): boolean {
  return isIP(host) !== 0
    ? certificate.x509.checkIP(host) !== undefined
    : certificate.x509.checkHost(host, { subject: 'never', wildcards: false }) !== undefined;
}

/** `ca` issued `certificate`: its name is the issuer's and its key made the signature. */
export function isIssuedBy(certificate: CertificateFacts, ca: CertificateFacts): boolean {
  try {
    return certificate.x509.checkIssued(ca.x509) && certificate.x509.verify(ca.x509.publicKey);
  } catch {
    return false;
  }
}

/** `keyPem` is the private key of `certificate`. */
export function matchesKey(certificate: CertificateFacts, keyPem: string): boolean {
  try {
    return certificate.x509.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}
