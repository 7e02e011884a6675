// A private CA and a serving certificate signed by it, made at once: for the webhook in local mode when no Secret
// keeps them, and for tests' TLS servers.
import { createCertificateAuthority } from './certificate-authority.js';
import { issueServingCertificate } from './issue-serving-certificate.js';

export interface ServingCertificates {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: Date;
}

export interface ServingCertificateOptions {
  /** IP addresses and DNS names the certificate is valid for. */
  readonly hosts: readonly string[];
  readonly validityDays: number;
  readonly now: Date;
}

export async function createServingCertificates(options: ServingCertificateOptions): Promise<ServingCertificates> {
  const validityMs = options.validityDays * 86_400_000;
  const ca = await createCertificateAuthority({ now: options.now, validityMs });
  const leaf = await issueServingCertificate({ ca, hosts: options.hosts, now: options.now, validityMs });
  return {
    caPem: ca.certPem,
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
    notAfter: new Date(options.now.getTime() + validityMs),
  };
}
