// The one vocabulary a person reads, in three places: a policy's Ready condition, the Events recorded about policies
// and resources, and the messages of denied admissions. Each list below is closed; code that reports a reason takes
// it from here, so a reason searched for in one place is found with the same spelling in the others:
//   - a Ready condition's reason is a PolicyReason, and a PolicyError Event about that policy carries it as the lead
//     of its note ("InvalidKey: spec.rules[0]…");
//   - an Event's reason is an EventReason (Kyverno's names, so existing alerting keeps working);
//   - a verification failure has a VerifyReason. A deny message shows it through its DENY_LEADS words, the seed
//     document's ("signature not found", "invalid signature"), and the reason itself is what logs, Events and the
//     CLI's JSON name.

/** Reasons a policy is, or is not, Ready. */
export const POLICY_REASONS = [
  /** Compiled and in the rule cache. Kyverno uses the same reason, so existing readiness checks keep working. */
  'Succeeded',
  /** The policy's shape or values are invalid. */
  'InvalidSpec',
  /** A public key or certificate does not parse. */
  'InvalidKey',
  /** An image pattern cannot be compiled. */
  'InvalidImagePattern',
  /**
   * The policy needs trust material (a Rekor key, CT log key or certificate roots) that neither the policy nor the
   * operator's --trusted-root supplies. Verification never fetches it online, so this is decided at compile time.
   */
  'MissingTrustRoot',
  /**
   * The policy uses a feature Imprimatur does not enforce yet (type: Notary, a field that is parsed but not checked at
   * admission). Refused rather than Ready=True, so that no policy claims a check that does not happen; the message
   * names the field.
   */
  'Unsupported',
] as const;

export type PolicyReason = (typeof POLICY_REASONS)[number];

export const CONDITION_READY = 'Ready';

/** Reasons of Events, as Kyverno names them. PolicyApplied and PolicySkipped are Normal, the others Warning. */
export const EVENT_REASONS = ['PolicyError', 'PolicyViolation', 'PolicyApplied', 'PolicySkipped'] as const;

export type EventReason = (typeof EVENT_REASONS)[number];

export function toEventType(reason: EventReason): 'Normal' | 'Warning' {
  return reason === 'PolicyApplied' || reason === 'PolicySkipped' ? 'Normal' : 'Warning';
}

/** Why an image did not verify. */
export const VERIFY_REASONS = [
  /** No signature at all where cosign puts them. */
  'SignatureNotFound',
  /** Signatures exist, but none verifies with the policy's keys or certificates (or the policy names none). */
  'InvalidSignature',
  /** A signature verifies, but it was made for another image digest (a copied signature). */
  'DigestMismatch',
  /** A certificate's identity does not match the policy's subject, issuer or extensions. */
  'IdentityMismatch',
  /** A signature verifies, but its annotations do not match the policy's. */
  'AnnotationMismatch',
  /**
   * The registry offered more than one verification may read or check (bytes, requests, signatures, checks), and
   * nothing read within the limits verified. A failure, not an error: what the registry serves decides it.
   */
  'LimitExceeded',
  /** The registry could not be read: an error, which the policy's failurePolicy decides. Carries the OCI code. */
  'RegistryError',
  /** The verification's deadline passed first: an error, which the policy's failurePolicy decides. */
  'Timeout',
  /** No attestation of the predicate type the policy asks for, where cosign puts them. */
  'AttestationNotFound',
  /** Attestations of the type exist, but none verifies with the attestation's attestors. */
  'AttestationInvalidSignature',
  /** An attestation verifies, but its statement's subjects do not name the image digest (a copied statement). */
  'SubjectMismatch',
  /** A verified attestation's predicate fails a condition (or the entry's validate.deny holds). */
  'ConditionFailed',
  /**
   * The rule's context could not be loaded (a ConfigMap that does not exist, an API call that failed): an error,
   * which the policy's failurePolicy decides, as in Kyverno.
   */
  'ContextError',
  /**
   * An attestor's variables or Secret could not be filled, or what filled them is no key or certificate: an error,
   * which the policy's failurePolicy decides.
   */
  'VariableError',
] as const;

export type VerifyReason = (typeof VERIFY_REASONS)[number];

/**
 * The words a deny message leads with for each reason: the seed document's for the two it shows, so
 * `image verification failed for <image>: signature not found` reads as it does there. Details follow the lead on the
 * same line; they never replace it.
 */
export const DENY_LEADS: Readonly<Record<VerifyReason, string>> = Object.freeze({
  SignatureNotFound: 'signature not found',
  InvalidSignature: 'invalid signature',
  DigestMismatch: 'invalid signature',
  IdentityMismatch: 'invalid signature',
  AnnotationMismatch: 'invalid signature',
  LimitExceeded: 'signature not found',
  RegistryError: 'registry error',
  Timeout: 'timed out',
  AttestationNotFound: 'attestation not found',
  AttestationInvalidSignature: 'invalid attestation signature',
  SubjectMismatch: 'attestation subject mismatch',
  ConditionFailed: 'attestation checks failed',
  ContextError: 'failed to load context',
  VariableError: 'failed to substitute variables',
});

/**
 * Reasons that are errors (the registry, the clock, or what the rule reads besides the image): failurePolicy decides
 * them.
 */
export const ERROR_REASONS: ReadonlySet<VerifyReason> = new Set<VerifyReason>([
  'RegistryError',
  'Timeout',
  'ContextError',
  'VariableError',
]);
