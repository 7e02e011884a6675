// Carries out one step of the plan: the Secret data that follows from it, with new keys where the step makes them.
// No cluster I/O: the caller writes the result.
import {
  createCertificateAuthority,
  issueServingCertificate,
  MAX_BUNDLE_CERTIFICATES,
  type CertificateFacts,
} from '../pkg/tls/index.js';
import { SECRET_KEYS, type CertificatePlan, type ServingCertificateState } from './serving-certificate-plan.js';

export interface CertificateLifetimes {
  readonly caValidityMs: number;
  readonly certValidityMs: number;
}

export interface NextSecretInput extends CertificateLifetimes {
  readonly now: Date;
  readonly hosts: readonly string[];
}

/** The Secret's next data (base64 values), or undefined for 'keep'. */
export async function nextCertificateSecret(
  plan: CertificatePlan,
  state: ServingCertificateState | undefined,
  input: NextSecretInput,
): Promise<Record<string, string> | undefined> {
  const { now } = input;
  // CAs that may still have signed what some replica serves: every unexpired one already in the bundle.
  const stillValid = (state?.bundle ?? []).filter((ca) => ca.notAfter.getTime() > now.getTime());
  switch (plan.$case) {
    case 'keep':
      return undefined;
    case 'create':
    case 'rotateCa': {
      const ca = await createCertificateAuthority({ now, validityMs: input.caValidityMs });
      const leaf =
        plan.$case === 'create'
          ? await issueServingCertificate({ ca, hosts: input.hosts, now, validityMs: input.certValidityMs })
          : { certPem: state!.leaf!.facts.pem, keyPem: state!.leaf!.keyPem };
      return toData({
        bundle: [...stillValid.map((c) => c.pem), ca.certPem],
        caKeyPem: ca.keyPem,
        certPem: leaf.certPem,
        keyPem: leaf.keyPem,
      });
    }
    case 'issue': {
      const signer = state!.signer!;
      const leaf = await issueServingCertificate({
        ca: { certPem: signer.facts.pem, keyPem: signer.keyPem },
        hosts: input.hosts,
        now,
        validityMs: input.certValidityMs,
      });
      return toData({ bundle: state!.bundle.map((c) => c.pem), caKeyPem: signer.keyPem, ...leaf });
    }
    case 'prune': {
      const dropped = new Set(plan.drop.map((c: CertificateFacts) => c.fingerprint));
      return toData({
        bundle: state!.bundle.filter((c) => !dropped.has(c.fingerprint)).map((c) => c.pem),
        caKeyPem: state!.signer!.keyPem,
        certPem: state!.leaf!.facts.pem,
        keyPem: state!.leaf!.keyPem,
      });
    }
  }
}

function toData(parts: {
  readonly bundle: readonly string[];
  readonly caKeyPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}): Record<string, string> {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  // The newest CAs are kept when there are too many: the signer is always last.
  const bundle = parts.bundle.slice(-MAX_BUNDLE_CERTIFICATES);
  return {
    [SECRET_KEYS.caBundle]: b64(bundle.map((pem) => pem.trim()).join('\n') + '\n'),
    [SECRET_KEYS.caKey]: b64(parts.caKeyPem),
    [SECRET_KEYS.cert]: b64(parts.certPem),
    [SECRET_KEYS.key]: b64(parts.keyPem),
  };
}
