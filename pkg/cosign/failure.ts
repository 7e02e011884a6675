// The one failure shape of verification: a reason from the closed vocabulary (pkg/conditions/reasons.ts) and the
// detail a person needs to act on it. Every stage (resolve, discover, check) returns this and nothing else.
import { DENY_LEADS, type VerifyReason } from '../conditions/index.js';
import type { OciErrorCode, OciFailure } from '../oci/index.js';

export interface VerifyFailure {
  readonly reason: VerifyReason;
  readonly detail: string;
  /** The registry's failure code, for RegistryError. */
  readonly ociCode?: OciErrorCode;
  /**
   * For logs and operators only, never for the Pod's creator: what the network said (ECONNREFUSED, a TLS error, a
   * refused address). Showing it in deny messages would make the webhook a port scanner.
   */
  readonly diagnostic?: string;
}

export function failure(reason: VerifyReason, detail: string, ociCode?: OciErrorCode): VerifyFailure {
  return ociCode ? { reason, detail, ociCode } : { reason, detail };
}

/** A registry's failure as a verification failure: its message for everyone, its detail for logs. */
export function fromRegistryFailure(f: OciFailure): VerifyFailure {
  return { reason: 'RegistryError', detail: f.message, ociCode: f.code, ...(f.detail ? { diagnostic: f.detail } : {}) };
}

/**
 * Orders failures from least to most telling; where several signatures or attestors fail, the most telling failure
 * is the one reported (a signature by the right key for another digest says more than one by another key).
 */
const SPECIFICITY: ReadonlyMap<VerifyReason, number> = new Map<VerifyReason, number>([
  ['SignatureNotFound', 0],
  ['AttestationNotFound', 0],
  ['InvalidSignature', 1],
  ['AttestationInvalidSignature', 1],
  ['LimitExceeded', 2],
  ['IdentityMismatch', 3],
  ['AnnotationMismatch', 4],
  ['DigestMismatch', 5],
  ['SubjectMismatch', 5],
  ['ConditionFailed', 6],
  ['Timeout', 7],
  ['RegistryError', 8],
]);

export function isMoreTelling(a: VerifyFailure, than: VerifyFailure | undefined): boolean {
  return than === undefined || (SPECIFICITY.get(a.reason) ?? 0) > (SPECIFICITY.get(than.reason) ?? 0);
}

/** Keeps the most telling of several failures; the first of equals, which is the first one met. */
export class FailureTracker {
  #best: VerifyFailure | undefined;

  consider(f: VerifyFailure): void {
    if (isMoreTelling(f, this.#best)) this.#best = f;
  }

  /** The most telling failure, or `fallback` when there was none. */
  orElse(fallback: VerifyFailure): VerifyFailure {
    return this.#best ?? fallback;
  }
}

/** `image verification failed for <image>: <lead>: <detail>`: the seed's words first, the detail after them. */
export function toFailureMessage(image: string, f: VerifyFailure): string {
  return `image verification failed for ${image}: ${DENY_LEADS[f.reason]}: ${f.detail}`;
}
