// verifyImage: does the image carry signatures that the policy's attestors accept? The digest is resolved once and
// that digest is what gets verified and returned for pinning, so the image admitted is the image verified
// (CVE-2022-47633). Registry failures and policy failures come back as one closed set of reasons; nothing throws
// across this boundary.
import type { VerifyReason } from '../conditions/index.js';
import { toKyvernoString, withDigest, type ImageRef } from '../imageref/index.js';
import type { OciErrorCode, RegistryClient } from '../oci/index.js';
import type { CompiledAttestor, CompiledAttestorSet } from '../policy/index.js';
import { checkBundleWithCertificate, checkBundleWithKey, findBundles, type AttachedBundle } from './bundles.js';
import {
  checkAttestorIdentity,
  checkCertificateSignature,
  type CertificateAttestor,
} from './certificate-signatures.js';
import { findLegacySignatures, listImageReferrers, type LegacySignature, type SignatureRegistry } from './discover.js';
import { verifyRekorBundle } from './rekor-bundle.js';
import { verifyRawSignature, type SignatureScheme } from './signature-schemes.js';
import { hasAnnotations, parseSimpleSigningPayload } from './simple-signing.js';

export type ImageRegistry = SignatureRegistry & Pick<RegistryClient, 'resolveDigest'>;

export interface VerifyDeps {
  readonly registry: ImageRegistry;
  readonly signal?: AbortSignal;
}

export interface VerifyRequest {
  readonly image: ImageRef;
  readonly attestors: readonly CompiledAttestorSet[];
  /** Where the signatures live, when not beside the image (Kyverno's repository, cosign's COSIGN_REPOSITORY). */
  readonly repository?: ImageRef;
}

/** One attestor that a signature satisfied. */
export interface Match {
  /** The policy field of the attestor, e.g. spec.rules[0].verifyImages[0].key. */
  readonly attestor: string;
  /** Which key of that field, when it holds several PEM blocks. */
  readonly keyIndex: number;
  /** The signing certificate's identity, for certificate and keyless attestors. */
  readonly identity?: { readonly subject: string; readonly issuer: string };
  /** When the transparency log recorded the signature, when the attestor required the log. */
  readonly loggedAt?: string;
  /** A legacy simple-signing layer, or a Sigstore bundle (checked by @sigstore/verify). */
  readonly format: 'simple-signing' | 'sigstore-bundle';
  /** The algorithm of a simple-signing signature. */
  readonly scheme?: SignatureScheme;
  /** The signature layer's digest and where it was found. */
  readonly signature: string;
  readonly source: string;
}

export type VerifyOutcome =
  | { readonly verified: true; readonly image: string; readonly digest: string; readonly matches: readonly Match[] }
  | {
      readonly verified: false;
      readonly image: string;
      readonly reason: VerifyReason;
      readonly message: string;
      readonly ociCode?: OciErrorCode;
      /** The digest that was checked, when it was resolved. */
      readonly digest?: string;
    };

/** The words of the seed document's deny messages; details follow them, never replace them. */
const LEADS: Readonly<Record<VerifyReason, string>> = {
  SignatureNotFound: 'signature not found',
  InvalidSignature: 'invalid signature',
  DigestMismatch: 'invalid signature',
  IdentityMismatch: 'invalid signature',
  AnnotationMismatch: 'invalid signature',
  RegistryError: 'registry error',
};

/** Orders failures from least to most telling; a set reports its most telling one. */
const SPECIFICITY: readonly VerifyReason[] = [
  'SignatureNotFound',
  'InvalidSignature',
  'IdentityMismatch',
  'AnnotationMismatch',
  'DigestMismatch',
  'RegistryError',
];

interface Signatures {
  readonly legacy: readonly LegacySignature[];
  readonly bundles: readonly AttachedBundle[];
}

interface Failure {
  readonly reason: VerifyReason;
  readonly detail: string;
}

