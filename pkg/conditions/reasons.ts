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
] as const;

export type PolicyReason = (typeof POLICY_REASONS)[number];

export const CONDITION_READY = 'Ready';
