// The one vocabulary of reasons. The same string is a status condition's reason, an Event's reason and the lead
// of a deny message, so a person can search for what they read in one place in the other two.

/** Reasons a policy is, or is not, Ready. */
export const POLICY_REASONS = [
  /** Compiled and in the rule cache. Kyverno uses the same reason, so existing readiness checks keep working. */
  'Succeeded',
  /** The policy's shape or values are invalid. */
  'InvalidSpec',
  /** A public key does not parse. */
  'InvalidKey',
  /** An image pattern cannot be compiled. */
  'InvalidImagePattern',
  /**
   * The policy needs trust material (a Rekor key, CT log key or certificate roots) that neither the policy nor the
   * operator's --trusted-root supplies. Verification never fetches it online, so this is decided at compile time.
   */
  'MissingTrustRoot',
] as const;

export type PolicyReason = (typeof POLICY_REASONS)[number];

export const CONDITION_READY = 'Ready';

/** Why an image failed verification: the lead of deny messages, and later of Events and reports. */
export const VERIFY_REASONS = [
  /** No signature at all where cosign puts them. */
  'SignatureNotFound',
  /** Signatures exist, but none verifies with the policy's keys. */
  'InvalidSignature',
  /** A signature verifies, but it was made for another image digest (a copied signature). */
  'DigestMismatch',
  /** A certificate's identity does not match the policy's subject or issuer. */
  'IdentityMismatch',
  /** A signature verifies, but its annotations do not match the policy's. */
  'AnnotationMismatch',
  /** The registry could not be read; carries the OCI error code. */
  'RegistryError',
] as const;

export type VerifyReason = (typeof VERIFY_REASONS)[number];