export async function verifyImage(request: VerifyRequest, deps: VerifyDeps): Promise<VerifyOutcome> {
  const shown = toKyvernoString(request.image);
  const options = deps.signal ? { signal: deps.signal } : {};
  const resolved = await deps.registry.resolveDigest(request.image, options);
  if (!resolved.ok) {
    return failed(shown, { reason: 'RegistryError', detail: resolved.error.message }, undefined, resolved.error.code);
  }
  const digest = resolved.value.digest;
  const pinned = toKyvernoString(withDigest(request.image, digest));
  const where: ImageRef = request.repository
    ? { registry: request.repository.registry, repository: request.repository.repository }
    : request.image;
  const referrers = await listImageReferrers(where, digest, deps.registry, deps.signal);
  if (!referrers.ok) return failed(pinned, registryFailure(referrers.error.message), digest, referrers.error.code);
  const legacy = await findLegacySignatures(where, digest, referrers.value, deps.registry, deps.signal);
  if (!legacy.ok) return failed(pinned, registryFailure(legacy.error.message), digest, legacy.error.code);
  const bundles = await findBundles(where, referrers.value, deps.registry, deps.signal);
  if (!bundles.ok) return failed(pinned, registryFailure(bundles.error.message), digest, bundles.error.code);
  const found: Signatures = { legacy: legacy.value, bundles: bundles.value.bundles };
  if (found.legacy.length === 0 && found.bundles.length === 0) {
    const problems = bundles.value.problems.map((p) => `; ${p}`).join('');
    const detail = `no signatures at ${where.registry}/${where.repository}${problems}`;
    return failed(pinned, { reason: 'SignatureNotFound', detail }, digest);
  }
  const matches: Match[] = [];
  for (const set of request.attestors) {
    const result = verifySet(set, found, digest);
    if ('reason' in result) return failed(pinned, result, digest);
    matches.push(...result);
  }
  return { verified: true, image: pinned, digest, matches };
}

/** At least `count` entries of the set must each be satisfied by some signature; entries are tried in order. */
function verifySet(set: CompiledAttestorSet, signatures: Signatures, digest: string): Match[] | Failure {
  const matches: Match[] = [];
  const failures: Failure[] = [];
  for (const entry of set.entries) {
    const result = verifyAttestor(entry, signatures, digest);
    if ('reason' in result) failures.push(result);
    else matches.push(...result);
    if (matches.length >= set.count) return matches;
  }
  const worst = failures.reduce<Failure | undefined>(
    (a, f) => (!a || SPECIFICITY.indexOf(f.reason) > SPECIFICITY.indexOf(a.reason) ? f : a),
    undefined,
  );
  const summary = `${matches.length} of ${set.count} required attestors in ${set.field} verified`;
  return worst
    ? { reason: worst.reason, detail: `${worst.detail} (${summary})` }
    : { reason: 'InvalidSignature', detail: summary };
}

function verifyAttestor(attestor: CompiledAttestor, signatures: Signatures, digest: string): Match[] | Failure {
  switch (attestor.$case) {
    case 'key':
      return verifyWithKey(attestor, signatures, digest);
    case 'nested': {
      const result = verifySet(attestor.set, signatures, digest);
      return 'reason' in result ? result : result.slice(0, 1);
    }
    case 'certificate':
    case 'keyless':
      return verifyWithCertificate(attestor, signatures, digest);
    case 'keyRef':
      return {
        reason: 'InvalidSignature',
        detail: `${attestor.field}: keys held in KMS or Secrets are not verified yet`,
      };
  }
}

