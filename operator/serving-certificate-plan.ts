// What the leader does next about the webhook's serving certificate, decided from the Secret that keeps it. Pure:
// the Secret's data, the clock and what the API server is known to trust come in; one step comes out.
//
// The Secret holds ca.crt (the caBundle: the current CA and any older one still valid), ca.key (the current CA's
// key), and tls.crt / tls.key (the serving certificate every replica serves). A rotation never leaves the API
// server facing a certificate it does not trust:
// - the serving certificate is renewed at two thirds of its lifetime, by the same CA, which the API server trusts;
// - the CA is renewed at two thirds of its lifetime: the new CA joins the bundle first, next to the old one, and the
//   serving certificate it signs is issued only once the webhook configurations have carried the new bundle for a
//   while (`settleMs`, for every API server's informer to see it);
// - an old CA leaves the bundle when it expires, since until then a replica that has not yet seen the new Secret
//   may still serve a certificate it signed.
import {
  coversHost,
  isIssuedBy,
  matchesKey,
  readCertificate,
  readCertificates,
  type CertificateFacts,
} from '../pkg/tls/index.js';

/** The keys of the Secret, as Kubernetes names them for a kubernetes.io/tls Secret plus the CA's. */
export const SECRET_KEYS = { caBundle: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key' } as const;

export interface ServingCertificateState {
  /** ca.crt, in order; the CAs the API server is told to trust. */
  readonly bundle: readonly CertificateFacts[];
  /** The CA whose key is ca.key: it signs the next serving certificate. */
  readonly signer: { readonly facts: CertificateFacts; readonly keyPem: string } | undefined;
  /** tls.crt with its key, when both are there and belong together. */
  readonly leaf: { readonly facts: CertificateFacts; readonly keyPem: string } | undefined;
  /** What is wrong with the Secret, field by field; empty when nothing is. */
  readonly problems: readonly string[];
}

/** Reads the Secret's data (base64 values, as the API returns them). Never throws; problems name the key. */
export function readCertificateSecret(data: Readonly<Record<string, string>> | undefined): ServingCertificateState {
  const text = (key: string) => {
    const value = data?.[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  const problems: string[] = [];
  let bundle: CertificateFacts[] = [];
  const caPem = text(SECRET_KEYS.caBundle);
  if (caPem === undefined) problems.push(`${SECRET_KEYS.caBundle}: missing`);
  else {
    const read = readCertificates(caPem);
    if (read.ok) bundle = read.value.filter((c) => c.isCa);
    else problems.push(`${SECRET_KEYS.caBundle}: ${read.error}`);
    if (read.ok && bundle.length < read.value.length)
      problems.push(`${SECRET_KEYS.caBundle}: holds a non-CA certificate`);
  }
  const caKey = text(SECRET_KEYS.caKey);
  const signerFacts = caKey === undefined ? undefined : bundle.find((c) => matchesKey(c, caKey));
  if (caKey === undefined) problems.push(`${SECRET_KEYS.caKey}: missing`);
  else if (bundle.length > 0 && !signerFacts)
    problems.push(`${SECRET_KEYS.caKey}: is the key of no CA certificate in ${SECRET_KEYS.caBundle}`);
  const certPem = text(SECRET_KEYS.cert);
  const keyPem = text(SECRET_KEYS.key);
  let leaf: ServingCertificateState['leaf'];
  if (certPem === undefined || keyPem === undefined) {
    problems.push(`${certPem === undefined ? SECRET_KEYS.cert : SECRET_KEYS.key}: missing`);
  } else {
    const read = readCertificate(certPem);
    if (!read.ok) problems.push(`${SECRET_KEYS.cert}: ${read.error}`);
    else if (!matchesKey(read.value, keyPem))
      problems.push(`${SECRET_KEYS.key}: is not the key of ${SECRET_KEYS.cert}`);
    else leaf = { facts: read.value, keyPem };
  }
  return { bundle, signer: signerFacts && caKey ? { facts: signerFacts, keyPem: caKey } : undefined, leaf, problems };
}

export interface PlanInput {
  readonly now: Date;
  /** Every host the serving certificate must name. */
  readonly hosts: readonly string[];
  /** Since when the webhook configurations have carried this CA (by fingerprint); undefined if not known to. */
  readonly trustedSince: (fingerprint: string) => Date | undefined;
  /** How long a CA must have been in the webhook configurations before a certificate it signed is served. */
  readonly settleMs: number;
}

export type CertificatePlan =
  /** Nothing to do until `recheckAt`, or until something changes. */
  | { readonly $case: 'keep'; readonly recheckAt: Date; readonly waiting?: string }
  /** A new CA and a serving certificate, together: nothing usable is there. */
  | { readonly $case: 'create'; readonly reason: string }
  /** A new CA joins the bundle and becomes the signer; the serving certificate stays for now. */
  | { readonly $case: 'rotateCa'; readonly reason: string }
  /** A new serving certificate from the signer. */
  | { readonly $case: 'issue'; readonly reason: string }
  /** These CAs leave the bundle. */
  | { readonly $case: 'prune'; readonly drop: readonly CertificateFacts[]; readonly reason: string };

/** When a certificate is renewed: at two thirds of its lifetime. */
export function renewalTime(certificate: CertificateFacts): Date {
  const from = certificate.notBefore.getTime();
  return new Date(from + ((certificate.notAfter.getTime() - from) * 2) / 3);
}

export function planServingCertificate(state: ServingCertificateState | undefined, input: PlanInput): CertificatePlan {
  const { now } = input;
  const t = now.getTime();
  if (!state) return { $case: 'create', reason: 'the Secret does not exist' };
  const { signer, leaf } = state;
  if (!signer) return { $case: 'create', reason: state.problems.join('; ') || 'no CA' };
  if (t >= signer.facts.notAfter.getTime()) return { $case: 'create', reason: 'the CA has expired' };
  if (t >= renewalTime(signer.facts).getTime())
    return {
      $case: 'rotateCa',
      reason: `the CA is past two thirds of its lifetime (${iso(renewalTime(signer.facts))})`,
    };

  const problem = leafProblem(state, input);
  if (!leaf || problem) return { $case: 'issue', reason: problem ?? 'no serving certificate' };

  if (!isIssuedBy(leaf.facts, signer.facts)) {
    // The CA was rotated: serve what it signs once the API server has trusted it for settleMs, or at the latest when
    // the certificate served now is about to expire (failing then is no worse than failing at its expiry).
    const since = input.trustedSince(signer.facts.fingerprint);
    const settled = since && t >= since.getTime() + input.settleMs;
    const lastChance = leaf.facts.notAfter.getTime() - input.settleMs;
    if (settled) return { $case: 'issue', reason: 'the webhook configurations trust the new CA' };
    if (t >= lastChance) return { $case: 'issue', reason: 'the serving certificate is about to expire' };
    return {
      $case: 'keep',
      recheckAt: new Date(Math.min(since ? since.getTime() + input.settleMs : lastChance, lastChance)),
      waiting: since
        ? 'for the webhook configurations to have trusted the new CA long enough'
        : 'for the webhook configurations to trust the new CA',
    };
  }
  if (t >= renewalTime(leaf.facts).getTime())
    return { $case: 'issue', reason: `the serving certificate is past two thirds of its lifetime` };

  const expired = state.bundle.filter((ca) => t >= ca.notAfter.getTime());
  if (expired.length > 0)
    return { $case: 'prune', drop: expired, reason: `expired CA ${expired.map((c) => c.subject).join(', ')}` };

  const next = Math.min(
    renewalTime(signer.facts).getTime(),
    renewalTime(leaf.facts).getTime(),
    ...state.bundle.map((ca) => ca.notAfter.getTime()),
  );
  return { $case: 'keep', recheckAt: new Date(next) };
}

/** Why the serving certificate must be replaced now, whatever else is under way; undefined when it need not. */
function leafProblem(state: ServingCertificateState, input: PlanInput): string | undefined {
  const { leaf } = state;
  if (!leaf) return state.problems.find((p) => p.startsWith('tls.')) ?? 'no serving certificate';
  if (input.now.getTime() >= leaf.facts.notAfter.getTime()) return 'the serving certificate has expired';
  const missing = input.hosts.find((h) => !coversHost(leaf.facts, h));
  if (missing !== undefined) return `the serving certificate does not name ${missing}`;
  if (!state.bundle.some((ca) => isIssuedBy(leaf.facts, ca)))
    return 'the serving certificate was signed by no CA in the bundle';
  return undefined;
}

function iso(date: Date): string {
  return date.toISOString();
}