function verifyWithKey(
  attestor: Extract<CompiledAttestor, { $case: 'key' }>,
  signatures: Signatures,
  digest: string,
): Match[] | Failure {
  const failures = new FailureTracker(`no signature verifies with ${attestor.field}`);
  const matched = { attestor: attestor.field, keyIndex: attestor.keyIndex };
  for (const sig of signatures.legacy) {
    const scheme = verifyRawSignature(attestor.key, sig.payload, sig.signature);
    if (!scheme) continue;
    const claims = parseSimpleSigningPayload(sig.payload);
    if (!claims.ok) {
      failures.consider({ reason: 'InvalidSignature', detail: `${sig.source}: ${claims.error}` });
    } else if (claims.value.manifestDigest !== digest) {
      failures.consider({
        reason: 'DigestMismatch',
        detail: `${sig.source}: the signature by ${attestor.field} is for ${claims.value.manifestDigest}, not ${digest}`,
      });
    } else if (!hasAnnotations(claims.value.optional, attestor.annotations)) {
      failures.consider({ reason: 'AnnotationMismatch', detail: `${sig.source}: missing or incorrect annotation` });
    } else if (!attestor.trust.requireTlog) {
      return [{ ...matched, format: 'simple-signing', scheme, signature: sig.layer.digest, source: sig.source }];
    } else {
      const signed = { payload: sig.payload, signature: sig.signature, signer: { key: attestor.key } };
      const logged = verifyRekorBundle(sig.bundle, signed, attestor.trust.authorities.tlogs);
      if (!logged.ok) {
        failures.consider({ reason: 'InvalidSignature', detail: `${sig.source}: transparency log: ${logged.error}` });
        continue;
      }
      const loggedAt = logged.value.integratedTime.toISOString();
      return [
        { ...matched, format: 'simple-signing', scheme, loggedAt, signature: sig.layer.digest, source: sig.source },
      ];
    }
  }
  for (const attached of signatures.bundles) {
    const check = checkBundleWithKey(attached, attestor.key, attestor.trust, digest);
    if (check === undefined) continue;
    if (check.ok)
      return [
        {
          ...matched,
          format: 'sigstore-bundle',
          signature: attached.digest,
          source: attached.source,
        },
      ];
    failures.consider(check);
  }
  return failures.best;
}

/** Keyless and certificate attestors: the signature's certificate must satisfy the attestor. */
function verifyWithCertificate(
  attestor: CertificateAttestor,
  signatures: Signatures,
  digest: string,
): Match[] | Failure {
  const failures = new FailureTracker(`no signature verifies with ${attestor.field}`);
  const matched = { attestor: attestor.field, keyIndex: 0 };
  for (const sig of signatures.legacy) {
    const check = checkCertificateSignature(sig, attestor, digest);
    if (check.ok) {
      return [
        { ...matched, format: 'simple-signing', ...check.value, signature: sig.layer.digest, source: sig.source },
      ];
    }
    failures.consider(check);
  }
  for (const attached of signatures.bundles) {
    const check = checkBundleWithCertificate(attached, attestor.trust, digest);
    if (!check.ok) {
      failures.consider(check);
      continue;
    }
    const identity = checkAttestorIdentity(attestor, check.value);
    if (!identity.ok) {
      failures.consider({ reason: 'IdentityMismatch', detail: `${attached.source}: ${identity.detail}` });
      continue;
    }
    return [
      {
        ...matched,
        format: 'sigstore-bundle',
        identity: identity.value,
        signature: attached.digest,
        source: attached.source,
      },
    ];
  }
  return failures.best;
}

/** Keeps the most telling of an attestor's failures; the first of equals, which is the first signature tried. */
class FailureTracker {
  #best: Failure | undefined;
  readonly #fallback: string;

  constructor(fallback: string) {
    this.#fallback = fallback;
  }

  consider(f: Failure): void {
    if (!this.#best || SPECIFICITY.indexOf(f.reason) > SPECIFICITY.indexOf(this.#best.reason)) this.#best = f;
  }

  /** What to report: the most telling failure, or that nothing the attestor accepts was there. */
  get best(): Failure {
    return this.#best ?? { reason: 'InvalidSignature', detail: this.#fallback };
  }
}

function registryFailure(detail: string): Failure {
  return { reason: 'RegistryError', detail };
}

function failed(image: string, failure: Failure, digest?: string, ociCode?: OciErrorCode): VerifyOutcome {
  return {
    verified: false,
    image,
    reason: failure.reason,
    message: `image verification failed for ${image}: ${LEADS[failure.reason]}: ${failure.detail}`,
    ...(ociCode ? { ociCode } : {}),
    ...(digest ? { digest } : {}),
  };
}
